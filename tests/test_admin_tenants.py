"""Support staff enter a customer's Okta app in the admin: pasted domains, a write-only secret, refusals in plain
words, the values for the customer's Okta app, and an admin log that never holds the secret."""

import html
import importlib
import logging
import socket
from types import SimpleNamespace
from typing import Any

import pytest
from django import forms
from django.apps import apps as django_apps
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.db import connection
from django.http import HttpResponse
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from accounts.models import LoginEvent, Role, User
from support.issuer_change import CONFIRM_FIELD
from tenants.models import Tenant
from tests.conftest import ACME_SECRET, Browser
from tests.oidc_provider import ProviderHarness

NEW_SECRET = "rotated-client-secret-Hy52bV8cR0"
ADD_URL = "/admin/tenants/tenant/add/"
LIST_URL = "/admin/tenants/tenant/"


# --- helpers shared with the other admin tests ---------------------------------------------------------------
def support_group() -> Group:
    group = Group.objects.filter(name="Support").first()
    if group is None:
        # A transactional test (PostgreSQL runs) flushes every table, the migration's group with it: rebuild it
        # with the migration's own code, so what is tested is still what the migration creates.
        migration = importlib.import_module("accounts.migrations.0002_support_group")
        migration.create_support_group(django_apps, SimpleNamespace(connection=connection))
        group = Group.objects.get(name="Support")
    return group


def support_client(username: str = "sam.support") -> Client:
    """A browser signed in to the admin as a member of the Support group (staff, not superuser)."""
    staff = User.objects.create_user(username=username, password="correct horse battery staple", is_staff=True)
    staff.groups.add(support_group())
    client = Client()
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    return client


def change_url(obj: Any) -> str:
    return f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/{obj.pk}/change/"


