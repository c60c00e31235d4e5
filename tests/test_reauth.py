"""A recent Okta sign-in for every change (SPEC "The customer console", recent sign-in): a POST whose session's Okta
sign-in (auth_time) is too old goes through the tenant's provider with prompt=login and max_age=0 and comes back to the
page it left with nothing changed; the change made again then goes through. A provider that ignores prompt=login
ends on a page that says so and sends nobody round again; an answer for another person changes nothing.

Against the real provider of tests/oidc_provider.py (oidc-provider-mock, which puts the time of each sign-in on its
page in auth_time); the harness rewrites the ID token where a test needs a provider that ignores prompt=login. The
changes are the console's own (`/org/people/<id>/`, action=role and action=transfer), as a browser posts them."""

import time

import pytest
from django.core.cache import cache
from django.test import RequestFactory

from accounts.events import EventKind
from accounts.models import LoginEvent, Role, User
from accounts.oidc.auth_time import AUTH_TIME_KEY, auth_time_claim
from accounts.oidc.reauth import recent_sign_in_required
from accounts.policy import RECENT_SIGN_IN, Action
from activity.health import tenant_health
from tests.conftest import Browser, profile, with_claims, without_claims
from tests.oidc_provider import ProviderHarness, query_of
from tests.test_console_people import person_url
from tests.test_sessions import signed_in

LONG_AGO = 3600  # seconds: well past SSO_RECENT_AUTH_SECONDS (600)


def signed_in_long_ago(browser: Browser, seconds: int = LONG_AGO) -> int:
    """The session's Okta sign-in happened `seconds` ago; returns that auth_time."""
    session = browser.client.session
    session[AUTH_TIME_KEY] = int(time.time()) - seconds
    session.save()
    return session[AUTH_TIME_KEY]


@pytest.fixture
def ada(provider: ProviderHarness, acme) -> Browser:
    """Ada, the owner of Acme (the first to sign in), whose Okta sign-in was an hour ago."""
    browser = signed_in(provider, "ada")
    signed_in_long_ago(browser)
    return browser


@pytest.fixture
def alan(provider: ProviderHarness, ada: Browser) -> User:
    """Alan, a member of Acme who has signed in."""
    signed_in(provider, "alan")
    return User.objects.get(sub="alan")


def make_admin(browser: Browser, person: User):
    return browser.client.post(person_url(person), {"action": "role", "role": "admin"})


def role_of(person: User) -> str:
    return User.objects.values_list("role", flat=True).get(pk=person.pk)


def test_every_sign_in_keeps_the_id_tokens_auth_time(provider, acme):
    before = int(time.time())
    browser = signed_in(provider, "ada")

    kept = browser.client.session[AUTH_TIME_KEY]
    assert before - 5 <= kept <= time.time()


def test_a_stale_sign_ins_change_goes_through_okta_and_comes_back_with_nothing_changed(provider, ada, alan):
    page = person_url(alan)
    to_okta = make_admin(ada, alan)

    assert to_okta.status_code == 302
    assert to_okta["Location"].startswith(provider.issuer + "/oauth2/authorize?")
    authorize = query_of(to_okta["Location"])
    assert (authorize["prompt"], authorize["max_age"], authorize["login_hint"]) == ("login", "0", "ada@acme.test")
    assert authorize["redirect_uri"] == "http://testserver/oidc/callback/acme/"
    assert role_of(alan) == Role.MEMBER  # nothing changed yet

    back = ada.client.get(provider.authorize(to_okta["Location"], "ada"))  # Ada signs in again at Okta

    assert (back.status_code, back["Location"]) == (302, page)  # the page she left
    assert role_of(alan) == Role.MEMBER  # the POST was not replayed
    assert ada.me().json()["email"] == "ada@acme.test"
    assert "Nothing was changed yet: make your change again" in ada.client.get(page).content.decode()
    confirmed = LoginEvent.objects.get(reason="reauth_ok")
    assert (confirmed.kind, confirmed.user.sub) == (EventKind.CONSOLE, "ada")

    again = make_admin(ada, alan)  # the change made again

    assert (again.status_code, again["Location"]) == (302, page)
    assert role_of(alan) == Role.ADMIN
    changed = LoginEvent.objects.get(reason="role_changed")
    assert (changed.kind, changed.user_id, changed.detail) == (
        EventKind.CONSOLE, alan.pk, "member -> admin (set on the console), by ada@acme.test")


