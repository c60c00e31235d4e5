"""Re-check with Okta (SPEC, "Who stays signed in"): when due, a page navigation goes through the tenant's authorize
endpoint with prompt=none and comes back without a page; a code for the same person keeps the session, anything
else ends it. JSON is never redirected."""

import time

import pytest
from django.test import Client

from accounts.models import LoginEvent, User
from accounts.sessions import CHECKED_AT_KEY
from tenants.models import Tenant
from tests.conftest import Browser, profile
from tests.oidc_provider import ProviderHarness, query_of
from tests.test_sessions import signed_in

MINUTES = 5


@pytest.fixture
def rechecked(acme: Tenant) -> Tenant:
    Tenant.objects.filter(pk=acme.pk).update(session_recheck_minutes=MINUTES)
    return acme


def last_checked(browser: Browser, minutes_ago: float) -> None:
    session = browser.client.session
    session[CHECKED_AT_KEY] = time.time() - minutes_ago * 60
    session.save()


def due(provider: ProviderHarness, rechecked: Tenant, sub: str = "alice") -> Browser:
    browser = signed_in(provider, sub)
    last_checked(browser, MINUTES + 1)
    return browser


def test_a_due_page_navigation_goes_through_okta_with_prompt_none_and_the_id_token(provider, rechecked):
    alice = due(provider, rechecked)
    id_token = provider.issued[-1]

    response = alice.client.get("/members/?x=1")

    assert response.status_code == 302
    authorize = query_of(response["Location"])
    assert response["Location"].startswith(provider.issuer + "/oauth2/authorize?")
    assert authorize["prompt"] == "none"
    assert authorize["id_token_hint"] == id_token
    assert authorize["redirect_uri"] == "http://testserver/oidc/callback/acme/"
    assert {"state", "nonce", "code_challenge"} <= authorize.keys()


def test_a_code_for_the_same_person_keeps_the_session_without_a_visible_page(provider, rechecked):
    alice = due(provider, rechecked)
    session_key = alice.client.session.session_key
    logins = LoginEvent.objects.count()

    to_okta = alice.client.get("/?tab=members")
    back = provider.authorize_silently(to_okta["Location"])  # Okta answers at once: no page
    assert back.startswith("http://testserver/oidc/callback/acme/?code=")
    landed = alice.client.get(back)

    assert landed.status_code == 302
    assert landed["Location"] == "/?tab=members"  # back where the person was going
    home = alice.client.get("/")
    assert home.status_code == 200  # checked: no second trip to Okta
    assert alice.me().json()["email"] == "alice@acme.test"
    assert alice.client.session.session_key == session_key  # the same session, not a new sign-in
    assert LoginEvent.objects.count() == logins
    assert [request["prompt"] for request in provider.authorize_requests] == ["none"]  # no sign-in page shown


def test_a_recheck_that_is_not_due_does_nothing(provider, rechecked):
    alice = signed_in(provider, "alice")
    last_checked(alice, MINUTES - 1)

    assert alice.client.get("/").status_code == 200


def test_the_recheck_is_off_by_default(provider, acme):
    alice = signed_in(provider, "alice")
    last_checked(alice, 600)

    assert alice.client.get("/").status_code == 200


@pytest.mark.parametrize(("error", "description"), [
    ("login_required", "The user is not logged in."),
    ("access_denied", "User is not assigned to the client application."),
    ("interaction_required", "Interaction required."),
])
def test_an_error_from_okta_ends_the_session_with_the_notice(provider, rechecked, error, description):
    alice = due(provider, rechecked)
    bob = signed_in(provider, "bob")
    provider.prompt_none_error = (error, description)

    back = provider.authorize_silently(alice.client.get("/")["Location"])
    landed = alice.client.get(back, follow=True)

    assert landed.redirect_chain == [("/login/", 302)]
    assert "Okta no longer signs you in" in landed.content.decode()
    assert alice.me().status_code == 401
    assert bob.me().status_code == 200
    event = LoginEvent.objects.get(reason="session_recheck_failed")
    assert (event.user.sub, event.outcome) == ("alice", LoginEvent.Outcome.SIGNED_OUT)
    assert error in event.detail


