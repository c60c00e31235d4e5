"""ID token rules beyond the named conformance modules (tests/conformance): more ways to break a rule, the tokens
that must still pass, and garbage in place of a token."""

import time

import jwt
import pytest

from accounts.models import LoginEvent, User
from tests.conftest import Browser, assert_refused, with_claims, without_claims
from tests.oidc_provider import SigningKey

RULES = {
    "iss_missing": (without_claims("iss"), "id_token_missing_claim"),
    "sub_empty": (with_claims(sub=""), "id_token_missing_claim"),
    "sub_not_a_string": (with_claims(sub=12345), "id_token_malformed"),
    "aud_empty_list": (with_claims(aud=[]), "id_token_missing_claim"),
    "exp_not_a_number": (with_claims(exp="tomorrow"), "id_token_malformed"),
    "exp_beyond_the_leeway": (lambda c: {**c, "exp": int(time.time()) - 121}, "id_token_expired"),
    "iat_beyond_the_leeway": (lambda c: {**c, "iat": int(time.time()) + 180}, "id_token_iat_future"),
    "nonce_missing": (without_claims("nonce"), "id_token_nonce"),
    "nonce_not_a_string": (with_claims(nonce=["a"]), "id_token_nonce"),
}


@pytest.mark.parametrize("rule", RULES)
def test_it_refuses_a_token_that_breaks_one_rule(browser: Browser, provider, acme, rule):
    change, reason = RULES[rule]
    provider.forge_id_token(change)

    assert_refused(browser, browser.login(provider, "alice"), reason)


def test_it_accepts_a_re_signed_token_that_breaks_no_rule(browser: Browser, provider, acme):
    """The control for the test above: the same forging path with no change signs in."""
    provider.forge_id_token()

    assert browser.login(provider, "alice").status_code == 302
    assert browser.me().json()["role"] == "owner"


@pytest.mark.parametrize("change", [
    with_claims(azp="inigo-acme"),
    with_claims(aud=["inigo-acme", "other"], azp="inigo-acme"),
    lambda c: {**c, "iat": int(time.time()) + 60},  # clock skew inside the 120 s leeway
    lambda c: {**c, "exp": int(time.time()) - 60},
])
def test_it_accepts_tokens_within_the_rules(browser: Browser, provider, acme, change):
    provider.forge_id_token(change)

    assert browser.login(provider, "alice").status_code == 302


def test_it_refuses_a_token_signed_by_a_key_the_provider_does_not_publish(browser: Browser, provider, acme):
    provider.forge_id_token(key=SigningKey("unpublished"))

    assert_refused(browser, browser.login(provider, "alice"), "id_token_unknown_kid")


def test_it_refuses_a_token_without_kid_that_no_published_key_verifies(browser: Browser, provider, acme):
    provider.forge_id_token(key=SigningKey(None))

    assert_refused(browser, browser.login(provider, "alice"), "id_token_signature")


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


def test_id_token_claims_win_over_userinfo(browser: Browser, provider, acme):
    provider.forge_id_token(with_claims(email="alice@acme.test", name=None))
    provider.userinfo_rewrite = lambda info: {**info, "email": "mallory@evil.example", "name": "Alice Userinfo"}

    assert browser.login(provider, "alice").status_code == 302

    user = User.objects.get()
    assert (user.email, user.name) == ("alice@acme.test", "Alice Userinfo")
    assert provider.hits["/userinfo"] == 1
