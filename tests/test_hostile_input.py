"""Arbitrary, very long, repeated and missing parameters and odd methods at the login endpoints: never a 500 and
never a redirect off-site (the only site a login may leave for is its tenant's provider)."""

from urllib.parse import urlencode

import pytest
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import profile

ENDPOINTS = ["/oidc/initiate/", "/oidc/initiate/acme/", "/oidc/callback/", "/oidc/callback/acme/", "/login/",
             "/oidc/authenticate/", "/oidc/switch/acme/"]
NAMES = ["iss", "login_hint", "target_link_uri", "state", "code", "error", "error_description", "email", "tenant",
         "next", "session_state"]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]

values = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=5000),
    st.sampled_from(["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)", "\x00",
                     "http://127.0.0.1:1/", "acme.okta.com", "@acme.test", "a@b", "%00", "../../admin/"]),
)
params = st.lists(st.tuples(st.sampled_from(NAMES), values), max_size=8)  # repeats and absences included

hypothesis_settings = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def assert_safe(response, provider_issuer: str) -> None:
    assert response.status_code < 500
    location = response.get("Location")
    if location is not None:
        on_site = location.startswith("/") and not location.startswith(("//", "/\\"))
        to_provider = location.startswith(provider_issuer + "/oauth2/authorize?")
        assert on_site or to_provider, location


@pytest.fixture
def hostile_client(acme, provider):
    with override_settings(SSO_RATE_LIMIT="off"):
        yield Client()


@hypothesis_settings
@given(endpoint=st.sampled_from(ENDPOINTS), method=st.sampled_from(METHODS), query=params, body=params)
def test_no_input_makes_a_500_or_an_off_site_redirect(hostile_client, provider, endpoint, method, query, body):
    path = f"{endpoint}?{urlencode(query)}" if query else endpoint
    response = hostile_client.generic(
        method, path, urlencode(body), content_type="application/x-www-form-urlencoded"
    )

    assert_safe(response, provider.issuer)


@hypothesis_settings
@given(query=params)
def test_callbacks_with_a_real_state_and_hostile_parameters_fail_safely(hostile_client, provider, query):
    started = hostile_client.get("/oidc/initiate/", {"iss": provider.issuer})
    state = started["Location"].split("state=")[1].split("&")[0]

    response = hostile_client.get("/oidc/callback/acme/?" + urlencode([("state", state), *query]))

    assert_safe(response, provider.issuer)
    assert hostile_client.get("/api/me/").status_code == 401


SETUP_FIELDS = ["okta_domain", "client_id", "client_secret", "csrfmiddlewaretoken"]


@pytest.fixture
def setup_path(db, provider):
    from tenants.setup import setup_link_create, tenant_awaiting_create

    tenant = tenant_awaiting_create(slug="newco", name="NewCo")
    return f"/setup/{setup_link_create(tenant=tenant).token}/"


@hypothesis_settings
@given(method=st.sampled_from(METHODS), body=st.lists(st.tuples(st.sampled_from(SETUP_FIELDS), values), max_size=8),
       token=st.one_of(st.none(), st.text(max_size=80)))
def test_the_setup_page_never_answers_500_or_redirects(hostile_client, provider, setup_path, method, body, token):
    from urllib.parse import quote

    path = setup_path if token is None else f"/setup/{quote(token, safe='')}/"
    response = hostile_client.generic(method, path, urlencode(body), content_type="application/x-www-form-urlencoded")

    assert response.status_code < 500
    assert "Location" not in response
    assert response.status_code in (200, 400, 404, 405, 410), response.status_code


def test_a_nul_byte_in_a_providers_error_is_refused_at_the_door(hostile_client, provider):
    """PostgreSQL refuses NUL in text columns: a callback carrying one is answered 400 before any view reads it
    (inigo_sso.middleware), so nothing reaches the database (the token endpoint's JSON is cleaned where stored)."""
    from accounts.models import LoginEvent

    started = hostile_client.get("/oidc/initiate/", {"iss": provider.issuer})
    state = started["Location"].split("state=")[1].split("&")[0]

    response = hostile_client.get("/oidc/callback/acme/?" + urlencode(
        {"state": state, "error": "access\x00denied", "error_description": "x\x00y"}))

    assert response.status_code == 400
    assert b"held a character Inigo does not accept" in response.content
    assert not LoginEvent.objects.exists()


@hypothesis_settings
@given(endpoint=st.sampled_from(["/oidc/initiate/acme/", "/oidc/authenticate/?tenant=acme"]),
       method=st.sampled_from(METHODS), query=params, body=params)
def test_the_page_that_asks_before_a_switch_never_answers_500_and_never_switches(
    client, browser, other_provider, globex, provider, acme, endpoint, method, query, body
):
    """Gina is signed in to Globex; whatever comes with a link to Acme's sign-in, she stays herself."""
    if browser.me().status_code != 200:
        browser.login(other_provider, "gina", claims=profile("gina", domain="globex.test"))
    separator = "&" if "?" in endpoint else "?"
    path = f"{endpoint}{separator}{urlencode(query)}" if query else endpoint
    with override_settings(SSO_RATE_LIMIT="off"):
        response = client.generic(method, path, urlencode(body), content_type="application/x-www-form-urlencoded")

    assert_safe(response, provider.issuer)
    assert browser.me().json()["email"] == "gina@globex.test"