def change_form_data(response: HttpResponse) -> dict[str, Any]:
    """What a browser posts back from an admin change page when nothing is touched (password fields empty)."""
    data: dict[str, Any] = {}
    page_forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        page_forms += [inline.formset.management_form, *inline.formset.forms]
    for form in page_forms:
        for name, field in form.fields.items():
            bound = form[name]
            value = bound.value()
            if field.disabled:
                continue  # browsers do not send disabled fields
            if isinstance(field.widget, forms.CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
            elif isinstance(field.widget, forms.PasswordInput):
                data[bound.html_name] = ""
            elif isinstance(value, list | tuple):
                data[bound.html_name] = [str(item) for item in value]
            else:
                data[bound.html_name] = "" if value is None else str(value)
    return data


def post_confirmed(client: Client, url: str, data: dict[str, Any], **kwargs: Any) -> HttpResponse:
    """Post a tenant's form and, when the page asks before moving the tenant to another issuer
    (support.issuer_change), answer "Yes" with the same values, as the person on the page would."""
    response = client.post(url, data)
    change = response.context.get("change") if response.context else None
    if change is None:
        return client.get(response["Location"]) if kwargs.get("follow") and response.status_code == 302 else response
    return client.post(url, {**data, CONFIRM_FIELD: change.confirmation}, **kwargs)


def add_form_data(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Acme", "slug": "acme", "is_active": "on", "okta_domain": "acme.okta.com",
        "client_id": "inigo-acme", "client_secret": ACME_SECRET, "email_domains": "acme.test",
        "post_logout_redirect_uri": "",
        "users-TOTAL_FORMS": "0", "users-INITIAL_FORMS": "0", "users-MIN_NUM_FORMS": "0",
        "users-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def errors_of(response: HttpResponse) -> dict[str, list[str]]:
    assert response.status_code == 200, response.status_code
    return response.context["adminform"].form.errors


def page_text(response: HttpResponse) -> str:
    return response.content.decode()


@pytest.fixture
def support(db: None) -> Client:
    return support_client()


# --- adding a tenant ---------------------------------------------------------------------------------------------
def test_it_adds_a_tenant_from_a_pasted_domain_and_shows_the_normalised_issuer(support, provider: ProviderHarness):
    pasted = f"  {provider.issuer.upper()}/ "  # e.g. "  HTTP://127.0.0.1:PORT/ " as copied from a browser

    response = support.post(ADD_URL, add_form_data(okta_domain=pasted))

    assert response.status_code == 302, errors_of(response)
    tenant = Tenant.objects.get(slug="acme")
    assert tenant.issuer == provider.issuer
    assert tenant.client_secret == ACME_SECRET
    page = page_text(support.get(change_url(tenant)))
    assert f"<div class=\"readonly\">{provider.issuer}</div>" in page
    assert "A secret is stored. Leave empty to keep it" in page


def test_it_shows_the_values_for_the_customers_okta_app_on_the_change_page(support, acme):
    page = page_text(support.get(change_url(acme)))

    assert "<code>http://testserver/oidc/callback/acme/</code>" in page
    assert "<code>http://testserver/oidc/initiate/acme/</code>" in page
    assert "<code>http://testserver/oidc/callback/</code>" not in page
    assert "<code>http://testserver/oidc/authenticate/?tenant=acme</code>" in page


def test_the_okta_values_follow_the_host_that_serves_the_page(support, acme):
    page = page_text(support.get(change_url(acme), HTTP_HOST="localhost"))

    assert "<code>http://localhost/oidc/callback/acme/</code>" in page


def test_it_requires_a_client_secret_when_adding_a_tenant(support):
    response = support.post(ADD_URL, add_form_data(client_secret=""))

    assert "client_secret" in errors_of(response)
    assert not Tenant.objects.exists()


@pytest.mark.parametrize(("pasted", "message"), [
    ("https://acme.okta.com/app/UserHome", "points to a page (/app/UserHome)"),
    ("https://acme.okta.com/?fromURI=/home", "must not contain a query string"),
    ("ftp://acme.okta.com", "Okta domains use https://."),
    ("", "Enter the customer's Okta domain, for example acme.okta.com."),
])
def test_it_refuses_what_is_not_an_okta_domain_and_says_why(support, pasted, message):
    response = support.post(ADD_URL, add_form_data(okta_domain=pasted))

    [error] = errors_of(response)["okta_domain"]  # one mistake, one message
    assert message in error
    assert not Tenant.objects.exists()


@override_settings(SSO_ALLOW_INSECURE_ISSUERS=False)
def test_it_refuses_plain_http_when_insecure_issuers_are_not_allowed(support):
    response = support.post(ADD_URL, add_form_data(okta_domain="http://acme.okta.com"))

    assert errors_of(response)["okta_domain"] == [
        "Okta domains use https://. Plain http:// is only allowed for local development."
    ]


@override_settings(SSO_ALLOWED_INTERNAL_NETWORKS=[])  # an exact allow-list: nothing internal
@pytest.mark.parametrize(("pasted", "address"), [
    ("https://127.0.0.1", "127.0.0.1"),
    ("https://10.1.2.3", "10.1.2.3"),
    ("https://169.254.169.254", "169.254.169.254"),  # a cloud metadata service
    ("https://192.168.0.10/oauth2/default", "192.168.0.10"),
])
def test_it_refuses_a_host_with_an_internal_address(support, pasted, address):
    response = support.post(ADD_URL, add_form_data(okta_domain=pasted))

    [error] = errors_of(response)["okta_domain"]
    assert f"resolves to {address}, an internal address" in error
    assert not Tenant.objects.exists()


@override_settings(SSO_ALLOW_INSECURE_ISSUERS=False)
def test_it_accepts_a_custom_url_domain_that_resolves_to_a_public_address(support, monkeypatch):
    resolved: list[str] = []

    def public_dns(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        resolved.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 0))]

    monkeypatch.setattr(socket, "getaddrinfo", public_dns)

    response = support.post(ADD_URL, add_form_data(okta_domain="https://login.acme.com/"))

    assert response.status_code == 302, errors_of(response)
    assert Tenant.objects.get().issuer == "https://login.acme.com"
    assert resolved == ["login.acme.com"]


def test_an_unchanged_domain_is_not_looked_up_again_on_edit(support, db):
    # Created while loopback issuers were allowed; later edits (say, switching it off) must still save.
    tenant = Tenant.objects.create(name="Old", slug="old", okta_domain="https://10.0.0.5", client_id="c",
                                   client_secret="s")
    data = change_form_data(support.get(change_url(tenant)))
    data.pop("is_active")

    with override_settings(SSO_ALLOW_INSECURE_ISSUERS=False):
        response = support.post(change_url(tenant), data)

    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.is_active is False


def test_it_refuses_a_second_tenant_with_the_same_issuer_and_client_id(support, acme, provider):
    response = support.post(ADD_URL, add_form_data(
        name="Acme again", slug="acme-2", okta_domain=provider.issuer + "/", email_domains="",
    ))

    [error] = errors_of(response)["client_id"]
    assert f"Acme (acme) already uses this Client ID with the Okta org {provider.issuer}" in error
    assert Tenant.objects.count() == 1


