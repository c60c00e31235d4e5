"""An admin that fits support staff: staff accounts and people from Okta told apart, people named by name and email
(never the internal user name), a "View site" page for staff, Axes and Groups for superusers only, one date
format; and the home page that names the owner, with the members list for admins too."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from accounts.models import LoginEvent, Role, User
from tests.conftest import Browser
from tests.test_admin_tenants import change_url, page_text, support_client, support_group
from tests.test_admin_users import USERS_URL, person


@pytest.fixture
def support(db):
    return support_client()


def test_the_user_list_tells_staff_and_people_from_okta_apart(support, acme):
    alice = person(acme, "alice", Role.OWNER)

    page = page_text(support.get(USERS_URL))

    assert "From Okta" in page and "Staff" in page
    assert alice.username not in page
    assert "Alice" in page and "alice@acme.test" in page
    okta_only = support.get(USERS_URL, {"kind": "okta"}).context["cl"].result_list
    assert [user.sub for user in okta_only] == ["alice"]


def test_a_person_from_okta_is_shown_by_name_and_email_never_the_internal_username(support, acme):
    alice = person(acme, "alice", Role.OWNER)
    User.objects.filter(pk=alice.pk).update(username="t1-f96db9a1b2c3d4e5f60718293a4b5c6d")
    alice.refresh_from_db()

    page = page_text(support.get(change_url(alice)))

    assert "t1-f96db9" not in page
    assert 'name="username"' not in page
    assert "alice@acme.test" in page
    assert str(alice) == "alice@acme.test"


def test_a_person_from_okta_without_email_or_name_is_named_by_subject(acme):
    nameless = User(username="t1-abc", tenant=acme, issuer=acme.issuer, sub="00u42", role=Role.MEMBER)

    assert str(nameless) == nameless.display_name == "sub 00u42"


def test_someone_signed_in_through_okta_meets_the_admin_login_by_name_not_username(client, browser: Browser,
                                                                                   provider, acme):
    browser.login(provider, "alice")
    username = User.objects.get(sub="alice").username

    page = page_text(client.get("/admin/login/"))

    assert username not in page
    assert "Alice Tester" in page and "alice@acme.test" in page
    assert "for Inigo support staff only" in page


def test_the_admin_names_the_staff_member_not_their_username(support):
    staff = User.objects.get(username="sam.support")
    staff.first_name, staff.last_name = "Sam", "Support"
    staff.save()

    page = page_text(support.get("/admin/"))

    assert "Signed in as <strong>Sam Support</strong> (staff)" in page


def test_view_site_tells_staff_they_have_no_organisation(support):
    response = support.get("/")

    assert response.status_code == 200
    page = page_text(response)
    assert "Staff accounts have no organisation" in page
    assert 'href="/admin/"' in page


@pytest.mark.parametrize("codename", ["view_group", "view_accessattempt", "view_accesslog"])
def test_support_staff_never_see_axes_or_groups_even_if_given_the_permission(support, codename):
    support_group().permissions.add(Permission.objects.get(codename=codename))

    index = page_text(support.get("/admin/"))

    assert "Groups" not in index and "Access attempts" not in index and "Axes" not in index
    assert support.get("/admin/auth/group/").status_code == 403
    assert support.get("/admin/axes/accessattempt/").status_code == 403


def test_superusers_still_manage_groups_and_lockouts(admin_client):
    index = page_text(admin_client.get("/admin/"))

    assert "Groups" in index and "Access attempts" in index
    assert admin_client.get("/admin/auth/group/").status_code == 200
    assert admin_client.get("/admin/axes/accessattempt/").status_code == 200
    assert Group.objects.filter(name="Support").exists()


def test_dates_have_one_format_with_seconds_and_time_zone(support, acme):
    alice = person(acme, "alice", Role.OWNER)
    # Last sign-in of a person from Okta: their latest successful login event (accounts.signins).
    event = LoginEvent.objects.create(kind="signin", outcome=LoginEvent.Outcome.SUCCESS, reason="ok", tenant=acme,
                                      user=alice)
    LoginEvent.objects.filter(pk=event.pk).update(created_at="2026-12-01T11:04:05Z")

    page = page_text(support.get(USERS_URL))

    assert "1 Dec 2026, 11:04:05 UTC" in page


# --- the home page ------------------------------------------------------------------------------------------------
def home_of(client: Client, browser: Browser, provider, sub: str) -> str:
    client.logout()
    browser.login(provider, sub)
    return page_text(client.get("/"))


def test_members_see_who_the_owner_is_but_not_the_members(client, browser: Browser, provider, acme):
    home_of(client, browser, provider, "alice")

    page = home_of(client, browser, provider, "bob")

    assert "Owner</dt><dd>Alice Tester (alice@acme.test)" in page
    assert "Members of Acme" not in page


def test_admins_see_the_members_as_the_owner_does_but_cannot_transfer_ownership(client, browser: Browser, provider,
                                                                                acme):
    home_of(client, browser, provider, "alice")
    home_of(client, browser, provider, "carol")
    User.objects.filter(sub="bob").delete()
    home_of(client, browser, provider, "bob")
    User.objects.filter(sub="bob").update(role=Role.ADMIN)

    page = home_of(client, browser, provider, "bob")

    assert "Members of Acme" in page
    assert "carol@acme.test" in page and "alice@acme.test" in page
    assert "Alice Tester is the owner" in page
    assert "transfer" not in page.lower()
    # Only the owner moves the ownership (from the console); support staff cannot, so the page does not send him there.
    assert "Only the owner makes someone else the owner, from the console." in page
    assert "ask Inigo support" not in page


def test_an_admin_whose_owner_left_is_told_who_can_move_the_ownership(client, browser: Browser, provider, acme):
    home_of(client, browser, provider, "alice")
    home_of(client, browser, provider, "bob")
    User.objects.filter(sub="bob").update(role=Role.ADMIN)
    User.objects.filter(sub="alice").update(is_active=False)  # Okta deactivated the owner

    left = home_of(client, browser, provider, "bob")
    User.objects.filter(sub="alice").delete()  # and support staff deleted her account
    gone = home_of(client, browser, provider, "bob")

    assert "Alice Tester is the owner" in left
    assert "Alice Tester is deactivated and cannot hand the ownership on: your Okta administrator can ask Inigo " \
           "support to move it." in left
    assert "Only the owner makes someone else the owner" not in left
    assert "Acme has no owner now." in gone and "the owner is the owner" not in gone
    assert "Your Okta administrator can ask Inigo support to make someone the owner." in gone


def test_the_owner_is_told_they_are_the_owner(client, browser: Browser, provider, acme):
    page = home_of(client, browser, provider, "alice")

    assert "Owner</dt><dd>You</dd>" in page


def test_the_owner_is_told_to_make_someone_else_owner_from_the_console(client, browser: Browser, provider, acme):
    page = home_of(client, browser, provider, "alice")

    assert "You are the owner." in page
    assert 'To make someone else the owner, open their page under <a href="/org/people/">People</a>' in page
    assert "ask Inigo support" not in page
