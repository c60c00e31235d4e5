"""Bursts against the login endpoints end on a 429 page, per client IP and per tenant."""

import pytest
from django.test import Client, override_settings

from accounts.oidc import ratelimits


@override_settings(SSO_RATE_LIMIT="3/m")
@pytest.mark.parametrize(("method", "path", "data"), [
    ("get", "/oidc/initiate/", {"iss": "https://unknown.okta.com"}),
    ("get", "/oidc/callback/acme/", {"state": "x", "code": "y"}),
    ("post", "/login/", {"email": "jane@unknown.test"}),
    ("get", "/oidc/authenticate/", {"tenant": "nobody"}),
    ("get", "/oidc/callback/", {"state": "x", "code": "y"}),  # the shared callback of earlier releases
    ("post", "/oidc/switch/nobody/", {"next": "/"}),
])
def test_it_answers_429_after_the_per_ip_limit(client, db, method, path, data):
    statuses = [getattr(client, method)(path, data).status_code for _ in range(4)]

    assert statuses[:3] == [statuses[0]] * 3 and statuses[0] != 429
    assert statuses[3] == 429
    page = getattr(client, method)(path, data)
    assert b"Too many sign-in attempts" in page.content


@override_settings(SSO_RATE_LIMIT="3/m")
def test_the_limit_is_per_client_ip(db):
    first, second = Client(REMOTE_ADDR="10.0.0.1"), Client(REMOTE_ADDR="10.0.0.2")
    for _ in range(3):
        first.get("/oidc/initiate/", {"iss": "https://unknown.okta.com"})

    assert first.get("/oidc/initiate/", {"iss": "https://unknown.okta.com"}).status_code == 429
    assert second.get("/oidc/initiate/", {"iss": "https://unknown.okta.com"}).status_code == 404


@override_settings(SSO_RATE_LIMIT="1/m")
def test_the_limit_is_also_per_tenant(db, monkeypatch):
    monkeypatch.setattr(ratelimits, "TENANT_FACTOR", 2)
    statuses = [Client(REMOTE_ADDR=f"10.0.1.{n}").get("/oidc/initiate/acme/").status_code for n in range(3)]

    assert statuses == [404, 404, 429]


@override_settings(SSO_RATE_LIMIT="off")
def test_off_disables_the_limit(client, db):
    statuses = {client.get("/oidc/initiate/", {"iss": "https://unknown.okta.com"}).status_code for _ in range(40)}

    assert statuses == {404}


@override_settings(SSO_RATE_LIMIT="2/m")
def test_showing_the_login_form_is_not_limited(client, db):
    assert {client.get("/login/").status_code for _ in range(5)} == {200}


def test_the_owner_page_reads_the_members_in_one_query(client, browser, provider, acme, django_assert_max_num_queries):
    for sub in ("alice", "bob", "carol", "dave"):
        browser.login(provider, sub)
        client.logout()
    browser.login(provider, "alice")

    with django_assert_max_num_queries(6):
        assert b"dave@acme.test" in client.get("/").content