def test_it_accepts_a_second_install_of_the_same_okta_org_with_its_own_client_id(support, acme, provider):
    response = support.post(ADD_URL, add_form_data(
        name="Acme Labs", slug="acme-labs", okta_domain=provider.issuer, client_id="inigo-acme-labs",
        email_domains="",
    ))

    assert response.status_code == 302, errors_of(response)
    assert Tenant.objects.filter(issuer=provider.issuer).count() == 2


# --- editing, the secret and the admin log ------------------------------------------------------------------------
def test_it_keeps_the_stored_secret_when_the_field_is_left_empty_and_people_still_sign_in(
    support, browser: Browser, provider, acme
):
    data = change_form_data(support.get(change_url(acme)))
    data["name"] = "Acme Inc."
    assert data["client_secret"] == ""

    response = support.post(change_url(acme), data)

    assert response.status_code == 302
    acme.refresh_from_db()
    assert (acme.name, acme.client_secret) == ("Acme Inc.", ACME_SECRET)
    assert browser.login(provider, "alice").status_code == 302
    assert browser.me().json()["tenant"] == "acme"
    entry = LogEntry.objects.get(object_id=str(acme.pk))
    assert entry.get_change_message() == "Changed Name."


def test_it_replaces_the_secret_and_logs_the_field_name_not_the_value(admin_client, acme, caplog):
    data = change_form_data(admin_client.get(change_url(acme)))
    data["client_secret"] = NEW_SECRET
    data["okta_domain"] = acme.okta_domain + "/"

    with caplog.at_level(logging.DEBUG):
        response = admin_client.post(change_url(acme), data)

    assert response.status_code == 302
    acme.refresh_from_db()
    assert acme.client_secret == NEW_SECRET
    entry = LogEntry.objects.get(object_id=str(acme.pk))
    assert entry.get_change_message() == "Changed Okta domain and Client secret."
    stored_entry = f"{entry.change_message} {entry.object_repr}"
    assert NEW_SECRET not in stored_entry and ACME_SECRET not in stored_entry
    assert NEW_SECRET not in caplog.text and ACME_SECRET not in caplog.text


def test_the_secret_never_appears_in_the_list_change_page_or_history(support, acme):
    data = change_form_data(support.get(change_url(acme)))
    data["client_secret"] = NEW_SECRET
    assert support.post(change_url(acme), data).status_code == 302

    pages = {
        "list": support.get(LIST_URL),
        "change": support.get(change_url(acme)),
        "history": support.get(f"/admin/tenants/tenant/{acme.pk}/history/"),
    }

    for name, response in pages.items():
        assert response.status_code == 200, name
        assert NEW_SECRET not in page_text(response), name
        assert ACME_SECRET not in page_text(response), name
    assert "Client secret" in page_text(pages["history"])  # the history does record the change


def test_a_refused_form_does_not_echo_the_typed_secret(admin_client, acme):
    data = change_form_data(admin_client.get(change_url(acme)))
    data.update(client_secret=NEW_SECRET, okta_domain="https://acme.okta.com/app/UserHome")

    response = admin_client.post(change_url(acme), data)

    assert "okta_domain" in errors_of(response)
    assert NEW_SECRET not in page_text(response)
    assert ACME_SECRET not in page_text(response)
    acme.refresh_from_db()
    assert acme.client_secret == ACME_SECRET


def test_the_typed_secret_is_hidden_from_error_reports(support, acme):
    response = support.post(change_url(acme), {"client_secret": NEW_SECRET})

    assert "client_secret" in response.wsgi_request.sensitive_post_parameters


def test_it_warns_when_a_new_issuer_leaves_people_behind(
    admin_client, browser: Browser, provider, other_provider, acme
):
    browser.login(provider, "alice")
    data = change_form_data(admin_client.get(change_url(acme)))
    data["okta_domain"] = other_provider.issuer

    response = post_confirmed(admin_client, change_url(acme), data, follow=True)

    assert (f"The issuer changed from {provider.issuer} to {other_provider.issuer}. The person who signed in before "
            "is known by the old issuer: at their next sign-in they get new accounts as members, and the owner's old "
            "account stays the owner until a superuser transfers the ownership.") in html.unescape(page_text(response))


