"""Hostile input at /oidc/global-token-revocation/: whatever arrives, the answer is a 4xx (never a 5xx), and nobody
is signed out unless a valid token names them."""

import json

import pytest
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import test_universal_logout as universal_logout
from tests.oidc_provider import _b64
from tests.test_universal_logout import ENDPOINT, by_email, call, revocation_token, still_signed_in

okta_key, sessions = universal_logout.okta_key, universal_logout.sessions  # the same fixtures

hypothesis_settings = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.fixture(autouse=True)
def _no_rate_limit():
    with override_settings(SSO_RATE_LIMIT="off"):
        yield


def segment(document: object) -> str:
    return _b64(json.dumps(document).encode())


TYPED = {"alg": "RS256", "typ": "global-token-revocation+jwt"}


def unsigned(header: object, claims: object) -> str:
    return f"{segment(header)}.{segment(claims)}.c2ln"


GARBAGE_TOKENS = {
    "empty": "",
    "one-word": "garbage",
    "three-dots": "a.b.c",
    "dots-only": "..",
    "bad-base64": "!!!.???.***",
    "header-not-json": f"{_b64(b'not json')}.{segment({})}.",
    "header-a-list": unsigned([1, 2], {}),
    "claims-a-list": unsigned(TYPED, [1]),
    "nul-in-iss": unsigned(TYPED, {"iss": "http://127.0.0.1\x00", "sub": "inigo-acme"}),
    "nul-in-sub": unsigned(TYPED, {"iss": "http://127.0.0.1", "sub": "inigo-acme\x00"}),
    "nul-in-kid": unsigned({**TYPED, "kid": "a\x00"}, {"iss": "x", "sub": "y"}),
    # JSON's \ud800 escape gives a lone surrogate, which no database text takes (json.dumps writes it escaped).
    "lone-surrogate-in-iss": unsigned(TYPED, {"iss": "https://x\ud800", "sub": "abc"}),
    "lone-surrogate-in-sub": unsigned(TYPED, {"iss": "http://127.0.0.1", "sub": "inigo\udfff"}),
    "iss-an-object": unsigned(TYPED, {"iss": {"a": 1}, "sub": ["y"]}),
    "typ-an-object": unsigned({"alg": "RS256", "typ": {"x": 1}}, {"iss": "x", "sub": "y"}),
    "huge": "a" * 100_000,
    "huge-kid": unsigned({**TYPED, "kid": "k" * 5000}, {"iss": "x", "sub": "y"}),
    "huge-iss": unsigned(TYPED, {"iss": "i" * 5000, "sub": "y"}),
    "non-ascii": "\u00fc.\u00f6.\u00e4",
}


@pytest.mark.parametrize("token", GARBAGE_TOKENS.values(), ids=GARBAGE_TOKENS.keys())
def test_garbage_tokens_answer_401(sessions, token):
    assert call(token, by_email("alice@acme.test")).status_code == 401
    assert still_signed_in(sessions) == ["alice_laptop", "alice_phone", "bob"]


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "bearer", "Token abc", "Bearer a b c", "\x00",
                                    "Bearer \x00\x00"])
def test_odd_authorization_headers_answer_401(sessions, header):
    response = Client().post(ENDPOINT, json.dumps(by_email("alice@acme.test")), content_type="application/json",
                             HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert still_signed_in(sessions) == ["alice_laptop", "alice_phone", "bob"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "application/jwt", ""])
def test_wrong_content_types_with_a_good_token_answer_400(sessions, okta_key, acme, content_type):
    body = json.dumps(by_email("alice@acme.test"))
    assert call(revocation_token(okta_key, acme), body, content_type=content_type).status_code == 400
    assert still_signed_in(sessions) == ["alice_laptop", "alice_phone", "bob"]


def test_json_with_a_charset_is_json(sessions, okta_key, acme):
    body = json.dumps(by_email("alice@acme.test"))
    response = call(revocation_token(okta_key, acme), body, content_type="application/json; charset=utf-8")
    assert response.status_code == 204


def test_a_huge_body_answers_400_without_being_read(sessions, okta_key, acme):
    body = json.dumps({**by_email("alice@acme.test"), "padding": "x" * 3_000_000})
    assert call(revocation_token(okta_key, acme), body).status_code == 400
    assert call("garbage", body).status_code == 401  # and the token still comes first
    assert still_signed_in(sessions) == ["alice_laptop", "alice_phone", "bob"]


def test_a_lying_content_length_answers_400(sessions, okta_key, acme):
    body = json.dumps(by_email("alice@acme.test"))
    assert call(revocation_token(okta_key, acme), body, CONTENT_LENGTH="not a number").status_code == 400


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_other_methods_answer_405(sessions, okta_key, acme, method):
    response = Client().generic(method, ENDPOINT, json.dumps(by_email("alice@acme.test")),
                                content_type="application/json",
                                HTTP_AUTHORIZATION=f"Bearer {revocation_token(okta_key, acme)}")
    assert response.status_code == 405
    assert still_signed_in(sessions) == ["alice_laptop", "alice_phone", "bob"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300),
    json_values.map(json.dumps),
    st.fixed_dictionaries({"sub_id": st.fixed_dictionaries(
        {"format": st.sampled_from(["email", "iss_sub", "phone", ""]),
         "email": json_values, "iss": json_values, "sub": json_values})}).map(json.dumps),
)


@hypothesis_settings
@given(body=bodies, content_type=st.sampled_from(["application/json", "text/plain", ""]))
def test_any_body_with_a_good_token_is_a_4xx_or_204_and_never_a_5xx(sessions, okta_key, acme, body,
                                                                     content_type):
    response = call(revocation_token(okta_key, acme), body, content_type=content_type)
    assert response.status_code in (204, 400, 404)


@hypothesis_settings
@given(header=st.text(max_size=200), token=st.text(max_size=300), body=bodies)
def test_any_authorization_without_the_key_is_401(sessions, header, token, body):
    for value in (header, f"Bearer {token}"):
        response = Client().post(ENDPOINT, body, content_type="application/json", HTTP_AUTHORIZATION=value)
        assert response.status_code == 401


def test_it_needs_no_csrf_token_okta_has_none(sessions, okta_key, acme):
    strict = Client(enforce_csrf_checks=True)
    response = call(revocation_token(okta_key, acme), by_email("alice@acme.test"), client=strict)
    assert response.status_code == 204


def test_a_signed_in_browser_cannot_use_its_cookies_to_sign_anyone_out(sessions):
    alice = sessions["alice_laptop"]
    response = alice.client.post(ENDPOINT, json.dumps(by_email("bob@acme.test")), content_type="application/json")
    assert response.status_code == 401
    assert still_signed_in(sessions) == ["alice_laptop", "alice_phone", "bob"]


def test_nul_bytes_in_what_a_refusal_records_never_make_a_500(sessions, okta_key, acme):
    body = json.dumps({"sub_id": {"format": "email\x00", "email": "alice@acme.test"}})
    assert call(revocation_token(okta_key, acme), body).status_code == 400
    for subject in ({"format": "email", "email": "al\ud800ce@acme.test"},
                    {"format": "iss_sub", "iss": "http://127.0.0.1\ud800", "sub": "alice"}):
        assert call(revocation_token(okta_key, acme), json.dumps({"sub_id": subject})).status_code == 400
    assert Client().get("/oidc/callback/acme/", {"error": "x\x00y", "state": "z"},
                        HTTP_USER_AGENT="agent\x00").status_code < 500