def test_a_stale_transfer_goes_through_okta_and_the_repeated_one_moves_the_ownership(provider, ada, alan):
    transfer = {"action": "transfer", "confirm": "yes"}
    to_okta = ada.client.post(person_url(alan), transfer)

    assert query_of(to_okta["Location"])["prompt"] == "login"
    back = ada.client.get(provider.authorize(to_okta["Location"], "ada"))
    assert back["Location"] == person_url(alan)
    assert (role_of(alan), User.objects.get(sub="ada").role) == (Role.MEMBER, Role.OWNER)

    again = ada.client.post(person_url(alan), transfer)

    assert again["Location"] == person_url(alan)
    assert (role_of(alan), User.objects.get(sub="ada").role) == (Role.OWNER, Role.ADMIN)


def test_an_action_the_table_refuses_is_a_403_without_a_round_through_okta(provider, ada, alan):
    grace = signed_in(provider, "grace")
    User.objects.filter(sub="grace").update(role=Role.ADMIN)
    signed_in_long_ago(grace)
    provider.hits.clear()

    refused = grace.client.post(person_url(alan), {"action": "transfer"})  # only the owner transfers

    assert refused.status_code == 403 and b"Only the owner can transfer the ownership" in refused.content
    assert provider.hits == {} and role_of(alan) == Role.MEMBER


def test_a_recent_sign_in_changes_at_once(provider, ada, alan):
    signed_in_long_ago(ada, seconds=60)

    response = make_admin(ada, alan)

    assert response.status_code == 302 and response["Location"] == person_url(alan)
    assert role_of(alan) == Role.ADMIN


def test_a_sign_in_without_auth_time_counts_as_too_old(provider, acme):
    provider.forge_id_token(without_claims("auth_time"))
    ada = signed_in(provider, "ada")
    provider.id_token_rewrite = None
    signed_in(provider, "alan")
    alan = User.objects.get(sub="alan")

    assert AUTH_TIME_KEY not in ada.client.session
    response = make_admin(ada, alan)

    assert response.status_code == 302 and query_of(response["Location"])["prompt"] == "login"
    assert role_of(alan) == Role.MEMBER


def test_a_provider_that_ignores_prompt_login_ends_on_a_page_and_never_loops(provider, ada, alan):
    old = ada.client.session[AUTH_TIME_KEY]
    provider.forge_id_token(with_claims(auth_time=old))  # Okta keeps a federated person's upstream sign-in
    to_okta = make_admin(ada, alan)

    stopped = ada.client.get(provider.authorize(to_okta["Location"], "ada"))

    assert stopped.status_code == 403
    assert "Location" not in stopped
    assert b"Okta did not ask you to sign in again" in stopped.content
    assert f'href="{person_url(alan)}"'.encode() in stopped.content
    assert stopped["Cache-Control"].startswith("max-age=0") and "no-store" in stopped["Cache-Control"]
    assert role_of(alan) == Role.MEMBER
    assert ada.me().json()["email"] == "ada@acme.test"  # still signed in
    authorizations = provider.hits["/oauth2/authorize"]

    again = make_admin(ada, alan)  # the same old sign-in: the page at once, no second round through Okta

    assert again.status_code == 403 and b"Okta did not ask you to sign in again" in again.content
    assert provider.hits["/oauth2/authorize"] == authorizations
    assert role_of(alan) == Role.MEMBER
    assert [e.kind for e in LoginEvent.objects.filter(reason="reauth_stale")] == [EventKind.CONSOLE] * 2


