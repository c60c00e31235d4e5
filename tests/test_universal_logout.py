"""Okta Universal Logout (SPEC): POST /oidc/global-token-revocation/ with a JWT signed by the tenant's Okta (here the
in-process provider, whose JWKS publishes the harness's keys) ends every session of the person named, and only
theirs; every forged, expired, replayed or cross-tenant call answers 401 and signs nobody out."""

import json
import time
import uuid
from typing import Any

import pytest
from django.test import Client, override_settings

from accounts.models import LoginEvent, RevocationTokenUse, User
from okta.revocation import TOKEN_TYPE
from tenants.models import Tenant
from tests.conftest import ACME_SECRET, Browser, profile
from tests.oidc_provider import ProviderHarness, SigningKey, _b64, hs256_token
from tests.test_sessions import signed_in

ENDPOINT = "/oidc/global-token-revocation/"
AUDIENCE = "http://testserver" + ENDPOINT


def revocation_claims(tenant: Tenant, **changes: Any) -> dict[str, Any]:
    """What Okta puts in the token (REFERENCE.md): nbf and iat five minutes ago, exp five minutes ahead."""
    now = int(time.time())
    claims = {"iss": tenant.issuer, "sub": tenant.client_id, "aud": AUDIENCE, "iat": now - 60, "nbf": now - 60,
              "exp": now + 240, "jti": uuid.uuid4().hex}
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def revocation_token(key: SigningKey, tenant: Tenant, *, headers: dict[str, Any] | None = None,
                     **changes: Any) -> str:
    return key.sign(revocation_claims(tenant, **changes), {"typ": TOKEN_TYPE, **(headers or {})})


def by_email(email: str, key: str = "sub_id") -> dict[str, Any]:
    return {key: {"format": "email", "email": email}}


def call(token: str | None, body: Any, *, content_type: str = "application/json", client: Client | None = None,
         **extra: Any):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return (client or Client()).post(ENDPOINT, data, content_type=content_type, **headers, **extra)


@pytest.fixture
def okta_key(provider: ProviderHarness) -> SigningKey:
    """A key the tenant's provider publishes in its JWKS, as Okta signs these tokens with its ID-token keys."""
    return provider.add_key("okta-1")


@pytest.fixture
def sessions(provider, acme, okta_key) -> dict[str, Browser]:
    """Alice signed in in two browsers, Bob (same tenant) in one."""
    return {"alice_laptop": signed_in(provider, "alice"), "alice_phone": signed_in(provider, "alice"),
            "bob": signed_in(provider, "bob")}


def still_signed_in(sessions: dict[str, Browser]) -> list[str]:
    return [name for name, browser in sessions.items() if browser.me().status_code == 200]


def test_one_call_signs_a_person_out_of_both_browsers_and_no_one_else(sessions, okta_key, acme):
    response = call(revocation_token(okta_key, acme), by_email("alice@acme.test"))

    assert response.status_code == 204
    assert response.content == b""
    assert sessions["alice_phone"].me().json()["reason"] == "universal_logout"
    assert still_signed_in(sessions) == ["bob"]
    event = LoginEvent.objects.get(reason="universal_logout", detail__startswith="Okta")
    assert (event.user.sub, event.tenant, event.outcome) == ("alice", acme, LoginEvent.Outcome.SIGNED_OUT)
    assert event.detail == "Okta Universal Logout, format email"


def test_the_next_page_says_okta_signed_the_person_out(sessions, okta_key, acme):
    assert call(revocation_token(okta_key, acme), by_email("alice@acme.test")).status_code == 204

    page = sessions["alice_laptop"].client.get("/", follow=True)

    assert page.redirect_chain == [("/login/", 302)]
    assert "You were signed out by your organisation&#x27;s Okta" in page.content.decode()
    assert LoginEvent.objects.filter(reason="universal_logout", detail="session ended at GET /").count() == 1


@pytest.mark.parametrize("body", [
    {"sub_id": {"format": "iss_sub", "iss": "ISSUER", "sub": "alice"}},
    {"subject": {"format": "iss_sub", "iss": "ISSUER", "sub": "alice"}},  # Okta's guide's spelling
    by_email("ALICE@Acme.Test"),  # case-insensitive
    by_email("alice@acme.test", key="subject"),
], ids=["iss_sub", "subject-key", "email-case", "email-subject-key"])
def test_each_format_and_spelling_names_the_person(sessions, okta_key, acme, body):
    body = json.loads(json.dumps(body).replace("ISSUER", acme.issuer))

    assert call(revocation_token(okta_key, acme), body).status_code == 204
    assert still_signed_in(sessions) == ["bob"]