def test_without_a_session_at_okta_login_required_ends_the_session(provider, rechecked):
    alice = due(provider, rechecked)
    provider.signed_in_sub = None  # signed out of Okta in this browser

    back = provider.authorize_silently(alice.client.get("/")["Location"])
    assert "error=login_required" in back
    alice.client.get(back)

    assert alice.me().status_code == 401
    assert "login_required" in LoginEvent.objects.get(reason="session_recheck_failed").detail


def test_another_person_at_okta_ends_the_session_and_does_not_take_it_over(provider, rechecked):
    alice = due(provider, rechecked)
    provider.set_user("mallory", profile("mallory"))
    provider.signed_in_sub = "mallory"  # someone else signed in to Okta in this browser

    back = provider.authorize_silently(alice.client.get("/")["Location"])
    assert "code=" in back
    alice.client.get(back)

    assert alice.me().status_code == 401
    assert not User.objects.filter(sub="mallory").exists()
    assert "another person" in LoginEvent.objects.get(reason="session_recheck_failed").detail


def test_json_is_never_redirected_and_answers_401_once_overdue_by_more_than_the_period(provider, rechecked):
    alice = due(provider, rechecked)
    assert alice.me().status_code == 200  # due, not yet overdue by N minutes
    assert alice.client.get("/", HTTP_X_REQUESTED_WITH="XMLHttpRequest").status_code == 200

    last_checked(alice, 2 * MINUTES + 1)
    overdue = alice.me()
    assert overdue.status_code == 401
    assert overdue.json()["error"] == "recheck_overdue"
    assert alice.client.get("/", HTTP_ACCEPT="application/json").status_code == 401

    # Headers are the client's to choose: a script's fetch of a page, or a POST, is no way around the check.
    assert alice.client.get("/", HTTP_SEC_FETCH_MODE="cors", HTTP_ACCEPT="text/html").status_code == 401
    assert alice.client.post("/", {"x": "1"}).status_code == 401

    back = provider.authorize_silently(alice.client.get("/")["Location"])  # the next page runs the check
    alice.client.get(back)
    assert alice.me().status_code == 200


def test_a_post_that_falls_due_is_served_and_the_check_waits_for_the_next_get(provider, rechecked):
    alice = due(provider, rechecked)
    alice.client.cookies.load({"csrftoken": "x" * 32})

    served = alice.client.post("/", {})  # the home page answers POST with 405: served, not sent to Okta
    assert served.status_code == 405
    not_navigation = alice.client.get("/", HTTP_SEC_FETCH_MODE="cors", HTTP_SEC_FETCH_DEST="empty")
    assert not_navigation.status_code == 200

    assert alice.client.get("/", HTTP_SEC_FETCH_MODE="navigate", HTTP_SEC_FETCH_DEST="document").status_code == 302


def test_a_recheck_answer_in_another_browser_changes_nothing(provider, rechecked):
    alice = due(provider, rechecked)
    back = provider.authorize_silently(alice.client.get("/")["Location"])
    stranger = Client()

    response = stranger.get(back)

    assert response.status_code == 400  # no such state in that browser
    assert stranger.get("/api/me/").status_code == 401
    assert alice.me().status_code == 200


def test_a_recheck_costs_no_statement_while_not_due(provider, rechecked, django_assert_num_queries):
    signed_in(provider, "alice")
    bob = signed_in(provider, "bob")
    last_checked(bob, 1)
    with django_assert_num_queries(2):
        assert bob.client.get("/api/me/").status_code == 200


@pytest.mark.parametrize(("path", "expected"), [
    ("/members/?tab=1", "/members/?tab=1"), ("//evil.example/x", "/"),
    ("/\\evil.example", "/%5Cevil.example"),  # escaped: a path here, never a host
])
def test_the_page_to_return_to_is_a_path_on_this_site(rf, path, expected):
    from accounts.oidc.recheck import return_path

    request = rf.get("/")
    request.path = request.path_info = path.split("?")[0]
    request.META["QUERY_STRING"] = path.partition("?")[2]

    assert return_path(request) == expected


def test_a_due_re_check_never_takes_a_setup_link_along_to_okta(provider, rechecked):
    alice = due(provider, rechecked)

    response = alice.client.get("/setup/" + "A" * 43 + "/")

    # Not sent through Okta: the path holds a setup token, which the re-check would keep in the session.
    assert response.status_code == 404
    assert not any("/setup/" in str(value) for value in alice.client.session.values())
