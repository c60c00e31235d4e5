"""Each rule of OIDC Core 3.1.3.7 broken by one token, through the whole flow: a 403 page, a login event with
the rule's reason code, no user created and nobody signed in. And the tokens that must pass."""

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from accounts.models import LoginEvent, User
from tests.conftest import ACME_SECRET, Browser
from tests.oidc_provider import ProviderHarness, SigningKey, hs256_token, unsigned_token

Claims = dict[str, Any]


def _without(*names: str) -> Callable[[Claims], Claims]:
    return lambda claims: {k: v for k, v in claims.items() if k not in names}


def _with(**changes: Any) -> Callable[[Claims], Claims]:
    return lambda claims: {**claims, **changes}


def assert_refused(browser: Browser, response, reason: str, status: int = 403) -> None:
    assert response.status_code == status, response.content[:300]
    assert b"Sign-in stopped" in response.content
    assert LoginEvent.objects.get().reason == reason
    assert not User.objects.exists()
    assert browser.me().status_code == 401


RULES = {
    "iss_other_issuer": (_with(iss="https://evil.example"), "id_token_iss"),
    "iss_missing": (_without("iss"), "id_token_missing_claim"),
    "aud_other_client": (_with(aud="someone-else"), "id_token_aud"),
    "aud_missing": (_without("aud"), "id_token_missing_claim"),
    "azp_other_client": (_with(azp="someone-else"), "id_token_azp"),
    "aud_several_without_azp": (_with(aud=["inigo-acme", "someone-else"]), "id_token_azp"),
    "sub_missing": (_without("sub"), "id_token_missing_claim"),
    "sub_empty": (_with(sub=""), "id_token_missing_claim"),
    "exp_missing": (_without("exp"), "id_token_missing_claim"),
    "exp_past": (lambda c: {**c, "exp": int(time.time()) - 200}, "id_token_expired"),
    "iat_missing": (_without("iat"), "id_token_missing_claim"),
    "iat_hour_ahead": (lambda c: {**c, "iat": int(time.time()) + 3600}, "id_token_iat_future"),
    "nonce_other": (_with(nonce="not-the-nonce-we-sent"), "id_token_nonce"),
    "nonce_missing": (_without("nonce"), "id_token_nonce"),
}


@pytest.mark.parametrize("rule", RULES)
def test_it_refuses_a_token_that_breaks_one_rule(browser: Browser, provider: ProviderHarness, acme, rule):
    change, reason = RULES[rule]
    provider.forge_id_token(change)

    assert_refused(browser, browser.login(provider, "alice"), reason)


def test_it_accepts_a_re_signed_token_that_breaks_no_rule(browser: Browser, provider, acme):
    """The control for the test above: the same forging path with no change signs in."""
    provider.forge_id_token()

    assert browser.login(provider, "alice").status_code == 302
    assert browser.me().json()["role"] == "owner"


@pytest.mark.parametrize("change", [
    _with(azp="inigo-acme"),
    _with(aud=["inigo-acme", "other"], azp="inigo-acme"),
    lambda c: {**c, "iat": int(time.time()) + 60},  # clock skew inside the 120 s leeway
    lambda c: {**c, "exp": int(time.time()) - 60},
])
def test_it_accepts_tokens_within_the_rules(browser: Browser, provider, acme, change):
    provider.forge_id_token(change)

    assert browser.login(provider, "alice").status_code == 302


def test_it_refuses_alg_none(browser: Browser, provider, acme):
    provider.id_token_rewrite = lambda token: unsigned_token(jwt.decode(token, options={"verify_signature": False}))

    assert_refused(browser, browser.login(provider, "alice"), "id_token_alg")


def test_it_refuses_hs256_signed_with_the_client_secret(browser: Browser, provider, acme):
    provider.id_token_rewrite = lambda token: hs256_token(
        jwt.decode(token, options={"verify_signature": False}), ACME_SECRET.encode()
    )

    assert_refused(browser, browser.login(provider, "alice"), "id_token_alg")


