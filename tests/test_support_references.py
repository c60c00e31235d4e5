"""A support reference on every failure page: a login event's own (10 characters, unique, in its log line beside
the request id), and for pages without an event one derived from the request id (8 characters)."""

import logging
import re

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client, override_settings

from accounts import roles
from accounts.events import EventKind
from accounts.models import LoginEvent, User
from inigo_sso import references
from inigo_sso.references import ALPHABET, reference_from_request_id
from tests.conftest import profile
from tests.test_logs import json_lines

EVENT_REFERENCE = re.compile(rf"^[{ALPHABET}]{{10}}$")
REQUEST_REFERENCE = re.compile(rf"^[{ALPHABET}]{{8}}$")


def reference_on(page: bytes) -> str:
    match = re.search(rb'class="reference-code">([^<]+)<', page)
    assert match, page[:2000]
    return match.group(1).decode()


def test_the_alphabet_leaves_out_characters_people_confuse():
    assert not set("01ILOUV") & set(ALPHABET)


def test_a_failure_page_prints_its_events_own_reference_and_time(client, provider, acme):
    response = client.get("/oidc/initiate/", {"iss": provider.issuer, "target_link_uri": "https://evil.example/"})

    assert response.status_code == 400
    event = LoginEvent.objects.get()
    assert EVENT_REFERENCE.match(event.reference)
    assert reference_on(response.content) == event.reference
    assert f"{event.created_at:%-d %b %Y, %H:%M:%S} UTC".encode() in response.content


def test_every_event_gets_another_reference(client, db):
    for _ in range(5):
        client.get("/oidc/initiate/", {"iss": "https://unknown.okta.com"})

    assert len(set(LoginEvent.objects.values_list("reference", flat=True))) == 5


def test_the_login_log_line_carries_the_reference_beside_the_request_id(caplog, client, db):
    caplog.set_level(logging.INFO)

    response = client.get("/oidc/initiate/", {"iss": "https://unknown.okta.com"}, HTTP_X_REQUEST_ID="lb-15")

    login, request = json_lines(caplog)
    reference = LoginEvent.objects.get().reference
    assert (login["event"], login["request_id"], login["reference"]) == ("login", "lb-15", reference)
    assert (request["event"], request["request_id"], request["reference"]) == ("request", "lb-15", reference)
    assert reference_on(response.content) == reference


def test_a_clash_of_references_is_drawn_again(client, db, monkeypatch):
    client.get("/oidc/initiate/", {"iss": "https://unknown.okta.com"})
    taken = LoginEvent.objects.get().reference
    drawn = iter([taken, "ZZZZZZZZZZ"])
    monkeypatch.setattr(references, "get_random_string", lambda length, alphabet: next(drawn))

    response = client.get("/oidc/initiate/", {"iss": "https://unknown.okta.com"})

    assert response.status_code == 404
    assert sorted(LoginEvent.objects.values_list("reference", flat=True)) == sorted([taken, "ZZZZZZZZZZ"])


def test_a_404_prints_a_reference_derived_from_the_request_id_and_logs_it(caplog, client, db):
    caplog.set_level(logging.INFO)

    response = client.get("/no/such/page/", HTTP_X_REQUEST_ID="lb-404")

    assert response.status_code == 404
    assert reference_on(response.content) == reference_from_request_id("lb-404")
    assert REQUEST_REFERENCE.match(reference_from_request_id("lb-404"))
    [request] = json_lines(caplog)
    assert (request["request_id"], request["reference"]) == ("lb-404", reference_from_request_id("lb-404"))
    assert not LoginEvent.objects.exists()


def test_an_expired_form_prints_a_reference(db):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/login/", {"email": "alice@acme.test"}, HTTP_X_REQUEST_ID="lb-csrf")

    assert response.status_code == 403
    assert reference_on(response.content) == reference_from_request_id("lb-csrf")


@override_settings(SSO_RATE_LIMIT="1/m")
def test_too_many_requests_prints_a_reference(client, db):
    client.get("/oidc/initiate/", {"iss": "https://unknown.okta.com"})

    response = client.get("/oidc/initiate/", {"iss": "https://unknown.okta.com"}, HTTP_X_REQUEST_ID="lb-429")

    assert response.status_code == 429
    assert reference_on(response.content) == reference_from_request_id("lb-429")


