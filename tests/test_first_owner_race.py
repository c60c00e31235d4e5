"""Twenty people of a brand-new tenant click the tile in the same second: exactly one owner, no error."""

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from accounts.models import LoginEvent, Role, User
from tests.conftest import profile

PEOPLE = 20


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Each call in the same instant, on a thread of its own; what each returned, in the order of `calls`, or the
    exception it raised (a deadlock's OperationalError included: the test asserts on it)."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # handed to the test as the outcome of this call
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def finish_at_once(browsers: list[tuple[Client, str]]) -> list[int]:
    """Each browser comes back to its callback URL in the same instant, on threads of its own; the statuses."""
    results = at_once([partial(client.get, callback) for client, callback in browsers])
    return [getattr(result, "status_code", result) for result in results]


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
