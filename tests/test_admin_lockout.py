"""Password guessing at the admin login is locked out; Okta sign-ins are never affected."""

import pytest
from django.test import Client

from accounts.models import User
from tests.conftest import Browser


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_user("support-sam", password="correct horse battery staple", is_staff=True)


def test_it_locks_the_admin_login_after_five_wrong_passwords(staff):
    client = Client()
    for _ in range(5):
        client.post("/admin/login/", {"username": "support-sam", "password": "wrong"})

    response = client.post("/admin/login/", {"username": "support-sam", "password": "correct horse battery staple"})

    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert client.get("/admin/").status_code == 302  # still not signed in


def test_a_right_password_before_the_limit_signs_in(staff):
    client = Client()
    for _ in range(3):
        client.post("/admin/login/", {"username": "support-sam", "password": "wrong"})

    response = client.post("/admin/login/", {"username": "support-sam", "password": "correct horse battery staple"})

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_an_admin_lockout_does_not_block_okta_sign_in_from_the_same_address(client, browser: Browser, provider, acme,
                                                                             staff):
    for _ in range(6):
        client.post("/admin/login/", {"username": "support-sam", "password": "wrong"})

    assert browser.login(provider, "alice").status_code == 302