@pytest.mark.parametrize("request_id", ["a", "lb-4711", "0" * 64])
def test_a_request_reference_is_the_same_for_the_same_request_id(request_id):
    assert reference_from_request_id(request_id) == reference_from_request_id(request_id)
    assert reference_from_request_id(request_id) != reference_from_request_id(request_id + "x")


@pytest.mark.parametrize("autocommit", [
    False,  # inside the test's transaction: the sign-in's statements one by one, in a savepoint
    pytest.param(True, marks=pytest.mark.django_db(transaction=True)),  # production's: two messages on PostgreSQL
])
def test_a_sign_in_whose_reference_clashes_is_one_sign_in_with_a_fresh_reference(client, browser, provider, acme,
                                                                               monkeypatch, autocommit):
    """The sign-in's writes are one transaction (accounts.hot_path.SignIn): a clash rolls all of it back and the same
    sign-in goes again, leaving one event, one session, and no row of the session it replaced."""
    in_test_transaction = connection.in_atomic_block  # (tests.production_transactions runs every test without one)
    browser.login(provider, "alice")
    client.logout()
    taken = LoginEvent.objects.get(reason="ok").reference
    provider.set_user("alice", profile("alice"))
    callback = provider.authorize(browser.start("/oidc/initiate/", {"iss": provider.issuer})["Location"], "alice")
    replaced = client.cookies[settings.SESSION_COOKIE_NAME].value
    drawn = iter([taken, "ZZZZZZZZZZ"])
    monkeypatch.setattr(references, "get_random_string", lambda length, alphabet: next(drawn))
    sent: list[str] = []

    def record(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        response = client.get(callback)

    assert response.status_code == 302
    assert browser.me().json()["email"] == "alice@acme.test"
    assert sorted(LoginEvent.objects.filter(reason="ok").values_list("reference", flat=True)) == sorted(
        [taken, "ZZZZZZZZZZ"])
    assert list(Session.objects.values_list("session_key", flat=True)) == [
        client.cookies[settings.SESSION_COOKIE_NAME].value]
    assert replaced != client.cookies[settings.SESSION_COOKIE_NAME].value
    two_messages = not in_test_transaction and connection.vendor == "postgresql"
    assert len([sql for sql in sent if sql.startswith("BEGIN; DELETE")]) == (2 if two_messages else 0)


def test_references_drawn_by_the_batch_are_of_the_alphabet_and_uniform():
    drawn = references.new_references(20_000)
    assert all(len(reference) == references.EVENT_REFERENCE_LENGTH and set(reference) <= set(ALPHABET)
               for reference in drawn)
    assert len(set(drawn)) == len(drawn)
    letters = "".join(drawn)
    expected = len(letters) / len(ALPHABET)  # about 6,900 of each letter; a skewed draw is far off
    assert all(0.9 * expected < letters.count(letter) < 1.1 * expected for letter in ALPHABET)


def test_a_clash_of_references_in_a_batch_of_role_events_is_drawn_again(postgres, acme, monkeypatch):
    grace, alan = (User.objects.create(tenant=acme, username=f"t-{name}", issuer=acme.issuer, sub=name,
                                       email=f"{name}@acme.test", role="member") for name in ("grace", "alan"))
    taken = LoginEvent.objects.create(tenant=acme, outcome="success", reason="ok", kind=EventKind.SIGNIN).reference
    batches = iter([[taken, "ZZZZZZZZZZ"], ["YYYYYYYYYY"]])
    monkeypatch.setattr(roles, "new_references", lambda count: next(batches))

    roles.roles_changed_record(acme.pk, [roles.RoleChanged(grace.pk, "member", "admin"),
                                         roles.RoleChanged(alan.pk, "member", "admin")],
                               roles.Reason(EventKind.CONSOLE, "test"))

    changed = dict(LoginEvent.objects.filter(reason="role_changed").values_list("email", "reference"))
    assert changed == {"grace@acme.test": "YYYYYYYYYY", "alan@acme.test": "ZZZZZZZZZZ"}
