"""IdP- and SP-initiated login against a real OpenID Provider, end to end through Django."""

import base64
import hashlib
import time
from typing import Any

import pytest
from django.test import Client

from accounts.models import LoginEvent, Role, User
from accounts.oidc import states
from tests.conftest import Browser, profile
from tests.oidc_provider import query_of


def test_it_signs_in_from_the_okta_tile_and_makes_the_first_user_owner(browser: Browser, provider, acme):
    response = browser.login(provider, "alice")

    assert response.status_code == 302
    assert response["Location"] == "/"
    me = browser.me().json()
    assert me == {"email": "alice@acme.test", "name": "Alice Tester", "tenant": "acme", "role": "owner"}
    user = User.objects.get()
    assert (user.tenant, user.issuer, user.sub) == (acme, provider.issuer, "alice")
    assert (user.first_name, user.last_name) == ("Alice", "Tester")
    assert not user.has_usable_password() and not user.is_staff
    event = LoginEvent.objects.get()
    assert (event.reason, event.outcome, event.tenant, event.user) == ("ok", "success", acme, user)


def test_it_signs_in_from_the_login_page_by_work_email_as_a_member(client, browser: Browser, provider, acme):
    browser.login(provider, "alice")
    client.logout()

    response = browser.login(provider, "bob", path="/login/", params={"email": "Bob@ACME.test"}, method="post")
    assert response.status_code == 302
    bob = User.objects.get(sub="bob")
    assert bob.role == Role.MEMBER
    assert User.objects.get(sub="alice").role == Role.OWNER


def test_the_login_page_posts_the_email_and_forwards_it_as_login_hint(client, provider, acme):
    response = client.post("/login/", {"email": "bob@acme.test"})

    assert response.status_code == 302
    assert response["Location"].startswith(provider.issuer + "/oauth2/authorize?")
    assert query_of(response["Location"])["login_hint"] == "bob@acme.test"


def test_a_later_login_with_a_changed_email_updates_the_same_user(client, browser: Browser, provider, acme):
    browser.login(provider, "alice")
    client.logout()

    browser.login(provider, "alice", claims=profile("alice", email="alice.smith@acme.test", family_name="Smith",
                                                    name="Alice Smith"))

    user = User.objects.get()
    assert (user.email, user.last_name, user.name) == ("alice.smith@acme.test", "Smith", "Alice Smith")
    assert user.role == "owner"


def test_the_same_email_in_two_tenants_is_two_users(client, browser, provider, other_provider, acme, globex):
    browser.login(provider, "sam", claims=profile("sam", domain="shared.test"))
    client.logout()
    browser.login(other_provider, "sam", claims=profile("sam", domain="shared.test"))

    users = User.objects.filter(email="sam@shared.test").order_by("tenant__slug")
    assert [(u.tenant.slug, u.role) for u in users] == [("acme", "owner"), ("globex", "owner")]


def test_it_starts_a_login_for_a_tenant_by_slug(browser: Browser, provider, acme):
    response = browser.login(provider, "alice", path="/oidc/authenticate/", params={"tenant": "acme"})

    assert response.status_code == 302
    assert browser.me().json()["tenant"] == "acme"


def test_it_accepts_the_per_tenant_initiate_uri_with_and_without_iss(client, browser: Browser, provider, acme):
    assert browser.login(provider, "alice", path="/oidc/initiate/acme/", params={}).status_code == 302
    client.logout()
    response = browser.login(provider, "alice", path="/oidc/initiate/acme/", params={"iss": provider.issuer})
    assert response.status_code == 302


def test_it_accepts_initiation_by_post_without_a_csrf_token(provider, acme):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    bounced = strict.post("/oidc/initiate/", {"iss": provider.issuer, "login_hint": "alice@acme.test"})
    # No session cookie came (SameSite=Lax holds it back on a cross-site POST): the same start again by GET.
    assert bounced.status_code == 303
    response = strict.get(bounced["Location"])

    assert response.status_code == 302
    assert query_of(response["Location"])["login_hint"] == "alice@acme.test"


