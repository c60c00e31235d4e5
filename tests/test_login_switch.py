"""Who may switch the signed-in person (SPEC): Alice, owner of Acme, is signed in; Mallory runs Evil, a tenant whose
provider approves every sign-in without a click (the harness answers for her as soon as the browser arrives). A link
to Evil's sign-in never replaces Alice's session by itself: it shows a page that asks, and only that page's own form,
under Django's CSRF check, signs her out and continues."""

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client, override_settings

from accounts.models import LoginEvent
from accounts.services import user_sessions_end
from inigo_sso.failures import SESSION_END_REASONS
from tenants.models import Tenant
from tenants.setup import setup_link_create, tenant_awaiting_create
from tests.conftest import Browser, profile
from tests.oidc_provider import ProviderHarness, query_of

ALICE = "alice@acme.test"
MALLORY = "mallory@evil.example"


@pytest.fixture
def evil(db: None, other_provider: ProviderHarness) -> Tenant:
    other_provider.set_user("mallory", profile("mallory", domain="evil.example"))
    return Tenant.objects.create(name="Evil", slug="evil", okta_domain=other_provider.issuer, client_id="inigo-evil",
                                 client_secret="evil-client-secret-Hn41")


@pytest.fixture
def alice(browser: Browser, provider: ProviderHarness, acme: Tenant) -> Browser:
    browser.login(provider, "alice")
    assert browser.me().json()["email"] == ALICE
    return browser


def approve_silently(client: Client, provider: ProviderHarness, response):
    """What Evil's provider does with a browser sent to it: straight back to the callback with Mallory's code."""
    if response.status_code == 302 and response["Location"].startswith(provider.issuer):
        return client.get(provider.authorize(response["Location"], "mallory"))
    return response


def csrf_client(browser: Browser) -> Client:
    """The same browser, with Django's CSRF check enforced as it is for a real one."""
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = browser.client.cookies
    return strict


def form_token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    return match.group(1) if match else ""


STARTS = [
    pytest.param("get", "/oidc/initiate/evil/", {}, id="GET initiate with slug"),
    pytest.param("post", "/oidc/initiate/evil/", {}, id="POST initiate with slug"),
    pytest.param("post", "/oidc/initiate/", {"iss": "{issuer}"}, id="POST initiate with iss"),
    pytest.param("get", "/oidc/initiate/", {"iss": "{issuer}"}, id="GET initiate with iss"),
    pytest.param("get", "/oidc/authenticate/", {"tenant": "evil"}, id="GET authenticate"),
]


@pytest.mark.parametrize(("method", "path", "params"), STARTS)
def test_a_link_to_another_organisations_sign_in_leaves_alice_signed_in(
    alice, other_provider, evil, method, path, params
):
    params = {name: value.format(issuer=other_provider.issuer) for name, value in params.items()}
    response = getattr(alice.client, method)(path, params)
    approve_silently(alice.client, other_provider, response)

    assert alice.me().json()["email"] == ALICE
    assert response.status_code == 200
    page = response.content.decode()
    assert ALICE in page and "Acme" in page and "Evil" in page
    assert 'action="/oidc/switch/evil/"' in page and "Sign out and continue to Evil" in page
    assert 'href="/"' in page  # stay
    assert other_provider.authorize_requests == []  # nothing was started
    assert not LoginEvent.objects.filter(outcome="signed_out").exists()


def test_the_page_is_never_cached_or_framed(alice, evil):
    response = alice.client.get("/oidc/initiate/evil/")

    assert "no-store" in response["Cache-Control"]
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_the_switch_without_a_csrf_token_is_refused(alice, other_provider, evil):
    strict = csrf_client(alice)
    strict.get("/oidc/initiate/evil/")  # the page sets the CSRF cookie

    response = strict.post("/oidc/switch/evil/", {"next": "/"})

    assert response.status_code == 403
    assert b"This form has expired" in response.content
    assert alice.me().json()["email"] == ALICE
    assert other_provider.authorize_requests == []


def test_the_switch_from_the_page_signs_alice_out_and_carries_the_links_values(alice, other_provider, evil, acme):
    strict = csrf_client(alice)
    page = strict.get("/oidc/initiate/evil/", {"login_hint": MALLORY,
                                               "target_link_uri": "http://testserver/api/me/"}).content.decode()
    form = {"csrfmiddlewaretoken": form_token(page), "login_hint": hidden(page, "login_hint"),
            "next": hidden(page, "next")}

    started = strict.post("/oidc/switch/evil/", form)

    assert started.status_code == 302
    assert query_of(started["Location"])["login_hint"] == MALLORY  # OIDC Core 4, as the start would have
    assert alice.me().status_code == 401  # signed out before Evil's provider is even asked
    event = LoginEvent.objects.get(outcome="signed_out")
    assert (event.reason, event.tenant, event.email, event.detail) == (
        "session_switched", acme, ALICE, "signed out to sign in to evil")
    back = approve_silently(strict, other_provider, started)
    assert back["Location"] == "/api/me/"  # target_link_uri, checked and carried
    assert alice.me().json()["email"] == MALLORY


