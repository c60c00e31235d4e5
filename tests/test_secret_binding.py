"""The review's finding, replayed: a tenant's Client Secret never reaches a server other than its own issuer's.

The attack: change a set-up tenant's Okta domain to a server of one's own, click Check connection, and read the
secret from the `Authorization: Basic` header (or the form) the check sends; or serve a discovery document whose
token, userinfo or keys endpoint lives elsewhere. The attacker's server here is a real OpenID Provider on loopback
(`other_provider`) that records every request it receives and serves a discovery document for itself.
SPEC "Secrets stay with their issuer"; "Who may do what"."""

import base64

import pytest
from django.contrib.admin.models import LogEntry
from django.http import HttpResponse
from django.test import Client

from accounts.models import LoginEvent, User
from okta import provider as okta_provider
from tenants.models import ConnectionCheckResult, Tenant
from tenants.services import tenant_connection_check
from tests.conftest import ACME_SECRET, profile
from tests.oidc_provider import ProviderHarness
from tests.test_admin_tenants import change_form_data, change_url, post_confirmed, support_client

NEW_SECRET = "new-org-client-secret-Wd93kR6pJ1"


def secret_received(server: ProviderHarness, secret: str) -> bool:
    """Did the secret reach this server: in an HTTP Basic header (client_secret_basic) or the form (_post)?"""
    for request in server.token_requests:
        scheme, _, credentials = request.authorization.partition(" ")
        basic = base64.b64decode(credentials).decode(errors="replace") if scheme.lower() == "basic" else ""
        if secret in basic or secret in request.form.values():
            return True
    return False


def check_connection(client: Client, tenant: Tenant) -> None:
    """Click "Check connection" on the tenant's page."""
    response = client.post(f"/admin/tenants/tenant/{tenant.pk}/check-connection/")
    assert response.status_code == 302


# --- (a) through the admin, as a superuser (whom the table lets change a domain) ------------------------------------
def test_a_new_domain_in_admin_clears_the_secret_and_the_check_never_sends_it_there(
    admin_client, acme, other_provider
):
    data = change_form_data(admin_client.get(change_url(acme)))
    data["okta_domain"] = other_provider.issuer
    saved = post_confirmed(admin_client, change_url(acme), data, follow=True)

    check_connection(admin_client, acme)

    assert not secret_received(other_provider, ACME_SECRET)
    assert other_provider.hits["/.well-known/openid-configuration"] == 1  # the check did go there, without it
    assert Tenant.objects.get(pk=acme.pk).client_secret == ""
    assert "No client secret is stored" in ConnectionCheckResult.objects.get().findings[-1]["message"]
    page = saved.content.decode()
    assert f"The stored Client Secret was for {acme.issuer} and has been cleared" in page
    assert "No secret is stored, so every sign-in for this tenant fails" in page  # the form asks for it again
    logged = [entry.get_change_message() for entry in LogEntry.objects.filter(object_id=str(acme.pk))]
    assert f"Cleared the Client secret: it belonged to {acme.issuer}." in logged
    assert ACME_SECRET not in " ".join(logged)


def test_a_secret_typed_with_the_new_domain_is_kept_and_checked_there(admin_client, acme, other_provider):
    data = change_form_data(admin_client.get(change_url(acme)))
    data.update(okta_domain=other_provider.issuer, client_secret=NEW_SECRET)
    post_confirmed(admin_client, change_url(acme), data)

    check_connection(admin_client, acme)

    assert Tenant.objects.get(pk=acme.pk).client_secret == NEW_SECRET
    assert secret_received(other_provider, NEW_SECRET)
    assert not secret_received(other_provider, ACME_SECRET)


# --- (b) through Tenant.save() in code --------------------------------------------------------------------------
@pytest.mark.parametrize("load", [
    lambda pk: Tenant.objects.get(pk=pk),
    lambda pk: Tenant.objects.defer("client_secret").get(pk=pk),  # a save that never read the secret
])
def test_a_new_issuer_saved_in_code_clears_the_secret_and_the_check_never_sends_it(load, acme, other_provider):
    tenant = load(acme.pk)
    tenant.okta_domain = other_provider.issuer
    tenant.save()

    report = tenant_connection_check(Tenant.objects.get(pk=acme.pk), origin="http://testserver")

    assert not secret_received(other_provider, ACME_SECRET)
    assert other_provider.token_requests == []
    assert not report.ok
    assert Tenant.objects.get(pk=acme.pk).client_secret == ""


def test_a_new_issuer_saved_with_update_fields_clears_the_secret_too(acme, other_provider):
    acme.okta_domain = other_provider.issuer
    acme.save(update_fields=["okta_domain"])

    stored = Tenant.objects.get(pk=acme.pk)
    assert (stored.issuer, stored.client_secret) == (other_provider.issuer, "")


def test_the_same_issuer_spelt_another_way_keeps_the_secret(acme, provider):
    acme.okta_domain = f"  {provider.issuer.upper()}/ "  # http://127.0.0.1:PORT -> HTTP://127.0.0.1:PORT/
    acme.save()

    assert Tenant.objects.get(pk=acme.pk).client_secret == ACME_SECRET


def test_a_secret_assigned_with_the_new_domain_is_kept_and_a_later_move_clears_it(acme, provider, other_provider):
    acme.okta_domain, acme.client_secret = other_provider.issuer, NEW_SECRET
    acme.save()
    assert Tenant.objects.get(pk=acme.pk).client_secret == NEW_SECRET

    acme.okta_domain = provider.issuer  # the same object saved again: the secret is now the stored one
    acme.save()

    assert Tenant.objects.get(pk=acme.pk).client_secret == ""


