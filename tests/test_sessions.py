"""Who stays signed in (SPEC): a deactivated person or tenant, or a person whose sessions were ended, is signed out
at their next request, told why, and the ending is a login event; nobody else is touched."""

import pytest
from django.test import Client

from accounts.models import LoginEvent, User
from accounts.services import user_sessions_end
from tenants.models import Tenant
from tests.conftest import Browser
from tests.oidc_provider import ProviderHarness
from tests.test_admin_tenants import support_client


def signed_in(provider: ProviderHarness, sub: str) -> Browser:
    """A browser of its own (own cookies), signed in as `sub`."""
    browser = Browser(Client())
    browser.login(provider, sub)
    assert browser.me().status_code == 200
    return browser


def assert_signed_out(browser: Browser, reason: str) -> None:
    """The page redirects to the login page, whose notice says why; the API answered 401 with the reason."""
    response = browser.client.get("/", follow=True)
    assert response.redirect_chain[0] == ("/login/", 302)
    notice = response.content.decode()
    assert 'data-notice="signed-out"' in notice
    # One notice, and information is not an error: an amber status, not a red alert.
    assert notice.count('class="notice ') == 1
    assert 'class="notice notice-warning" role="status"' in notice
    assert "You were signed out" in notice or "needs a check" in notice
    assert browser.me().status_code == 401


def test_deactivating_a_person_ends_each_of_their_sessions_at_the_next_request(provider, acme):
    alice_laptop, alice_phone, bob = signed_in(provider, "alice"), signed_in(provider, "alice"), signed_in(
        provider, "bob")
    alice = User.objects.get(sub="alice")

    alice.is_active = False
    alice.save()

    api = alice_phone.me()
    assert api.status_code == 401
    assert api.json() == {"error": "signed_out", "reason": "session_user_inactive",
                          "detail": "You were signed out: your Inigo account is switched off"}
    response = alice_laptop.client.get("/", follow=True)
    assert response.redirect_chain == [("/login/", 302)]
    assert "your Inigo account is switched off" in response.content.decode()
    assert bob.me().status_code == 200
    events = LoginEvent.objects.filter(user=alice, outcome=LoginEvent.Outcome.SIGNED_OUT)
    assert sorted(events.values_list("reason", flat=True)) == ["session_user_inactive"] * 2
    assert events.filter(tenant=acme).count() == 2


def test_a_bulk_update_that_switches_a_person_off_ends_their_session_too(provider, acme):
    alice = signed_in(provider, "alice")

    User.objects.filter(sub="alice").update(is_active=False)  # no save(): the request's own check catches it

    assert alice.me().json()["reason"] == "session_user_inactive"


def test_reactivating_a_person_does_not_bring_an_old_session_back(provider, acme):
    alice = signed_in(provider, "alice")
    person = User.objects.get(sub="alice")
    person.is_active = False
    person.save()
    person.is_active = True
    person.save()  # the session slept through the deactivation

    assert alice.me().status_code == 401
    assert LoginEvent.objects.get(outcome=LoginEvent.Outcome.SIGNED_OUT).reason == "session_user_inactive"
    alice.login(provider, "alice")  # a fresh login through Okta works again
    assert alice.me().status_code == 200


def test_switching_a_tenant_off_signs_out_its_people_and_no_one_else(provider, other_provider, acme, globex):
    alice, bob = signed_in(provider, "alice"), signed_in(provider, "bob")
    carol = Browser(Client())
    carol.login(other_provider, "carol", claims={"email": "carol@globex.test", "name": "Carol"})

    acme.is_active = False
    acme.save()

    assert_signed_out(alice, "session_tenant_inactive")
    assert bob.me().json()["reason"] == "session_tenant_inactive"
    assert carol.me().status_code == 200


def test_switching_a_tenant_off_and_on_again_does_not_bring_old_sessions_back(provider, acme):
    alice = signed_in(provider, "alice")
    tenant = Tenant.objects.get(pk=acme.pk)
    tenant.is_active = False
    tenant.save()
    tenant.is_active = True
    tenant.save()

    assert alice.me().json()["reason"] == "session_tenant_inactive"