def test_the_same_organisation_or_nobody_signed_in_starts_as_before(alice, provider, other_provider, evil):
    assert alice.client.get("/oidc/initiate/acme/").status_code == 302
    assert alice.client.get("/oidc/authenticate/", {"tenant": "acme"}).status_code == 302
    alice.client.logout()
    response = alice.client.get("/oidc/initiate/evil/")
    assert response.status_code == 302 and response["Location"].startswith(other_provider.issuer)


def test_a_cookieless_post_starts_again_by_get_so_the_browser_shows_its_session(alice, other_provider, evil):
    """SameSite=Lax keeps the session cookie from a cross-site POST, and the answer's new cookie would replace it."""
    cross_site = Client()
    response = cross_site.post("/oidc/initiate/", {"iss": other_provider.issuer, "login_hint": MALLORY, "x": "1"})

    assert response.status_code == 303
    assert "sessionid" not in response.cookies
    assert not Session.objects.exclude(session_key=alice.client.session.session_key).exists()
    location = urlsplit(response["Location"])
    assert location.path == "/oidc/initiate/"
    assert query_of(response["Location"]) == {"iss": other_provider.issuer, "login_hint": MALLORY}
    assert alice.client.get(response["Location"]).status_code == 200  # with her cookie: the page that asks


@pytest.mark.parametrize(("slug", "reason"), [("nobody", "tenant_unknown"), ("evil", "tenant_inactive")])
def test_a_switch_that_cannot_start_leaves_alice_signed_in(alice, evil, slug, reason):
    strict = csrf_client(alice)
    token = form_token(strict.get("/oidc/initiate/evil/").content.decode())
    Tenant.objects.filter(pk=evil.pk).update(is_active=False)

    response = strict.post(f"/oidc/switch/{slug}/", {"csrfmiddlewaretoken": token, "next": "/"})

    assert response.status_code in (403, 404)
    assert LoginEvent.objects.latest("created_at").reason == reason
    assert alice.me().json()["email"] == ALICE


def test_an_inactive_organisation_is_refused_before_anyone_is_asked(alice, evil):
    Tenant.objects.filter(pk=evil.pk).update(is_active=False)

    response = alice.client.get("/oidc/initiate/evil/")

    assert response.status_code == 403 and b"Sign-in is switched off" in response.content


# --- failing starts write no session -----------------------------------------------------------------------------
FAILING_STARTS = [
    ("get", "/oidc/initiate/", {"iss": "https://unknown.okta.com"}),
    ("get", "/oidc/initiate/nobody/", {}),
    ("get", "/oidc/authenticate/", {"tenant": "nobody"}),
    ("get", "/oidc/callback/", {"state": "x", "code": "y"}),
    ("post", "/oidc/switch/nobody/", {"next": "/"}),
]


@override_settings(SSO_RATE_LIMIT="4/m")
def test_a_burst_of_failing_starts_writes_no_session_row(db):
    before = Session.objects.count()
    statuses = {getattr(Client(), method)(path, data).status_code
                for method, path, data in FAILING_STARTS for _ in range(3)}

    assert 429 in statuses and statuses <= {400, 404, 429}  # one budget for all, as the initiation's
    assert Session.objects.count() == before


# --- a setup link opened after a session ended ------------------------------------------------------------------
def end_session(reason: str, user, tenant: Tenant) -> None:
    if reason == "session_user_inactive":
        user.is_active = False
        user.save()
    elif reason == "session_tenant_inactive":
        tenant.is_active = False
        tenant.save()
    else:
        user_sessions_end(user=user, reason=reason)


def rows_holding(text: str) -> list[str]:
    """Every text column of every table of the database that holds `text`, as table.column."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = "
                       "current_schema() AND data_type IN ('text', 'character varying', 'character', 'json', "
                       "'jsonb')")
        columns = cursor.fetchall()
        found = []
        for table, column in columns:
            quoted = f"{connection.ops.quote_name(table)}.{connection.ops.quote_name(column)}"
            cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} "  # noqa: S608 (names from the catalog)
                           f"WHERE strpos({quoted}::text, %s) > 0 LIMIT 1", [text])
            if cursor.fetchone():
                found.append(f"{table}.{column}")
    return found


@pytest.mark.parametrize("reason", SESSION_END_REASONS)
def test_a_setup_link_opened_after_a_session_ended_is_stored_nowhere(postgres, alice, acme, reason):
    token = setup_link_create(tenant=tenant_awaiting_create(slug="newco", name="NewCo")).token
    end_session(reason, acme.users.get(sub="alice"), acme)

    assert alice.client.get(f"/setup/{token}/").status_code == 200

    ended_here = LoginEvent.objects.get(outcome="signed_out", detail__startswith="session ended")  # by the request
    assert (ended_here.reason, ended_here.detail) == (reason, "session ended at GET of a setup page")
    assert rows_holding(token) == []
    assert rows_holding(token[:8]) == []  # not even a part of it