# --- (c) a discovery document of the right issuer that names another origin ---------------------------------------
def sign_in_as_far_as_inigo_goes(client: Client, provider: ProviderHarness, sub: str) -> HttpResponse:
    """The start of an SP-initiated sign-in; when Inigo redirects to the provider, the person signs in there and
    comes back to the callback."""
    started = client.get("/oidc/authenticate/", {"tenant": "acme"})
    if started.status_code != 302:
        return started
    return client.get(provider.authorize(started["Location"], sub))


@pytest.mark.parametrize(("endpoint", "path"), [
    ("token_endpoint", "/oauth2/token"), ("userinfo_endpoint", "/userinfo"), ("jwks_uri", "/jwks"),
])
def test_a_back_channel_endpoint_on_another_origin_fails_the_sign_in(
    client, provider, other_provider, acme, endpoint, path
):
    provider.set_user("alice", {"sub": "alice"} if endpoint == "userinfo_endpoint" else profile("alice"))
    provider.discovery_rewrite = lambda document: {**document, endpoint: other_provider.issuer + path}

    response = sign_in_as_far_as_inigo_goes(client, provider, "alice")

    assert response.status_code == 502
    assert LoginEvent.objects.get().reason == "provider_bad_response"
    assert not User.objects.exists()
    assert sum(other_provider.hits.values()) == 0  # neither the secret, nor an access token, nor a request at all
    assert provider.token_requests == []  # the refusal came with the document, before any code was exchanged


@pytest.mark.parametrize("endpoint", ["token_endpoint", "userinfo_endpoint", "jwks_uri"])
def test_the_connection_check_refuses_such_a_document_and_sends_the_secret_nowhere(
    provider, other_provider, acme, endpoint
):
    provider.discovery_rewrite = lambda document: {**document, endpoint: other_provider.issuer + "/elsewhere"}

    report = tenant_connection_check(acme, origin="http://testserver")

    assert not report.ok
    assert any(f"{endpoint} is not on the issuer's origin" in finding.message for finding in report.problems)
    assert provider.token_requests == [] and sum(other_provider.hits.values()) == 0


def test_the_same_origin_spelt_another_way_is_accepted(provider, acme):
    # Origins compare by (scheme, host, port), not by spelling.
    provider.discovery_rewrite = lambda document: {
        **document, "token_endpoint": document["token_endpoint"].replace("http://", "HTTP://")
    }

    metadata = okta_provider.fetch_provider_metadata(acme.issuer)

    assert metadata.token_endpoint.startswith("HTTP://127.0.0.1:")


# --- (d) as Support: a set-up tenant's domain cannot be changed ---------------------------------------------------
def test_support_staff_cannot_change_a_set_up_tenants_domain(acme, provider, other_provider):
    support = support_client()
    data = change_form_data(support.get(change_url(acme)))
    data["okta_domain"] = other_provider.issuer  # posted anyway, as a hand-made request would

    support.post(change_url(acme), data)
    check_connection(support, acme)

    stored = Tenant.objects.get(pk=acme.pk)
    assert (stored.issuer, stored.client_secret) == (provider.issuer, ACME_SECRET)
    assert sum(other_provider.hits.values()) == 0
    assert "okta_domain" not in support.get(change_url(acme)).context["adminform"].form.fields


# --- a second review: the ciphertext, the old issuer's ID tokens, an unsendable secret ------------------------------
def test_support_cannot_read_the_ciphertext_by_filtering_the_tenants_list(acme):
    from django.core.exceptions import FieldError

    stored = Tenant.objects.filter(pk=acme.pk).values_list("client_secret", flat=True)  # decrypted by the field
    assert stored[0] == ACME_SECRET
    with pytest.raises(FieldError):
        list(Tenant.objects.filter(client_secret__regex="^gAAAA"))

    support = support_client()
    for lookup in ("client_secret__regex", "client_secret__contains", "client_secret__gt", "client_secret"):
        answer = support.get("/admin/tenants/tenant/", {lookup: "gAAAA", "slug": "acme"})
        # Django admin answers a filter it cannot apply by sending the list back with ?e=1: no row, no yes or no.
        assert answer.status_code == 302 and "e=1" in answer["Location"], (lookup, answer.status_code)


def test_a_new_issuer_ends_the_tenants_sessions_so_no_old_id_token_goes_to_it(client, browser, provider, acme,
                                                                               other_provider):
    assert browser.login(provider, "alice").status_code == 302
    assert browser.me().status_code == 200

    acme.okta_domain = other_provider.issuer
    acme.save()

    assert browser.me().status_code == 401  # signed out at the next request: no id_token_hint of the old issuer
    assert other_provider.hits == {}


def test_a_secret_that_http_basic_cannot_send_is_refused_in_admin(admin_client, acme):
    data = change_form_data(admin_client.get(change_url(acme)))
    data["client_secret"] = "ODD\u2019SECRET\u00e9-777"

    refused = admin_client.post(change_url(acme), data)

    assert refused.status_code == 200 and "Paste the value exactly as Okta shows it" in refused.content.decode()
    assert Tenant.objects.get(pk=acme.pk).client_secret == ACME_SECRET


def test_a_setup_token_in_any_case_is_redacted():
    from inigo_sso.redaction import redact_path

    assert redact_path("GET /SETUP/Zx81kQ2vN4aa/ 404") == "GET /setup/[redacted]/ 404"
