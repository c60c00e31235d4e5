"""The pages around the login: home, /api/me/, logout, health, the organisation picker, initiate refusals."""

import pytest

from accounts.models import LoginEvent, User
from tenants.models import Tenant
from tests.conftest import Browser
from tests.oidc_provider import query_of


def test_anonymous_visitors_are_sent_to_the_login_page(client, db):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_api_me_is_401_json_for_anonymous_visitors(client, db):
    response = client.get("/api/me/")

    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_the_owner_sees_the_members_and_a_member_does_not(client, browser: Browser, provider, acme):
    browser.login(provider, "alice")
    client.logout()
    browser.login(provider, "bob")

    member_page = client.get("/")
    assert member_page.status_code == 200
    assert b"Members of Acme" not in member_page.content
    client.logout()
    browser.login(provider, "alice")
    owner_page = client.get("/")
    assert b"Members of Acme" in owner_page.content
    assert b"bob@acme.test" in owner_page.content


def test_the_home_pages_lists_say_when_they_show_only_the_first_people(client, browser: Browser, provider, acme,
                                                                         monkeypatch):
    monkeypatch.setattr("accounts.views.HOME_LIST_LIMIT", 1)
    browser.login(provider, "alice")  # the owner, listed first
    client.logout()
    browser.login(provider, "bob")  # a member, after her
    client.logout()
    browser.login(provider, "alice")

    page = client.get("/").content.decode()
    User.objects.filter(sub="bob").delete()
    alone = client.get("/").content.decode()

    assert "This list shows the first 1 by role and email" in page and "bob@acme.test" not in page
    assert "This list shows the first" not in alone


def test_members_of_another_tenant_are_never_listed(client, browser, provider, other_provider, acme, globex):
    browser.login(other_provider, "gina")
    client.logout()
    browser.login(provider, "alice")

    assert b"gina" not in client.get("/").content