def test_user_sessions_end_signs_out_every_browser_of_one_person_and_records_why(provider, acme):
    laptop, phone, bob = signed_in(provider, "alice"), signed_in(provider, "alice"), signed_in(provider, "bob")
    alice = User.objects.get(sub="alice")

    user_sessions_end(user=alice, reason="session_revoked")

    ended = LoginEvent.objects.get(reason="session_revoked")
    assert (ended.reason, ended.outcome, ended.user, ended.tenant) == (
        "session_revoked", LoginEvent.Outcome.SIGNED_OUT, alice, acme)
    assert_signed_out(laptop, "session_revoked")
    assert phone.me().json()["reason"] == "session_revoked"
    assert bob.me().status_code == 200
    assert LoginEvent.objects.filter(reason="session_revoked").count() == 3  # the call, then each browser


def test_a_session_ended_twice_is_reported_once(provider, acme):
    alice = signed_in(provider, "alice")
    person = User.objects.get(sub="alice")
    user_sessions_end(user=person, reason="session_revoked")
    user_sessions_end(user=person, reason="universal_logout")

    assert alice.me().json()["reason"] == "universal_logout"  # the latest reason
    assert alice.me().json()["error"] == "not_authenticated"  # the session is gone; no second ending
    assert LoginEvent.objects.filter(detail__startswith="session ended").count() == 1


def test_an_unknown_reason_is_refused(provider, acme):
    signed_in(provider, "alice")
    with pytest.raises(ValueError, match="unknown session end reason"):
        user_sessions_end(user=User.objects.get(sub="alice"), reason="because")


def test_a_new_sign_in_after_the_ending_holds(provider, acme):
    alice = signed_in(provider, "alice")
    user_sessions_end(user=User.objects.get(sub="alice"), reason="session_revoked")
    assert alice.me().status_code == 401

    alice.login(provider, "alice")

    assert alice.me().status_code == 200
    assert alice.me().status_code == 200


def test_a_staff_account_is_signed_out_of_the_admin_too(db):
    support = support_client()
    assert support.get("/admin/").status_code == 200
    staff = User.objects.get(username="sam.support")

    user_sessions_end(user=staff, reason="session_revoked")

    response = support.get("/admin/tenants/tenant/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=%2Fadmin%2Ftenants%2Ftenant%2F"
    assert "Inigo support ended every session" in support.get(response["Location"]).content.decode()
    assert LoginEvent.objects.filter(user=staff, reason="session_revoked").count() == 2


def test_a_deactivated_staff_account_is_signed_out_with_the_reason(db):
    support = support_client()
    staff = User.objects.get(username="sam.support")
    staff.is_active = False
    staff.save()

    assert support.get("/admin/").status_code == 302
    assert LoginEvent.objects.get(user=staff).reason == "session_user_inactive"
    assert support.get("/admin/").status_code == 302  # still out, and recorded once
    assert LoginEvent.objects.filter(user=staff).count() == 1


def test_a_signed_in_request_costs_no_extra_statement(provider, acme, django_assert_num_queries):
    signed_in(provider, "alice")  # the owner; bob is a member, whose home page lists nobody
    bob = signed_in(provider, "bob")
    with django_assert_num_queries(2):  # the session, then the user joined with the tenant
        assert bob.client.get("/api/me/").status_code == 200
    with django_assert_num_queries(3):  # the same two, and the owner the home page names (what the page shows)
        assert bob.client.get("/").status_code == 200


def test_an_ended_session_that_signs_in_again_is_not_greeted_with_the_old_notice(provider, acme):
    alice = signed_in(provider, "alice")
    user_sessions_end(user=User.objects.get(sub="alice"), reason="session_revoked")

    alice.login(provider, "alice")  # straight to the tile: the old session ends on the way, silently

    home = alice.client.get("/")
    assert home.status_code == 200
    assert "You were signed out" not in home.content.decode()
    # A page that passes through to a sign-in keeps no path in the event (a setup link's path is its credential).
    assert LoginEvent.objects.filter(reason="session_revoked", detail="session ended at GET of a sign-in step").exists()


def test_the_login_page_itself_shows_why(provider, acme):
    alice = signed_in(provider, "alice")
    user_sessions_end(user=User.objects.get(sub="alice"), reason="session_revoked")

    page = alice.client.get("/login/")

    assert page.status_code == 200
    assert "Inigo support ended every session of your account" in page.content.decode()