# --- moving a tenant to another issuer: asked before anything is saved ---------------------------------------
def test_it_asks_before_a_new_issuer_splits_accounts_and_saves_nothing_until_confirmed(
    admin_client, browser: Browser, provider, other_provider, acme
):
    browser.login(provider, "alice")
    browser.client.logout()
    browser.login(provider, "bob")
    data = change_form_data(admin_client.get(change_url(acme)))
    data.update(okta_domain=other_provider.issuer, name="Acme Renamed", client_secret=NEW_SECRET)

    asked = admin_client.post(change_url(acme), data)

    page = page_text(asked)
    assert asked.status_code == 200 and "Move Acme Renamed to another Okta org?" in page
    assert "2 people will get new accounts." in page
    # Alice signed in first and is the owner: her old account stays the owner, which the page says (roles and the
    # ownership do not start again: the next sign-ins are members).
    assert "The owner stays alice@acme.test" in html.unescape(page) and "start again" not in page
    assert "The secret must be entered again." in page
    assert NEW_SECRET not in page and ACME_SECRET not in page  # the typed secret is asked for again, never echoed
    assert 'name="name" value="Acme Renamed"' in page  # the rest of the form rides along
    stored = Tenant.objects.get(pk=acme.pk)
    assert (stored.issuer, stored.name, stored.client_secret) == (provider.issuer, "Acme", ACME_SECRET)
    assert not LogEntry.objects.filter(object_id=str(acme.pk)).exists()

    confirmation = asked.context["change"].confirmation
    saved = admin_client.post(change_url(acme), {**data, CONFIRM_FIELD: confirmation})

    assert saved.status_code == 302
    stored.refresh_from_db()
    assert (stored.issuer, stored.name, stored.client_secret) == (other_provider.issuer, "Acme Renamed", NEW_SECRET)


def test_a_confirmation_confirms_only_the_change_it_was_asked_for(admin_client, provider, other_provider, acme):
    data = change_form_data(admin_client.get(change_url(acme)))
    stale = f"{provider.issuer} https://acme-elsewhere.okta.com"
    data.update(okta_domain=other_provider.issuer, **{CONFIRM_FIELD: stale})

    asked = admin_client.post(change_url(acme), data)

    assert asked.status_code == 200 and "Nobody has signed in through" in page_text(asked)
    assert Tenant.objects.get(pk=acme.pk).issuer == provider.issuer


def test_the_same_org_spelt_another_way_is_saved_without_asking(admin_client, provider, acme):
    data = change_form_data(admin_client.get(change_url(acme)))
    data["okta_domain"] = provider.issuer + "/"

    assert admin_client.post(change_url(acme), data).status_code == 302


# --- the list -----------------------------------------------------------------------------------------------------
def _member(tenant: Tenant, sub: str, role: str = Role.MEMBER) -> User:
    return User.objects.create(username=f"{tenant.slug}-{sub}", tenant=tenant, issuer=tenant.issuer, sub=sub,
                               email=f"{sub}@{tenant.slug}.test", role=role)


def test_the_people_table_writes_times_as_every_admin_page_does(admin_client, browser: Browser, provider, acme):
    browser.login(provider, "alice")
    _member(acme, "carol")  # never signed in

    page = page_text(admin_client.get(change_url(acme)))

    signed_in = LoginEvent.objects.get(reason="ok").created_at
    assert f"{signed_in:%-d %b %Y, %H:%M:%S} UTC" in page and "never" in page
    assert "+00:00" not in page and ">None<" not in page
    assert "Post-logout redirect URI:" in page  # labels start with a capital, as the admin's own


def test_the_list_shows_people_owner_and_last_sign_in(support, acme, globex):
    owner = _member(acme, "alice", Role.OWNER)
    _member(acme, "bob")
    LoginEvent.objects.create(kind="signin", tenant=acme, user=owner, outcome="success", reason="ok")
    LoginEvent.objects.create(kind="signin", tenant=acme, outcome="failure", reason="state_missing")

    response = support.get(LIST_URL)

    rows = {tenant.slug: tenant for tenant in response.context["cl"].result_list}
    assert (rows["acme"].users_count, rows["acme"].owner_email) == (2, "alice@acme.test")
    assert rows["acme"].last_successful_login == LoginEvent.objects.get(reason="ok").created_at
    assert (rows["globex"].users_count, rows["globex"].owner_email, rows["globex"].last_successful_login) == (
        0, None, None
    )
    assert "alice@acme.test" in page_text(response)