def test_logout_ends_the_session(client, browser: Browser, provider, acme):
    browser.login(provider, "alice")

    response = client.post("/oidc/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert client.get("/api/me/").status_code == 401


def test_logout_continues_to_okta_when_the_tenant_has_a_post_logout_uri(client, browser: Browser, provider, acme):
    acme.post_logout_redirect_uri = "http://testserver/login/"
    acme.save()
    browser.login(provider, "alice")

    response = client.post("/oidc/logout/")

    assert response["Location"].startswith(provider.issuer + "/oauth2/end_session?")
    params = query_of(response["Location"])
    assert params["post_logout_redirect_uri"] == "http://testserver/login/"
    assert params["id_token_hint"].count(".") == 2
    assert client.get("/api/me/").status_code == 401


def test_a_get_of_logout_shows_a_sign_out_button_and_signs_nobody_out(client, browser: Browser, provider, acme):
    browser.login(provider, "alice")

    page = client.get("/oidc/logout/")

    assert page.status_code == 200
    assert b'<form method="post" action="/oidc/logout/"' in page.content
    assert b"csrfmiddlewaretoken" in page.content and b"Sign out</button>" in page.content
    assert browser.me().status_code == 200


def test_sign_out_ends_on_the_login_page_with_a_notice(client, browser: Browser, provider, acme):
    browser.login(provider, "alice")

    response = client.post("/oidc/logout/", follow=True)

    assert response.redirect_chain == [("/login/", 302)]
    assert response.content.count(b"You have signed out of Inigo.") == 1  # one notice, not one per template
    assert b'class="notice notice-success" role="status"' in response.content
    assert b'role="alert"' not in response.content
    assert b"Sign in to Inigo" in response.content
    assert b"signed out" not in client.get("/login/").content  # shown once


def test_sign_out_needs_the_csrf_token(browser: Browser, provider, acme):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.cookies = browser.client.cookies
    browser.login(provider, "alice")

    assert strict.post("/oidc/logout/").status_code == 403
    assert browser.me().status_code == 200


def test_the_login_page_tells_someone_signed_in_who_they_are(client, browser: Browser, provider, acme):
    browser.login(provider, "alice")

    page = client.get("/login/")

    assert b"You are signed in as <strong>Alice Tester</strong> (Acme)" in page.content
    assert b'href="/"' in page.content and b'href="/oidc/logout/"' in page.content
    assert b'name="email"' not in page.content


def test_healthz_reports_the_database(client, db):
    response = client.get("/healthz/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


def test_healthz_is_degraded_but_200_when_the_cache_fails(client, db, monkeypatch):
    from accounts import views

    def broken(*args, **kwargs) -> None:
        raise ConnectionError("cache down")

    monkeypatch.setattr(views.cache, "set", broken)
    response = client.get("/healthz/")

    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "cache": "down"}


@pytest.mark.parametrize(("params", "status", "reason"), [
    ({}, 400, "issuer_missing"),
    ({"iss": "not a url"}, 400, "issuer_malformed"),
    ({"iss": "https://unknown.okta.com"}, 404, "issuer_unknown"),
    ({"iss": "https://x.okta.com/app/page"}, 400, "issuer_malformed"),
])
def test_initiate_never_redirects_for_an_issuer_that_is_not_an_active_tenants(client, db, params, status, reason):
    response = client.get("/oidc/initiate/", params)

    assert response.status_code == status
    assert "Location" not in response
    assert LoginEvent.objects.get().reason == reason


def test_initiate_refuses_an_inactive_tenants_issuer(client, provider, acme):
    acme.is_active = False
    acme.save()

    response = client.get("/oidc/initiate/", {"iss": provider.issuer})

    assert response.status_code == 403
    assert "Location" not in response


def test_initiate_by_slug_refuses_an_iss_of_another_org(client, provider, other_provider, acme):
    response = client.get("/oidc/initiate/acme/", {"iss": other_provider.issuer})

    assert response.status_code == 400
    assert LoginEvent.objects.get().reason == "issuer_mismatch"


def test_initiate_by_unknown_slug_is_404(client, db):
    assert client.get("/oidc/initiate/nobody/").status_code == 404


def test_one_okta_org_with_two_tenants_gets_an_organisation_picker(client, browser: Browser, provider, acme):
    Tenant.objects.create(name="Acme Labs", slug="acme-labs", okta_domain=provider.issuer, client_id="inigo-labs",
                          client_secret="labs-secret")

    picker = client.get("/oidc/initiate/", {"iss": provider.issuer, "login_hint": "ann@acme.test"})

    assert picker.status_code == 200
    assert b"Choose your organisation" in picker.content
    assert b"/oidc/initiate/acme-labs/?iss=" in picker.content
    response = browser.login(provider, "ann", path="/oidc/initiate/acme-labs/", params={"iss": provider.issuer})
    assert response.status_code == 302
    assert User.objects.get().tenant.slug == "acme-labs"


def test_the_login_page_explains_an_unknown_email_domain(client, db):
    response = client.post("/login/", {"email": "jane@unknown.test"})

    assert response.status_code == 400
    assert b"We don&#x27;t recognise that email domain" in response.content
    assert LoginEvent.objects.get().reason == "email_domain_unknown"


def test_the_login_page_asks_again_for_something_that_is_not_an_email(client, db):
    response = client.post("/login/", {"email": "jane"})

    assert response.status_code == 400
    assert b"Enter your work email address" in response.content


def test_the_login_page_refuses_a_post_without_csrf_token(db):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/login/", {"email": "jane@acme.test"})

    assert response.status_code == 403
    assert b"This form has expired" in response.content


def test_an_unknown_page_is_a_finished_404(client, db):
    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_healthz_names_the_database_when_it_fails(client, db, monkeypatch):
    from django.db import DatabaseError

    from accounts import views

    def broken() -> None:
        raise DatabaseError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(views.connection, "cursor", broken)
        response = client.get("/healthz/")

    assert response.status_code == 503
    assert response.json() == {"status": "down", "database": "down", "cache": "ok"}


def test_the_favicon_browsers_ask_for_is_served(client, db):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO header
