"""Twenty people of a brand-new tenant click the tile in the same second: exactly one owner, no error."""

import threading

import pytest
from django.db import connection
from django.test import Client

from accounts.models import LoginEvent, Role, User
from tests.conftest import profile

PEOPLE = 20


def finish_at_once(browsers: list[tuple[Client, str]]) -> list[int]:
    """Each browser comes back to its callback URL in the same instant, on threads of its own; the statuses."""
    barrier = threading.Barrier(len(browsers))
    statuses: list[int] = []

    def finish_login(client: Client, callback: str) -> None:
        try:
            barrier.wait(timeout=10)
            statuses.append(client.get(callback).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=finish_login, args=browser) for browser in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


@pytest.mark.django_db(transaction=True)
def test_it_makes_exactly_one_owner_when_twenty_first_logins_race(postgres, provider, acme):
    browsers = []
    for number in range(PEOPLE):
        sub = f"person{number}"
        provider.set_user(sub, profile(sub))
        client = Client()
        started = client.get("/oidc/initiate/", {"iss": provider.issuer})
        browsers.append((client, provider.authorize(started["Location"], sub)))
    client.get("/oidc/initiate/", {"iss": provider.issuer})  # discovery cached; keys are fetched in the race
    statuses = finish_at_once(browsers)

    assert statuses == [302] * PEOPLE
    assert User.objects.filter(tenant=acme).count() == PEOPLE
    assert User.objects.filter(tenant=acme, role=Role.OWNER).count() == 1
    assert LoginEvent.objects.filter(reason="ok").count() == PEOPLE


@pytest.mark.django_db(transaction=True)
def test_the_same_person_in_two_tabs_at_once_is_one_user(postgres, provider, acme):
    provider.set_user("alice", profile("alice"))
    client = Client()
    callbacks = [provider.authorize(client.get("/oidc/initiate/", {"iss": provider.issuer})["Location"], "alice")
                 for _ in range(2)]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def finish(callback: str) -> None:
        try:
            tab = Client()
            tab.cookies = client.cookies
            barrier.wait(timeout=10)
            statuses.append(tab.get(callback).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=finish, args=(callback,)) for callback in callbacks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert User.objects.filter(sub="alice").count() == 1
    assert User.objects.get(sub="alice").role == Role.OWNER
    assert 302 in statuses
