""""Check connection": one check behind the admin button, the admin action and `manage.py check_tenant`, against
the in-process OpenID Provider, reporting in words support staff can act on."""

import io
import socket

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from accounts.models import User
from okta import provider as oidc_provider
from tenants.models import Tenant
from tenants.services import tenant_connection_check
from tests.oidc_provider import ProviderHarness
from tests.test_admin_tenants import change_url, page_text, support_client

OTHER_ISSUER = "https://other.example"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the socket is closed


@pytest.fixture
def unreachable(db: None) -> Tenant:
    return Tenant.objects.create(name="Nowhere", slug="nowhere", okta_domain=f"http://127.0.0.1:{closed_port()}",
                                 client_id="inigo-nowhere", client_secret="s")


@pytest.fixture
def support(db: None) -> Client:
    return support_client()


def connection_check(tenant: Tenant):
    return tenant_connection_check(tenant, origin="http://testserver")


def messages_of(report) -> list[str]:
    return [finding.message for finding in report.findings]


def problems_of(report) -> list[str]:
    return [finding.message for finding in report.problems]


# --- the check ----------------------------------------------------------------------------------------------------
def test_it_reports_success_against_the_provider(provider: ProviderHarness, acme):
    report = connection_check(acme)

    assert report.ok, problems_of(report)
    assert messages_of(report) == [
        f"Okta answers at {provider.issuer}/.well-known/openid-configuration.",
        f"Okta states the issuer {provider.issuer}, the same as Inigo has on file.",
        f"Okta publishes 1 RS256 signing key at {provider.issuer}/jwks.",
        "Okta's token endpoint accepts client_secret_basic; Inigo will use client_secret_basic.",
        "Okta accepts the Client ID and Client Secret (asked to redeem a made-up sign-in code, it refused only "
        "the code).",
    ]
    assert report.summary == "Connection check for Acme (acme): no problems found."


def test_it_reports_an_issuer_mismatch_with_both_values(provider: ProviderHarness, acme):
    provider.discovery_rewrite = lambda doc: {**doc, "issuer": OTHER_ISSUER}

    report = connection_check(acme)

    [problem] = problems_of(report)
    assert problem.startswith(
        f"Issuer mismatch: Inigo has {provider.issuer} on file, but Okta's discovery document says {OTHER_ISSUER}."
    )
    assert report.summary == "Connection check for Acme (acme): 1 problem found."


def test_it_checks_the_provider_now_not_what_the_cache_remembers(provider: ProviderHarness, acme):
    oidc_provider.provider_metadata(acme.issuer)  # a sign-in cached the document an hour ago
    provider.discovery_rewrite = lambda doc: {**doc, "issuer": OTHER_ISSUER}

    report = connection_check(acme)

    assert any("Issuer mismatch" in problem for problem in problems_of(report))


def test_it_reports_an_unreachable_host_in_plain_words(unreachable):
    report = connection_check(unreachable)

    [problem] = problems_of(report)
    assert problem == (
        f"Inigo cannot reach Okta at {unreachable.issuer}/.well-known/openid-configuration: the connection failed "
        "(the host name may be wrong, or the server is down or refuses connections). Check the Okta domain."
    )


def test_it_reports_a_discovery_document_that_is_not_there(provider: ProviderHarness, db):
    tenant = Tenant.objects.create(name="Wrong path", slug="wrong", okta_domain=provider.issuer + "/oauth2/default",
                                   client_id="c", client_secret="s")

    [problem] = problems_of(connection_check(tenant))

    assert f"Okta at {tenant.issuer}/.well-known/openid-configuration answered, but not with a usable" in problem
    assert "HTTP 404" in problem


def test_it_reports_a_key_set_without_rs256_signing_keys(provider: ProviderHarness, acme):
    provider.hide_provider_keys = True

    [problem] = problems_of(connection_check(acme))

    assert problem == (
        f"Okta publishes no RS256 signing key at {provider.issuer}/jwks, so Inigo cannot verify any sign-in."
    )


def test_it_says_which_token_authentication_inigo_will_use(provider: ProviderHarness, acme):
    provider.discovery_rewrite = lambda doc: {**doc, "token_endpoint_auth_methods_supported": ["client_secret_post"]}

    report = connection_check(acme)

    assert report.ok
    assert "Okta's token endpoint accepts client_secret_post; Inigo will use client_secret_post." in messages_of(report)


def test_it_reports_a_token_endpoint_that_takes_no_client_secret(provider: ProviderHarness, acme):
    provider.discovery_rewrite = lambda doc: {**doc, "token_endpoint_auth_methods_supported": ["private_key_jwt"]}

    [problem] = problems_of(connection_check(acme))

    assert problem.startswith("Okta's token endpoint accepts only private_key_jwt, but Inigo sends a client secret")