def test_a_new_sign_in_after_the_no_loop_page_may_go_round_again(provider, ada, alan):
    provider.forge_id_token(with_claims(auth_time=ada.client.session[AUTH_TIME_KEY]))
    ada.client.get(provider.authorize(make_admin(ada, alan)["Location"], "ada"))
    provider.id_token_rewrite = None
    ada.login(provider, "ada")  # signed out of Okta and in again: a new auth_time
    signed_in_long_ago(ada, seconds=LONG_AGO // 2)

    assert make_admin(ada, alan).status_code == 302
    assert query_of(make_admin(ada, alan)["Location"])["prompt"] == "login"


def test_a_re_sign_in_as_another_person_changes_nothing_and_keeps_the_session(provider, ada, alan):
    session_key = ada.client.session.session_key
    provider.set_user("mallory", profile("mallory"))
    to_okta = make_admin(ada, alan)

    answered = ada.client.get(provider.authorize(to_okta["Location"], "mallory"))

    assert answered.status_code == 403
    assert b"You signed in to Okta as someone else" in answered.content
    assert role_of(alan) == Role.MEMBER
    assert not User.objects.filter(sub="mallory").exists()
    assert ada.me().json()["email"] == "ada@acme.test"
    assert ada.client.session.session_key == session_key
    event = LoginEvent.objects.get(reason="reauth_other_person")
    assert (event.kind, event.user.sub) == (EventKind.CONSOLE, "ada")
    assert make_admin(ada, alan).status_code == 302  # still too old: round through Okta again, nothing changed
    assert role_of(alan) == Role.MEMBER


def test_okta_unreachable_at_the_start_changes_nothing_and_keeps_the_session(provider, ada, alan):
    provider.discovery_rewrite = lambda document: {**document, "issuer": "https://elsewhere.example"}
    cache.clear()  # the discovery document is read again, and is wrong

    response = make_admin(ada, alan)

    assert response.status_code == 502
    assert b"Change not made" in response.content
    assert role_of(alan) == Role.MEMBER
    assert ada.me().status_code == 200


def test_a_failure_met_during_a_change_is_a_console_event_not_a_failed_sign_in(provider, ada, alan):
    provider.discovery_rewrite = lambda document: {**document, "issuer": "https://elsewhere.example"}
    cache.clear()

    make_admin(ada, alan)

    event = LoginEvent.objects.get(reason="discovery_issuer_mismatch")
    assert event.kind == EventKind.CONSOLE
    assert tenant_health(tenant=event.tenant).failures == 0


def test_a_sign_out_needs_no_recent_sign_in(provider, ada, alan):
    provider.hits.clear()

    response = ada.client.post(person_url(alan), {"action": "sign_out"})

    assert response.status_code == 302 and response["Location"] == person_url(alan)
    assert provider.hits == {}  # not sent through Okta
    assert User.objects.get(pk=alan.pk).session_epoch > alan.session_epoch


def test_a_connection_check_needs_no_recent_sign_in(provider, ada):
    """The overview's `action=check` (a later page of the console) asks the guard, which lets it through."""
    request = RequestFactory().post("/org/", {"action": "check"})
    request.user, request.session = User.objects.get(sub="ada"), ada.client.session

    assert recent_sign_in_required(request, Action.CONNECTION_CHECK) is None
    assert recent_sign_in_required(request, Action.ROLE_CHANGE) is not None


def test_the_policy_marks_every_console_change_but_check_and_sign_out():
    assert {
        Action.CREDENTIALS_ROTATE, Action.SCIM_TOKEN_ISSUE, Action.ROLE_CHANGE, Action.OWNERSHIP_TRANSFER,
        Action.ROLE_SOURCE_CHANGE, Action.EMAIL_DOMAINS_CHANGE,
    } == RECENT_SIGN_IN
    assert Action.CONNECTION_CHECK not in RECENT_SIGN_IN and Action.SIGN_OUT not in RECENT_SIGN_IN


@pytest.mark.parametrize(("claim", "kept"), [
    (1_700_000_000, 1_700_000_000), (1_700_000_000.9, 1_700_000_000), (None, None), ("1700000000", None),
    (True, None), (0, None), (-5, None), (10**12, None),
])
def test_only_a_plausible_auth_time_is_believed(claim, kept):
    assert auth_time_claim({} if claim is None else {"auth_time": claim}) == kept