def test_a_staff_account_is_never_named(sessions, okta_key, acme):
    User.objects.create_user(username="staff", email="alice@acme.test", password="correct horse battery", is_staff=True)

    assert call(revocation_token(okta_key, acme), by_email("alice@acme.test")).status_code == 204
    assert LoginEvent.objects.filter(reason="universal_logout", detail__startswith="Okta").count() == 1


# --- 401: forged, expired, replayed, cross-tenant ----------------------------------------------------------------
def _unsigned(tenant: Tenant) -> str:
    header = {"alg": "none", "typ": TOKEN_TYPE, "kid": "okta-1"}
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(revocation_claims(tenant)).encode())}."


FORGERIES = {
    "alg-none": lambda key, tenant, other: _unsigned(tenant),
    "hs256-with-client-secret": lambda key, tenant, other: hs256_token(
        revocation_claims(tenant), ACME_SECRET.encode(), {"typ": TOKEN_TYPE, "kid": "okta-1"}),
    "hs256-with-public-key": lambda key, tenant, other: hs256_token(
        revocation_claims(tenant), key.public_pem(), {"typ": TOKEN_TYPE, "kid": "okta-1"}),
    "key-outside-the-jwks": lambda key, tenant, other: revocation_token(SigningKey("okta-1"), tenant),
    "key-outside-the-jwks-unknown-kid": lambda key, tenant, other: revocation_token(SigningKey("stranger"), tenant),
    "key-outside-the-jwks-no-kid": lambda key, tenant, other: revocation_token(SigningKey(None), tenant),
    # Globex's provider publishes this key; with Acme's iss it must still not act on Acme.
    "other-tenants-key-with-this-iss": lambda key, tenant, other: revocation_token(other, tenant),
    "wrong-aud": lambda key, tenant, other: revocation_token(key, tenant, aud="https://evil.example" + ENDPOINT),
    "aud-without-trailing-slash": lambda key, tenant, other: revocation_token(key, tenant, aud=AUDIENCE[:-1]),
    "aud-as-a-list": lambda key, tenant, other: revocation_token(key, tenant, aud=[AUDIENCE, "x"]),
    "wrong-sub": lambda key, tenant, other: revocation_token(key, tenant, sub="inigo-globex"),
    "unknown-sub": lambda key, tenant, other: revocation_token(key, tenant, sub="0oa-somebody-else"),
    "wrong-iss": lambda key, tenant, other: revocation_token(key, tenant, iss="https://evil.example"),
    "expired": lambda key, tenant, other: revocation_token(
        key, tenant, iat=int(time.time()) - 900, nbf=int(time.time()) - 900, exp=int(time.time()) - 300),
    "not-yet-valid-nbf": lambda key, tenant, other: revocation_token(
        key, tenant, nbf=int(time.time()) + 300, exp=int(time.time()) + 400),
    "issued-in-the-future": lambda key, tenant, other: revocation_token(
        key, tenant, iat=int(time.time()) + 300, exp=int(time.time()) + 400),
    "lives-longer-than-ten-minutes": lambda key, tenant, other: revocation_token(
        key, tenant, iat=int(time.time()) - 60, exp=int(time.time()) + 600),
    "no-exp": lambda key, tenant, other: revocation_token(key, tenant, exp=None),
    "no-iat": lambda key, tenant, other: revocation_token(key, tenant, iat=None),
    "no-jti": lambda key, tenant, other: revocation_token(key, tenant, jti=None),
    "jti-not-a-string": lambda key, tenant, other: revocation_token(key, tenant, jti=12345),
    "wrong-typ": lambda key, tenant, other: revocation_token(key, tenant, headers={"typ": "JWT"}),
    "id-token-typ": lambda key, tenant, other: revocation_token(key, tenant, headers={"typ": "id_token+jwt"}),
    "no-typ": lambda key, tenant, other: key.sign(revocation_claims(tenant)),
    "rs512": lambda key, tenant, other: __import__("jwt").encode(
        revocation_claims(tenant), key.private_key, algorithm="RS512", headers={"typ": TOKEN_TYPE, "kid": "okta-1"}),
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_each_forged_token_answers_401_and_signs_nobody_out(sessions, okta_key, other_provider, globex, acme, forge):
    other_key = other_provider.add_key("okta-1")  # the same kid, on the other tenant's provider
    token = forge(okta_key, acme, other_key)

    response = call(token, by_email("alice@acme.test"))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert still_signed_in(sessions) == ["alice_laptop", "alice_phone", "bob"]
    event = LoginEvent.objects.get(reason="universal_logout_unauthorized")
    assert event.outcome == LoginEvent.Outcome.FAILURE
    assert token not in event.detail


def test_a_replayed_jti_answers_401_and_signs_nobody_out(sessions, okta_key, acme):
    token = revocation_token(okta_key, acme)
    assert call(token, by_email("bob@acme.test")).status_code == 204
    assert call(token, by_email("alice@acme.test")).status_code == 401  # the same token, another person

    fresh_token_same_jti = revocation_token(okta_key, acme, jti=json.loads(
        __import__("base64").urlsafe_b64decode(token.split(".")[1] + "==")
    )["jti"])
    assert call(fresh_token_same_jti, by_email("alice@acme.test")).status_code == 401

    assert still_signed_in(sessions) == ["alice_laptop", "alice_phone"]
    assert "replay" in LoginEvent.objects.filter(reason="universal_logout_unauthorized").first().detail


def test_used_jtis_are_pruned_once_expired(sessions, okta_key, acme):
    assert call(revocation_token(okta_key, acme), by_email("nobody@acme.test")).status_code == 404
    RevocationTokenUse.objects.update(expires_at="2000-01-01T00:00:00Z")

    assert call(revocation_token(okta_key, acme), by_email("nobody@acme.test")).status_code == 404

    assert RevocationTokenUse.objects.count() == 1


def test_an_inactive_tenant_answers_401(sessions, okta_key, acme):
    Tenant.objects.filter(pk=acme.pk).update(is_active=False)

    assert call(revocation_token(okta_key, acme), by_email("alice@acme.test")).status_code == 401
    assert LoginEvent.objects.get(reason="universal_logout_unauthorized").detail == "the tenant is not active"


def test_a_missing_or_other_authorization_answers_401(sessions, okta_key, acme):
    assert call(None, by_email("alice@acme.test")).status_code == 401
    assert Client().post(ENDPOINT, "{}", content_type="application/json",
                         HTTP_AUTHORIZATION="Basic " + revocation_token(okta_key, acme)).status_code == 401
    assert still_signed_in(sessions) == ["alice_laptop", "alice_phone", "bob"]


def test_a_key_okta_rotated_in_is_fetched_once_and_accepted(sessions, provider, acme):
    rotated = provider.add_key("okta-2")  # published after the keys were cached at sign-in
    provider.hits.clear()

    assert call(revocation_token(rotated, acme), by_email("alice@acme.test")).status_code == 204
    assert provider.hits["/jwks"] == 1


# --- the other tenant ----------------------------------------------------------------------------------------------
def test_a_token_of_another_tenant_never_acts_on_this_tenants_people(sessions, other_provider, globex, acme):
    globex_key = other_provider.add_key("globex-1")
    carol = Browser(Client())
    carol.login(other_provider, "carol", claims=profile("carol", "globex.test"))

    # Globex's Okta names an Acme person: nobody of Globex has that email.
    assert call(revocation_token(globex_key, globex), by_email("alice@acme.test")).status_code == 404
    assert call(revocation_token(globex_key, globex),
                {"sub_id": {"format": "iss_sub", "iss": acme.issuer, "sub": "alice"}}).status_code == 404
    assert still_signed_in(sessions) == ["alice_laptop", "alice_phone", "bob"]

    assert call(revocation_token(globex_key, globex), by_email("carol@globex.test")).status_code == 204
    assert carol.me().status_code == 401
    assert still_signed_in(sessions) == ["alice_laptop", "alice_phone", "bob"]


# --- 400 and 404, after the token --------------------------------------------------------------------------------
MALFORMED = {
    "not-json": "{sub_id:",
    "a-list": "[]",
    "no-identifier": "{}",
    "identifier-not-an-object": '{"sub_id": "alice@acme.test"}',
    "unknown-format": '{"sub_id": {"format": "phone_number", "phone_number": "+1"}}',
    "no-format": '{"sub_id": {"email": "alice@acme.test"}}',
    "email-missing": '{"sub_id": {"format": "email"}}',
    "email-not-a-string": '{"sub_id": {"format": "email", "email": ["alice@acme.test"]}}',
    "email-without-at": '{"sub_id": {"format": "email", "email": "alice"}}',
    "iss-sub-without-sub": '{"sub_id": {"format": "iss_sub", "iss": "x"}}',
    "nul-in-email": '{"sub_id": {"format": "email", "email": "alice\\u0000@acme.test"}}',
    "nul-in-sub": '{"sub_id": {"format": "iss_sub", "iss": "x", "sub": "ali\\u0000ce"}}',
    "too-long-email": json.dumps(by_email("a" * 300 + "@acme.test")),
    "not-utf8": b'{"sub_id": {"format": "email", "email": "\xff\xfe@acme.test"}}',
    "deeply-nested": "[" * 5000 + "]" * 5000,
    "huge-number": '{"sub_id": {"format": "email", "email": 1' + "0" * 5000 + "}}",
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_body_with_a_good_token_answers_400(sessions, okta_key, acme, body):
    assert call(revocation_token(okta_key, acme), body).status_code == 400
    assert still_signed_in(sessions) == ["alice_laptop", "alice_phone", "bob"]
    assert LoginEvent.objects.get(reason="universal_logout_malformed").tenant == acme


def test_the_token_is_checked_before_the_body(sessions, okta_key, acme):
    assert call(revocation_token(okta_key, acme, aud="x"), "{not json").status_code == 401


def test_an_unknown_person_answers_404(sessions, okta_key, acme):
    assert call(revocation_token(okta_key, acme), by_email("nobody@acme.test")).status_code == 404
    assert call(revocation_token(okta_key, acme),
                {"sub_id": {"format": "iss_sub", "iss": acme.issuer, "sub": "nobody"}}).status_code == 404
    assert call(revocation_token(okta_key, acme),  # alice's sub, but under another issuer
                {"sub_id": {"format": "iss_sub", "iss": "https://evil.example", "sub": "alice"}}).status_code == 404
    events = LoginEvent.objects.filter(reason="universal_logout_unknown_user")
    assert sorted(events.values_list("detail", flat=True)) == [
        "format email: the tenant has no such person", "format iss_sub: the tenant has no such person",
        "format iss_sub: the tenant has no such person"]
    assert still_signed_in(sessions) == ["alice_laptop", "alice_phone", "bob"]


# --- rate limit ----------------------------------------------------------------------------------------------------
def test_refused_calls_are_rate_limited_per_address_and_good_ones_are_not_counted(sessions, okta_key, acme):
    with override_settings(SSO_RATE_LIMIT="3/m"):
        for _ in range(5):
            assert call(revocation_token(okta_key, acme), by_email("nobody@acme.test")).status_code == 404
        for _ in range(4):
            assert call("garbage", by_email("alice@acme.test")).status_code == 401
        assert call(revocation_token(okta_key, acme), by_email("alice@acme.test")).status_code == 429
        other_address = call(revocation_token(okta_key, acme), by_email("alice@acme.test"), REMOTE_ADDR="10.9.9.9")
        assert other_address.status_code == 204


@pytest.mark.django_db(transaction=True)
def test_one_token_posted_to_two_servers_at_once_is_accepted_once(postgres, provider, acme, okta_key):
    """Each thread plays an app server with its own database connection: the unique jti decides between them."""
    import threading

    from django.db import connection

    User.objects.create(username="acme-alice", tenant=acme, issuer=acme.issuer, sub="alice",
                        email="alice@acme.test", role="owner")
    token = revocation_token(okta_key, acme)
    call(revocation_token(okta_key, acme), by_email("nobody@acme.test"))  # keys cached, as on a warm server
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def post() -> None:
        try:
            barrier.wait(timeout=10)
            statuses.append(call(token, by_email("alice@acme.test")).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(statuses) == [204, 401, 401, 401]
    assert RevocationTokenUse.objects.count() == 2