def test_it_reports_a_missing_client_secret(provider: ProviderHarness, acme):
    Tenant.objects.filter(pk=acme.pk).update(client_secret="")
    acme.refresh_from_db()

    [problem] = problems_of(connection_check(acme))

    assert problem.startswith("No client secret is stored")


@override_settings(SSO_ALLOWED_INTERNAL_NETWORKS=[])  # an exact allow-list: nothing internal
def test_it_does_not_contact_an_internal_host(provider: ProviderHarness, acme):
    [problem] = problems_of(connection_check(acme))

    assert problem.startswith(f"Inigo did not contact {provider.issuer}/.well-known/openid-configuration: ")
    assert "resolves to 127.0.0.1, an internal address" in problem
    assert provider.hits["/.well-known/openid-configuration"] == 0


# --- manage.py check_tenant ---------------------------------------------------------------------------------------
def test_check_tenant_prints_each_finding_and_succeeds(provider: ProviderHarness, acme):
    out = io.StringIO()

    call_command("check_tenant", "acme", stdout=out)

    assert f"Acme (acme), issuer {provider.issuer}" in out.getvalue()
    assert f"ok       Okta publishes 1 RS256 signing key at {provider.issuer}/jwks." in out.getvalue()
    assert "no problems found" in out.getvalue()


def test_check_tenant_fails_with_the_problem_in_plain_words(provider: ProviderHarness, acme):
    provider.discovery_rewrite = lambda doc: {**doc, "issuer": OTHER_ISSUER}
    out = io.StringIO()

    with pytest.raises(CommandError, match=r"Acme \(acme\): 1 problem found"):
        call_command("check_tenant", "acme", stdout=out)

    assert f"PROBLEM  Issuer mismatch: Inigo has {provider.issuer} on file" in out.getvalue()
    assert OTHER_ISSUER in out.getvalue()
    assert "Traceback" not in out.getvalue()


def test_check_tenant_fails_for_an_unreachable_host(unreachable):
    out = io.StringIO()

    with pytest.raises(CommandError, match="1 problem found"):
        call_command("check_tenant", "nowhere", stdout=out)

    assert "Inigo cannot reach Okta" in out.getvalue()


def test_check_tenant_names_an_unknown_slug(db):
    with pytest.raises(CommandError, match="There is no tenant with the slug 'nope'"):
        call_command("check_tenant", "nope")


# --- in the admin -------------------------------------------------------------------------------------------------
def test_the_button_on_the_tenant_page_reports_success(support, provider: ProviderHarness, acme):
    page = page_text(support.get(change_url(acme)))
    assert f'action="/admin/tenants/tenant/{acme.pk}/check-connection/"' in page
    assert 'form="check-connection-form"' in page

    response = support.post(f"/admin/tenants/tenant/{acme.pk}/check-connection/", follow=True)

    assert response.redirect_chain == [(change_url(acme), 302)]
    messages = [str(message) for message in response.context["messages"]]
    assert messages[0] == "Connection check for Acme (acme): no problems found."
    assert f"Okta publishes 1 RS256 signing key at {provider.issuer}/jwks." in messages


def test_the_button_reports_an_issuer_mismatch_with_both_values(support, provider: ProviderHarness, acme):
    provider.discovery_rewrite = lambda doc: {**doc, "issuer": OTHER_ISSUER}

    response = support.post(f"/admin/tenants/tenant/{acme.pk}/check-connection/", follow=True)

    page = page_text(response)
    assert "Connection check for Acme (acme): 1 problem found." in page
    assert f"Inigo has {provider.issuer} on file, but Okta&#x27;s discovery document says {OTHER_ISSUER}" in page


def test_the_check_runs_only_on_post_with_a_csrf_token(provider: ProviderHarness, acme):
    support = support_client()
    guarded = Client(enforce_csrf_checks=True)
    guarded.cookies = support.cookies
    url = f"/admin/tenants/tenant/{acme.pk}/check-connection/"

    assert support.get(url).status_code == 405
    assert guarded.post(url).status_code == 403
    assert provider.hits["/.well-known/openid-configuration"] == 0


def test_the_admin_action_checks_each_selected_tenant(support, provider, acme, unreachable):
    response = support.post(
        "/admin/tenants/tenant/",
        {"action": "check_connection", "_selected_action": [acme.pk, unreachable.pk]},
        follow=True,
    )

    messages = [str(message) for message in response.context["messages"]]
    assert "Connection check for Acme (acme): no problems found." in messages
    assert "Connection check for Nowhere (nowhere): 1 problem found." in messages
    assert any(message.startswith("Nowhere: Inigo cannot reach Okta at ") for message in messages)
    assert not any(message.startswith("Acme: ") for message in messages)  # healthy tenants: one line each