def test_it_sends_state_nonce_pkce_s256_and_the_scopes(client, provider, acme):
    response = client.get("/oidc/initiate/", {"iss": provider.issuer})
    params = query_of(response["Location"])

    assert params["scope"] == "openid email profile"
    assert params["response_type"] == "code"
    assert params["client_id"] == "inigo-acme"
    assert params["redirect_uri"] == "http://testserver/oidc/callback/acme/"
    assert len(params["state"]) >= 22 and len(params["nonce"]) >= 22  # >= 128 bits of a 62-letter alphabet
    assert params["code_challenge_method"] == "S256"
    entry = client.session["oidc_states"][params["state"]]
    assert entry["tenant_id"] == acme.pk
    verifier = entry["code_verifier"]
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert params["code_challenge"] == expected


def test_the_token_request_carries_the_code_verifier_and_uses_client_secret_basic(browser: Browser, provider, acme):
    browser.login(provider, "alice")

    [token_request] = provider.token_requests
    assert token_request.authorization.startswith("Basic ")
    assert "client_secret" not in token_request.form
    assert len(token_request.form["code_verifier"]) >= 43


def test_it_uses_client_secret_post_when_the_provider_allows_only_that(browser: Browser, provider, acme):
    provider.discovery_rewrite = lambda doc: {**doc, "token_endpoint_auth_methods_supported": ["client_secret_post"]}

    assert browser.login(provider, "alice").status_code == 302

    [token_request] = provider.token_requests
    assert token_request.authorization == ""
    assert token_request.form["client_id"] == "inigo-acme"
    assert token_request.form["client_secret"] == "acme-client-secret-Zx81kQ2vN4"


def test_it_returns_to_a_same_origin_target_link_uri(browser: Browser, provider, acme):
    params = {"iss": provider.issuer, "target_link_uri": "http://testserver/api/me/?x=1"}
    response = browser.login(provider, "alice", params=params)

    assert response["Location"] == "/api/me/?x=1"


def test_two_tabs_can_be_mid_login_for_two_tenants(client, browser, provider, other_provider, acme, globex):
    provider.set_user("alice", profile("alice"))
    other_provider.set_user("gina", profile("gina", domain="globex.test"))
    acme_tab = client.get("/oidc/initiate/", {"iss": provider.issuer})
    globex_tab = client.get("/oidc/initiate/", {"iss": other_provider.issuer})

    assert client.get(other_provider.authorize(globex_tab["Location"], "gina")).status_code == 302
    assert browser.me().json()["tenant"] == "globex"
    assert client.get(provider.authorize(acme_tab["Location"], "alice")).status_code == 302
    assert browser.me().json()["tenant"] == "acme"


def test_a_callback_after_ten_minutes_is_refused(client, provider, acme, monkeypatch):
    provider.set_user("alice", profile("alice"))
    callback = provider.authorize(client.get("/oidc/initiate/", {"iss": provider.issuer})["Location"], "alice")
    later = time.time() + states.STATE_LIFETIME_SECONDS + 1
    monkeypatch.setattr(states.time, "time", lambda: later)

    response = client.get(callback)

    assert response.status_code == 400
    assert LoginEvent.objects.get().reason == "state_expired"
    assert provider.token_requests == []
    assert not User.objects.exists()


@pytest.mark.parametrize("query", [{}, {"code": "x"}, {"code": "x", "state": "forged"}, {"state": "forged"}])
def test_a_callback_without_a_known_state_is_refused(client, acme, query):
    response = client.get("/oidc/callback/acme/", query)

    assert response.status_code == 400
    assert LoginEvent.objects.get().reason == "state_missing"


def test_a_user_okta_does_not_assign_sees_what_to_ask_for(client, provider, acme):
    started = client.get("/oidc/initiate/", {"iss": provider.issuer})
    state = query_of(started["Location"])["state"]

    response = client.get("/oidc/callback/acme/", {
        "state": state, "error": "access_denied",
        "error_description": "User is not assigned to the client application.",
    })

    assert response.status_code == 403
    assert b"Ask your Okta administrator to assign you the Inigo app" in response.content
    assert LoginEvent.objects.get().reason == "user_not_assigned"
    assert state not in client.session["oidc_states"]


def test_a_denied_login_at_the_provider_ends_on_an_explanation(client, provider, acme):
    started = client.get("/oidc/initiate/", {"iss": provider.issuer})

    response = client.get(provider.authorize(started["Location"], "alice", deny=True))

    assert response.status_code == 403
    assert LoginEvent.objects.get().reason == "access_denied"