def test_the_list_costs_the_same_queries_for_one_tenant_or_many(support, db):
    def tenant_with_people(number: int) -> None:
        tenant = Tenant.objects.create(name=f"T{number}", slug=f"t{number}", okta_domain=f"t{number}.okta.com",
                                       client_id="c", client_secret="s")
        _member(tenant, "owner", Role.OWNER)
        _member(tenant, "member")
        LoginEvent.objects.create(kind="signin", tenant=tenant, outcome="success", reason="ok")

    tenant_with_people(1)
    support.get(LIST_URL)  # warm up sessions and content types
    with CaptureQueriesContext(connection) as one:
        assert support.get(LIST_URL).status_code == 200
    for number in range(2, 7):
        tenant_with_people(number)
    with CaptureQueriesContext(connection) as six:
        response = support.get(LIST_URL)

    assert len(response.context["cl"].result_list) == 6
    assert len(six) == len(one)


@pytest.mark.parametrize(("query", "found"), [
    ("Globex", ["globex"]), ("acme", ["acme"]), ("inigo-globex", ["globex"]), ("127.0.0.1", ["acme", "globex"]),
])
def test_the_list_searches_name_slug_client_id_and_okta_domain(support, acme, globex, query, found):
    response = support.get(LIST_URL, {"q": query})

    assert sorted(tenant.slug for tenant in response.context["cl"].result_list) == found


def test_the_list_filters_by_active(support, acme, globex):
    Tenant.objects.filter(pk=globex.pk).update(is_active=False)

    response = support.get(LIST_URL, {"is_active__exact": "0"})

    assert [tenant.slug for tenant in response.context["cl"].result_list] == ["globex"]


# --- the people of a tenant ---------------------------------------------------------------------------------------
def test_the_tenant_page_lists_its_people_and_adds_none(support, acme, globex):
    _member(acme, "alice", Role.OWNER)
    _member(globex, "gina", Role.OWNER)

    response = support.get(change_url(acme))

    [inline] = response.context["inline_admin_formsets"]
    assert [form.instance.email for form in inline.formset.forms] == ["alice@acme.test"]
    assert inline.has_add_permission is False
    assert "gina@globex.test" not in page_text(response)


def test_a_role_edited_on_the_tenant_page_cannot_make_a_second_owner(admin_client, acme):
    _member(acme, "alice", Role.OWNER)
    bob = _member(acme, "bob")
    data = change_form_data(admin_client.get(change_url(acme)))
    [bob_field] = [name for name, value in data.items() if name.endswith("-id") and value == str(bob.pk)]

    data[bob_field.replace("-id", "-role")] = Role.OWNER
    response = admin_client.post(change_url(acme), data)

    assert response.status_code == 200
    assert "Transfer ownership" in page_text(response)
    assert User.objects.filter(tenant=acme, role=Role.OWNER).get().sub == "alice"


def test_a_role_edited_on_the_tenant_page_is_saved(admin_client, acme):
    _member(acme, "alice", Role.OWNER)
    bob = _member(acme, "bob")
    data = change_form_data(admin_client.get(change_url(acme)))
    [bob_field] = [name for name, value in data.items() if name.endswith("-id") and value == str(bob.pk)]

    data[bob_field.replace("-id", "-role")] = Role.ADMIN
    response = admin_client.post(change_url(acme), data)

    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.role == Role.ADMIN


# --- ending sessions ----------------------------------------------------------------------------------------------
def test_switching_a_tenant_off_in_admin_says_its_sessions_ended_and_ends_them(support, provider, acme):
    from tests.test_sessions import signed_in

    alice = signed_in(provider, "alice")
    data = change_form_data(support.get(change_url(acme)))
    data.pop("is_active")

    response = support.post(change_url(acme), data, follow=True)

    messages = [str(m) for m in response.context["messages"]]
    assert any("Acme is switched off: every session of its people (1) has ended" in m for m in messages), messages
    assert alice.me().json()["reason"] == "session_tenant_inactive"


def test_the_tenant_page_shows_the_universal_logout_endpoint_and_the_recheck_setting(support, acme):
    page = page_text(support.get(change_url(acme)))

    assert "<code>http://testserver/oidc/global-token-revocation/</code>" in page
    data = change_form_data(support.get(change_url(acme)))
    data["session_recheck_minutes"] = "15"
    assert support.post(change_url(acme), data).status_code == 302
    assert Tenant.objects.get(pk=acme.pk).session_recheck_minutes == 15
    data["session_recheck_minutes"] = "100000"
    assert "session_recheck_minutes" in errors_of(support.post(change_url(acme), data))