def test_anonymous_visitors_cannot_run_the_check(client, provider: ProviderHarness, acme):
    response = client.post(f"/admin/tenants/tenant/{acme.pk}/check-connection/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert provider.hits["/.well-known/openid-configuration"] == 0


# --- the credentials proof: a made-up code at the token endpoint ------------------------------------------------------
@pytest.fixture
def registered_acme(provider: ProviderHarness, db) -> Tenant:
    """Acme's app registered at the provider with a secret of its own (unknown clients get in with any secret)."""
    client_id, secret = provider.register_client(["http://testserver/oidc/callback/acme/"])
    return Tenant.objects.create(name="Acme", slug="acme", okta_domain=provider.issuer, client_id=client_id,
                                 client_secret=secret)


def test_the_proof_sends_a_complete_code_request_with_a_made_up_code(provider: ProviderHarness, registered_acme):
    report = connection_check(registered_acme)

    assert report.ok, problems_of(report)
    [request] = provider.token_requests
    assert request.form["grant_type"] == "authorization_code"
    assert request.form["redirect_uri"] == "http://testserver/oidc/callback/acme/"
    assert 43 <= len(request.form["code_verifier"]) <= 128 and len(request.form["code"]) >= 43
    assert request.authorization.startswith("Basic ") and "client_secret" not in request.form
    assert not User.objects.exists()


def test_a_wrong_secret_is_named_as_the_credentials(provider: ProviderHarness, registered_acme):
    Tenant.objects.filter(pk=registered_acme.pk).update(client_secret="")
    registered_acme.client_secret = "not-the-secret"

    [problem] = problems_of(connection_check(registered_acme))

    assert problem.startswith("Okta refused the Client ID or Client Secret (HTTP 401 invalid_client)")


def test_a_provider_that_takes_only_client_secret_post_gets_the_secret_in_the_form(provider: ProviderHarness, db):
    client_id, secret = provider.register_client(["http://testserver/oidc/callback/acme/"],
                                                 auth_method="client_secret_post")
    provider.discovery_rewrite = lambda doc: {**doc, "token_endpoint_auth_methods_supported": ["client_secret_post"]}
    tenant = Tenant.objects.create(name="Acme", slug="acme", okta_domain=provider.issuer, client_id=client_id,
                                   client_secret=secret)

    report = connection_check(tenant)

    assert report.ok, problems_of(report)
    [request] = provider.token_requests
    assert request.form["client_secret"] == secret and request.authorization == ""


@pytest.mark.parametrize(("status", "document", "expected"), [
    (400, {"error": "invalid_client"}, "Okta refused the Client ID or Client Secret (HTTP 400 invalid_client)"),
    (400, {"error": "unauthorized_client"}, "Okta accepts the Client ID and Client Secret, but the app may not use "
                                            "the authorization code grant (HTTP 400 unauthorized_client)"),
    (400, {"error": "invalid_request"}, "Okta's token endpoint could not answer whether the Client ID and Client "
                                        "Secret are right (HTTP 400 invalid_request). Nothing says they are wrong"),
    (429, {}, "Okta's token endpoint could not answer whether the Client ID and Client Secret are right (HTTP 429"),
    (503, {"error": "server_error"}, "Okta's token endpoint could not answer whether the Client ID and Client "
                                     "Secret are right (HTTP 503 server_error)"),
    (200, {"access_token": "x"}, "Okta's token endpoint could not answer"),
])
def test_the_answer_is_read_in_plain_words(provider: ProviderHarness, acme, status, document, expected):
    provider.token_response = (status, document)

    [problem] = problems_of(connection_check(acme))

    assert problem.startswith(expected), problem


def test_a_tenant_awaiting_setup_is_reported_without_contacting_anything(provider: ProviderHarness, db):
    tenant = Tenant.objects.create(name="NewCo", slug="newco", is_active=False)

    [problem] = problems_of(connection_check(tenant))

    assert problem.startswith("No Okta domain is set: the tenant is awaiting setup.")
    assert sum(provider.hits.values()) == 0


def test_check_tenant_with_a_wrong_secret_exits_non_zero_and_says_so(provider: ProviderHarness, registered_acme):
    Tenant.objects.filter(pk=registered_acme.pk).update(client_secret="")
    registered_acme.client_secret = "not-the-secret"
    registered_acme.save()
    out = io.StringIO()

    with pytest.raises(CommandError, match="1 problem found"):
        call_command("check_tenant", "acme", stdout=out)

    assert "PROBLEM  Okta refused the Client ID or Client Secret (HTTP 401 invalid_client)" in out.getvalue()


def test_check_tenant_passes_with_the_right_secret(provider: ProviderHarness, registered_acme):
    out = io.StringIO()

    call_command("check_tenant", "acme", stdout=out)

    assert "ok       Okta accepts the Client ID and Client Secret" in out.getvalue()


def test_the_admin_button_names_a_wrong_secret(support, provider: ProviderHarness, registered_acme):
    registered_acme.client_secret = "not-the-secret"
    registered_acme.save()

    response = support.post(f"/admin/tenants/tenant/{registered_acme.pk}/check-connection/", follow=True)

    assert "Okta refused the Client ID or Client Secret" in page_text(response)