def test_it_refuses_hs256_signed_with_the_public_key_as_hmac_secret(browser: Browser, provider, acme):
    key = provider.add_key("harness-1")
    provider.id_token_rewrite = lambda token: hs256_token(
        jwt.decode(token, options={"verify_signature": False}), key.public_pem(), {"kid": "harness-1"}
    )

    assert_refused(browser, browser.login(provider, "alice"), "id_token_alg")


def test_it_refuses_a_bad_rs256_signature(browser: Browser, provider, acme):
    provider.add_key("harness-1")
    impostor = SigningKey("harness-1")  # same kid as a published key, another private key
    provider.forge_id_token(key=impostor)

    assert_refused(browser, browser.login(provider, "alice"), "id_token_signature")


def test_it_refuses_a_token_signed_by_a_key_the_provider_does_not_publish(browser: Browser, provider, acme):
    provider.forge_id_token(key=SigningKey("unpublished"))

    assert_refused(browser, browser.login(provider, "alice"), "id_token_unknown_kid")


def test_it_refuses_a_tampered_payload(browser: Browser, provider, acme):
    def tamper(token: str) -> str:
        header, _payload, signature = token.split(".")
        other = jwt.encode({"sub": "mallory"}, "k" * 32, algorithm="HS256").split(".")[1]
        return f"{header}.{other}.{signature}"

    provider.id_token_rewrite = tamper

    assert_refused(browser, browser.login(provider, "alice"), "id_token_signature")


@pytest.mark.parametrize("garbage", ["", "not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30"])
def test_it_refuses_a_malformed_id_token(browser: Browser, provider, acme, garbage):
    provider.id_token_rewrite = lambda token: garbage

    response = browser.login(provider, "alice")

    assert response.status_code == 403
    assert LoginEvent.objects.get().reason in {"id_token_missing", "id_token_malformed", "id_token_alg"}
    assert not User.objects.exists()


def test_it_accepts_a_token_without_kid_when_the_provider_has_one_key(browser: Browser, provider, acme):
    provider.hide_provider_keys = True
    provider.forge_id_token(key=provider.add_key(None))

    assert browser.login(provider, "alice").status_code == 302


def test_it_accepts_a_token_without_kid_by_trying_each_of_several_keys(browser: Browser, provider, acme):
    provider.add_key("first")
    signer = provider.add_key("second")
    provider.forge_id_token(key=SigningKey(None, signer.private_key))

    assert browser.login(provider, "alice").status_code == 302


def test_it_refuses_a_token_without_kid_that_no_published_key_verifies(browser: Browser, provider, acme):
    provider.forge_id_token(key=SigningKey(None))

    assert_refused(browser, browser.login(provider, "alice"), "id_token_signature")


def test_userinfo_fills_in_claims_a_thin_id_token_lacks(browser: Browser, provider, acme):
    provider.forge_id_token(_without("email", "name", "given_name", "family_name"))

    assert browser.login(provider, "alice").status_code == 302

    user = User.objects.get()
    assert (user.email, user.name, user.first_name) == ("alice@acme.test", "Alice Tester", "Alice")
    assert provider.hits["/userinfo"] == 1


def test_it_refuses_userinfo_about_another_subject(browser: Browser, provider, acme):
    provider.forge_id_token(_without("email", "name"))
    provider.userinfo_rewrite = lambda info: {**info, "sub": "mallory"}

    assert_refused(browser, browser.login(provider, "alice"), "userinfo_sub_mismatch")


def test_id_token_claims_win_over_userinfo(browser: Browser, provider, acme):
    provider.forge_id_token(_with(email="alice@acme.test", name=None))
    provider.userinfo_rewrite = lambda info: {**info, "email": "mallory@evil.example", "name": "Alice Userinfo"}

    assert browser.login(provider, "alice").status_code == 302

    user = User.objects.get()
    assert (user.email, user.name) == ("alice@acme.test", "Alice Userinfo")
