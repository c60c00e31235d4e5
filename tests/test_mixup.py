"""The IdP mix-up attack (RFC 9700 section 4.4), played end to end with two providers on loopback: the victim's
real one (oidc-provider-mock, with Acme's client registered for its redirect URIs, as Okta registers them) and a
malicious one that an attacker runs as the provider of a tenant of their own ("evil").

The attack: the attacker starts an Acme login in their own browser and keeps its authorization request (their
PKCE challenge, nonce and state). They lure the victim into a login for "evil"; the malicious provider relays the
victim on to Acme's real provider with the attacker's parameters and the victim's state. The victim is signed in
at Acme already, so the real provider sends a code back to Inigo with the victim's state. With one shared
callback, Inigo found the "evil" tenant from that state and posted the victim's code to the attacker's token
endpoint; the attacker redeemed it in their own browser and was signed in as the victim.
"""

import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import requests
import werkzeug.serving
from django.test import Client
from werkzeug.wrappers import Request, Response

from accounts.models import LoginEvent, User
from tenants.models import Tenant
from tests.conftest import profile
from tests.oidc_provider import ProviderHarness, query_of


class MaliciousProvider:
    """What the attacker runs: a discovery document of its own, an authorization endpoint that relays the browser
    to the victim's provider, and a token endpoint that collects whatever codes it is sent."""

    def __init__(self) -> None:
        self.relay_params: dict[str, str] = {}
        self.relay_to = ""
        self.codes_received: list[str] = []
        self.server: werkzeug.serving.BaseWSGIServer | None = None

    @property
    def issuer(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/.well-known/openid-configuration":
            response = Response(json.dumps({
                "issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
            }), content_type="application/json")
        elif request.path == "/authorize":
            # The victim's browser arrives with Inigo's request for "evil": keep its state, use the attacker's
            # Acme parameters for everything else.
            relayed = {**self.relay_params, "state": request.args["state"]}
            response = Response(status=302, headers={"Location": f"{self.relay_to}?{urlencode(relayed)}"})
        elif request.path == "/token":
            self.codes_received.append(request.form.get("code", ""))
            response = Response(json.dumps({"error": "invalid_grant"}), status=400, content_type="application/json")
        else:
            response = Response(json.dumps({"keys": []}), content_type="application/json")
        return response(environ, start_response)


@pytest.fixture
def attacker_provider() -> Iterator[MaliciousProvider]:
    malicious = MaliciousProvider()
    malicious.server = werkzeug.serving.make_server("127.0.0.1", 0, malicious, threaded=True)
    thread = threading.Thread(target=malicious.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield malicious
    malicious.server.shutdown()
    thread.join(5)
    malicious.server.server_close()


@pytest.fixture
def registered_acme(db: None, provider: ProviderHarness) -> Tenant:
    """Acme, whose Okta app lists its Sign-in redirect URIs: its own, and the shared one of earlier releases (a
    customer who has not removed it yet)."""
    registered = requests.post(f"{provider.issuer}/oauth2/clients", json={
        "redirect_uris": ["http://testserver/oidc/callback/acme/", "http://testserver/oidc/callback/"],
        "token_endpoint_auth_method": "client_secret_basic",
    }, timeout=5).json()
    return Tenant.objects.create(name="Acme", slug="acme", okta_domain=provider.issuer,
                                 client_id=registered["client_id"], client_secret=registered["client_secret"])


@pytest.fixture
def evil(db: None, attacker_provider: MaliciousProvider) -> Tenant:
    return Tenant.objects.create(name="Evil", slug="evil", okta_domain=attacker_provider.issuer,
                                 client_id="evil-client", client_secret="evil-secret")


def test_a_victims_code_never_reaches_the_attackers_provider(provider, attacker_provider, registered_acme, evil):
    provider.set_user("alice", profile("alice"))
    attacker, victim = Client(), Client()
    # The attacker's own Acme login: the parameters their relay will use (PKCE challenge, nonce, redirect URI).
    attackers_request = attacker.get("/oidc/authenticate/", {"tenant": "acme"})["Location"]
    attacker_params = query_of(attackers_request)
    attacker_provider.relay_to = attackers_request.split("?")[0]
    attacker_provider.relay_params = {k: v for k, v in attacker_params.items() if k != "state"}

    # The victim is lured into a login for the attacker's tenant, and relayed to their real Okta.
    to_evil = victim.get("/oidc/initiate/evil/")["Location"]
    relayed = requests.get(to_evil, allow_redirects=False, timeout=5).headers["Location"]
    back_to_inigo = urlsplit(provider.authorize(relayed, "alice"))
    answer = victim.get(back_to_inigo.path, query_of(back_to_inigo.geturl()))

    # Whatever code the attacker collected, they try it in their own browser with their own state.
    for code in attacker_provider.codes_received:
        attacker.get(urlsplit(attacker_params["redirect_uri"]).path, {"code": code, "state": attacker_params["state"]})

    assert attacker_provider.codes_received == []
    assert attacker.get("/api/me/").status_code == 401
    assert answer.status_code == 400
    assert LoginEvent.objects.filter(reason="callback_tenant_mismatch").count() == 1
    assert not User.objects.exists()


@pytest.mark.parametrize("redirect_uri", [
    "http://testserver/oidc/callback/",  # still registered at Acme's Okta: answers the legacy page, no exchange
    "http://testserver/oidc/callback/evil/",  # not registered for Acme's client: its Okta refuses it
])
def test_the_attack_fails_with_any_redirect_uri_the_attacker_picks(
    provider, attacker_provider, registered_acme, evil, redirect_uri
):
    provider.set_user("alice", profile("alice"))
    attacker, victim = Client(), Client()
    attackers_request = attacker.get("/oidc/authenticate/", {"tenant": "acme"})["Location"]
    attacker_provider.relay_to = attackers_request.split("?")[0]
    attacker_provider.relay_params = {
        **{k: v for k, v in query_of(attackers_request).items() if k != "state"}, "redirect_uri": redirect_uri,
    }

    relayed = requests.get(victim.get("/oidc/initiate/evil/")["Location"], allow_redirects=False, timeout=5)
    at_okta = requests.post(relayed.headers["Location"], data={"sub": "alice"}, allow_redirects=False, timeout=5)
    if at_okta.status_code == 302:
        back_to_inigo = urlsplit(at_okta.headers["Location"])
        answer = victim.get(back_to_inigo.path, query_of(back_to_inigo.geturl()))
        assert answer.status_code == 400
        assert LoginEvent.objects.get().reason == "callback_legacy_url"

    assert redirect_uri.endswith("/callback/") or at_okta.status_code != 302
    assert attacker_provider.codes_received == []
    assert provider.token_requests == []
    assert not User.objects.exists()


# --- RFC 9207: the authorization response names its issuer -------------------------------------------------------
def _callback(client: Client, provider: ProviderHarness, **extra: str) -> Any:
    provider.set_user("alice", profile("alice"))
    started = client.get("/oidc/authenticate/", {"tenant": "acme"})
    back = urlsplit(provider.authorize(started["Location"], "alice"))
    return client.get(back.path, {**query_of(back.geturl()), **extra})


def test_an_iss_that_is_the_tenants_issuer_is_accepted(client, provider, acme):
    assert _callback(client, provider, iss=provider.issuer).status_code == 302


def test_an_iss_of_another_issuer_is_refused_before_the_token_request(client, provider, acme):
    response = _callback(client, provider, iss="https://evil.example")

    assert response.status_code == 400
    assert LoginEvent.objects.get().reason == "callback_iss_mismatch"
    assert provider.token_requests == []


def test_a_missing_iss_is_refused_when_the_provider_promises_one(client, provider, acme):
    provider.discovery_rewrite = lambda document: {**document, "authorization_response_iss_parameter_supported": True}

    response = _callback(client, provider)

    assert response.status_code == 400
    assert LoginEvent.objects.get().reason == "callback_iss_mismatch"
    assert provider.token_requests == []


def test_an_error_answer_with_a_foreign_iss_is_refused_as_such(client, provider, acme):
    state = query_of(client.get("/oidc/authenticate/", {"tenant": "acme"})["Location"])["state"]

    response = client.get("/oidc/callback/acme/", {"state": state, "error": "access_denied",
                                                   "iss": "https://evil.example"})

    assert LoginEvent.objects.get().reason == "callback_iss_mismatch"
    assert response.status_code == 400


def test_the_shared_callback_of_earlier_releases_never_exchanges_a_code(client, provider, acme):
    provider.set_user("alice", profile("alice"))
    back = urlsplit(provider.authorize(client.get("/oidc/authenticate/", {"tenant": "acme"})["Location"], "alice"))

    response = client.get("/oidc/callback/", query_of(back.geturl()))

    assert response.status_code == 400
    assert b"Sign-in redirect URI" in response.content
    assert provider.token_requests == []
    assert LoginEvent.objects.get().reason == "callback_legacy_url"


def test_the_token_request_carries_the_tenants_own_redirect_uri(client, provider, acme):
    assert _callback(client, provider).status_code == 302

    [token_request] = provider.token_requests
    assert token_request.form["redirect_uri"] == "http://testserver/oidc/callback/acme/"


def test_an_error_answer_at_another_tenants_callback_is_refused_as_a_mix_up(client, provider, acme, globex):
    state = query_of(client.get("/oidc/authenticate/", {"tenant": "acme"})["Location"])["state"]

    response = client.get("/oidc/callback/globex/", {"state": state, "error": "access_denied"})

    assert response.status_code == 400
    assert LoginEvent.objects.get().reason == "callback_tenant_mismatch"


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_callback_answers_only_get(client, acme, method):
    assert getattr(client, method)("/oidc/callback/acme/").status_code == 405


# --- an error answer that matches no pending login of this browser ------------------------------------------------
def test_an_error_link_without_this_browsers_state_signs_nobody_out(browser, provider, acme):
    browser.login(provider, "alice")

    response = browser.client.get("/oidc/callback/acme/", {"error": "access_denied", "state": "someone-elses"})

    assert response.status_code == 403
    assert browser.me().status_code == 200  # a link anyone can send does not end a session (logout CSRF)


def test_provider_words_are_shown_only_for_this_browsers_own_login(client, provider, acme):
    forged = client.get("/oidc/callback/acme/", {"error": "server_error", "error_description": "Call +1 555 0100"})
    state = query_of(client.get("/oidc/authenticate/", {"tenant": "acme"})["Location"])["state"]
    matched = client.get("/oidc/callback/acme/", {"state": state, "error": "server_error",
                                                  "error_description": "Okta is busy"})

    assert forged.status_code == 400 and b"555 0100" not in forged.content
    assert matched.status_code == 400 and b"Okta is busy" in matched.content


def test_an_error_answer_to_this_browsers_own_login_ends_its_session(browser, provider, acme):
    browser.login(provider, "alice")
    state = query_of(browser.client.get("/oidc/authenticate/", {"tenant": "acme"})["Location"])["state"]

    browser.client.get("/oidc/callback/acme/", {"state": state, "error": "access_denied"})

    assert browser.me().status_code == 401
