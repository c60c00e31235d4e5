"""last_login marks a person's first sign-in; "Last sign-in" is their latest successful login event; staff keep
Django's last_login at every sign-in (accounts/signins.py)."""

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from accounts.models import LoginEvent, User
from tests.conftest import Browser
from tests.test_admin_staff import home_of


def test_a_person_s_last_login_is_their_first_sign_in_and_home_shows_the_latest(client: Client, browser: Browser,
                                                                                provider, acme):
    browser.login(provider, "alice")
    alice = User.objects.get(tenant=acme, sub="alice")
    first = alice.last_login
    assert first is not None
    # The first sign-in's event, moved back a day: the home page must show the later sign-in, not this one.
    LoginEvent.objects.filter(user=alice).update(created_at=timezone.now() - timedelta(days=1))
    client.logout()

    page = home_of(client, browser, provider, "alice")

    alice.refresh_from_db()
    assert alice.last_login == first  # no UPDATE at a returning sign-in
    latest = LoginEvent.objects.filter(user=alice, outcome=LoginEvent.Outcome.SUCCESS).latest("created_at")
    assert latest.created_at > first
    shown = timezone.localtime(latest.created_at).strftime("%H:%M:%S")
    assert shown in page and "Last sign-in" in page


def test_a_staff_account_s_last_login_moves_at_every_sign_in(db):
    staff = User.objects.create_user("support-ann", is_staff=True)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    User.objects.filter(pk=staff.pk).update(last_login=an_hour_ago)
    staff.refresh_from_db()

    Client().force_login(staff)  # auth.login, as the admin's password sign-in ends in

    staff.refresh_from_db()
    assert staff.last_login > an_hour_ago