def test_the_provider_error_description_is_escaped(client, provider, acme):
    state = query_of(client.get("/oidc/initiate/", {"iss": provider.issuer})["Location"])["state"]

    response = client.get("/oidc/callback/acme/", {"state": state, "error": "server_error",
                                              "error_description": "<script>alert(1)</script>"})

    assert response.status_code == 400
    assert b"<script>alert(1)" not in response.content
    assert b"&lt;script&gt;" in response.content


def test_a_callback_with_a_code_and_repeated_errors_is_refused_before_the_code_is_sent(client, provider, acme):
    provider.set_user("alice", profile("alice"))
    callback = provider.authorize(client.get("/oidc/initiate/", {"iss": provider.issuer})["Location"], "alice")

    response = client.get(f"{callback}&error=server_error&error=access_denied")

    assert response.status_code == 400
    assert LoginEvent.objects.get().reason == "callback_malformed"
    assert provider.token_requests == []


def test_a_deactivated_user_is_not_signed_in(client, browser: Browser, provider, acme):
    browser.login(provider, "alice")
    client.logout()
    User.objects.filter(sub="alice").update(is_active=False)

    response = browser.login(provider, "alice")

    assert response.status_code == 403
    assert browser.me().status_code == 401
    assert LoginEvent.objects.filter(reason="user_inactive").count() == 1


def test_an_inactive_tenant_cannot_finish_a_login_it_started(client, provider, acme):
    provider.set_user("alice", profile("alice"))
    callback = provider.authorize(client.get("/oidc/initiate/", {"iss": provider.issuer})["Location"], "alice")
    acme.is_active = False
    acme.save()

    response = client.get(callback)

    assert response.status_code == 403
    assert not User.objects.exists()


def test_a_login_started_in_another_tab_during_the_token_exchange_survives_the_sign_in(
    client, browser, provider, other_provider, acme, globex, monkeypatch
):
    """The sign-in reads the session after the token exchange (accounts.session_store, take_over), so a state entry
    another tab wrote meanwhile is kept in the signed-in session, as mozilla-django-oidc's reload keeps it. The
    other tab starts while the callback waits for the token response (the state entry's removal is saved by then)."""
    from okta import exchange

    provider.set_user("alice", profile("alice"))
    other_provider.set_user("gina", profile("gina", domain="globex.test"))
    acme_tab = client.get("/oidc/initiate/", {"iss": provider.issuer})
    other_tab: dict[str, Any] = {}
    real_request = exchange.token_request

    def request_while_another_tab_starts(*args: Any, **kwargs: Any) -> Any:
        tab = Client()
        tab.cookies = client.cookies  # the same browser
        other_tab["started"] = tab.get("/oidc/initiate/", {"iss": other_provider.issuer})
        return real_request(*args, **kwargs)

    monkeypatch.setattr(exchange, "token_request", request_while_another_tab_starts)
    assert client.get(provider.authorize(acme_tab["Location"], "alice")).status_code == 302
    assert browser.me().json()["tenant"] == "acme"
    monkeypatch.setattr(exchange, "token_request", real_request)

    assert other_tab["started"].status_code == 302
    assert client.get(other_provider.authorize(other_tab["started"]["Location"], "gina")).status_code == 302
    assert browser.me().json()["tenant"] == "globex"


def test_a_session_ended_in_another_tab_during_the_callback_is_a_failure_page_not_a_500(client, provider, acme,
                                                                                      monkeypatch):
    """Signed out in another tab between the callback's read of the session and the state entry's removal: the
    session row is gone, and the removal's UPDATE finds nothing to update. No token request goes out (the code is
    never sent for a state that could not be spent), and nobody is signed in."""
    from django.contrib.sessions.models import Session

    provider.set_user("alice", profile("alice"))
    callback = provider.authorize(client.get("/oidc/initiate/", {"iss": provider.issuer})["Location"], "alice")
    read_pending = states.pending_login

    def pending_then_signed_out_elsewhere(session, state):
        pending = read_pending(session, state)
        Session.objects.all().delete()
        return pending

    monkeypatch.setattr(states, "pending_login", pending_then_signed_out_elsewhere)
    response = client.get(callback)

    assert response.status_code == 400
    assert LoginEvent.objects.get().reason == "state_missing"
    assert provider.token_requests == []
    assert not User.objects.exists()
    assert client.get("/api/me/").status_code == 401


