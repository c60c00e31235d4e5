"""One lock order for writes to people, the tenant's row and then the person's: Okta's deactivation (SCIM PATCH
`active: false`) racing the same person's first sign-in is never undone, and neither request deadlocks (PostgreSQL's
deadlock_timeout is 1 s; a deadlock would be a 500). Races run as in tests/test_first_owner_race.py, on PostgreSQL.
Support staff's deactivation writes only what the page changed, onto the person's row as it is."""

import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import transaction
from django.db.models import F
from django.test import Client, override_settings

from accounts.locks import people_lock
from accounts.models import User
from scim.tokens import scim_token_issue
from support.user_admin import UserAdmin
from tests.conftest import profile
from tests.oidc_provider import ProviderHarness
from tests.scim_helpers import PATCH_SCHEMA, Scim, deactivate, okta_user, reactivate
from tests.test_admin_tenants import change_form_data, change_url, support_client
from tests.test_admin_users import person
from tests.test_first_owner_race import at_once

ROUNDS = 50
PATCHES = 20
SIGN_INS = 6


def signing_in(provider: ProviderHarness, sub: str) -> tuple[Client, str]:
    """A browser that clicked the tile and signed in at the provider as `sub`, and the callback URL it is sent to."""
    provider.set_user(sub, profile(sub))
    browser = Client()
    started = browser.get("/oidc/initiate/", {"iss": provider.issuer})
    assert started.status_code == 302, started.content[:300]
    return browser, provider.authorize(started["Location"], sub)


def status(outcome: Any) -> int | str:
    """A response's status, or the exception a request raised (the test client re-raises a 500's), in words."""
    return getattr(outcome, "status_code", None) or f"{type(outcome).__name__}: {str(outcome).splitlines()[0]}"


def assert_no_server_error(outcomes: list[Any]) -> None:
    statuses = [status(outcome) for outcome in outcomes]
    assert not [s for s in statuses if isinstance(s, str) and "deadlock detected" in s], statuses
    assert all(isinstance(s, int) and s < 500 for s in statuses), statuses


def rename(number: int) -> dict[str, Any]:
    change = {"op": "replace", "value": {"name": {"givenName": f"Ada{number}"}}}
    return {"schemas": [PATCH_SCHEMA], "Operations": [change]}


@pytest.mark.django_db(transaction=True)
@override_settings(SSO_RATE_LIMIT="off")  # a hundred logins from 127.0.0.1 within a minute
def test_a_deactivation_racing_the_first_sign_in_is_never_undone(postgres, provider, acme, capsys):
    okta = Scim(Client(), scim_token_issue(tenant=acme))
    seen: Counter[tuple[int | str, int | str]] = Counter()
    started = time.monotonic()
    for number in range(ROUNDS):
        sub = f"racer{number}"
        person = okta.post("/Users", okta_user(f"{sub}@acme.test", external_id=sub)).json()
        browser, callback = signing_in(provider, sub)

        deactivation, sign_in = at_once([partial(okta.patch, f"/Users/{person['id']}", deactivate()),
                                         partial(browser.get, callback)])

        seen[status(deactivation), status(sign_in)] += 1
        assert_no_server_error([deactivation, sign_in])
        assert deactivation.status_code == 200
        assert sign_in.status_code in (302, 403), sign_in.content[:300]  # signed in first, or refused: inactive
        assert User.objects.get(scim_id=person["id"]).is_active is False, f"round {number}: deactivation undone"
        assert browser.get("/api/me/").status_code == 401, f"round {number}: still signed in"
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\n{ROUNDS} rounds of PATCH active:false against the first sign-in in {elapsed:.1f} s; "
              f"(PATCH, callback) statuses: {dict(seen)}")


@pytest.mark.django_db(transaction=True)
@override_settings(SSO_RATE_LIMIT="off")
def test_patches_of_one_person_mixed_with_their_sign_ins_never_deadlock(postgres, provider, acme, capsys):
    token = scim_token_issue(tenant=acme)
    ada = Scim(Client(), token).post("/Users", okta_user("ada@acme.test", external_id="ada")).json()
    bodies = [deactivate(), reactivate(), rename(0)]
    patches = [(Scim(Client(), token), bodies[number % 3]) for number in range(PATCHES)]
    browsers = [signing_in(provider, "ada") for _ in range(SIGN_INS)]  # her first sign-in, then returning ones
    calls = [*(partial(okta.patch, f"/Users/{ada['id']}", body) for okta, body in patches),
             *(partial(browser.get, callback) for browser, callback in browsers)]
    started = time.monotonic()

    outcomes = at_once(calls)

    elapsed = time.monotonic() - started
    statuses = Counter(status(outcome) for outcome in outcomes)
    with capsys.disabled():
        print(f"\n{PATCHES} PATCHes and {SIGN_INS} sign-ins of one person at once in {elapsed:.1f} s; "
              f"statuses: {dict(statuses)}")
    assert_no_server_error(outcomes)
    assert [status(outcome) for outcome in outcomes[:PATCHES]] == [200] * PATCHES
    assert {status(outcome) for outcome in outcomes[PATCHES:]} <= {302, 403}
    # Whatever order they ran in, a deactivation now ends every session the race left her.
    assert Scim(Client(), token).patch(f"/Users/{ada['id']}", deactivate()).status_code == 200
    assert [browser.get("/api/me/").status_code for browser, _ in browsers] == [401] * SIGN_INS


def test_support_staffs_deactivation_keeps_what_was_written_since_the_admin_read_the_person(acme, monkeypatch):
    alan = person(acme, "alan")
    support = support_client()
    data = change_form_data(support.get(change_url(alan)))
    data.pop("is_active")  # the box unticked
    read = UserAdmin.get_object

    def read_then_written_elsewhere(self: UserAdmin, *args: Any, **kwargs: Any) -> User | None:
        found = read(self, *args, **kwargs)
        # After the admin read Alan for this POST, and before it saves: Okta renames him, and his sessions end.
        User.objects.filter(pk=alan.pk).update(name="Alan Renamed", session_epoch=F("session_epoch") + 1)
        return found

    monkeypatch.setattr(UserAdmin, "get_object", read_then_written_elsewhere)

    assert support.post(change_url(alan), data).status_code == 302
    alan.refresh_from_db()
    assert alan.is_active is False
    assert alan.name == "Alan Renamed"  # not the admin's copy of the row
    assert alan.session_epoch == 2  # both endings: the one elsewhere and the deactivation's


HELD = 3.0  # seconds the push (below) holds Grace's row


@pytest.mark.django_db(transaction=True)
@override_settings(SSO_RATE_LIMIT="off")
def test_a_first_sign_in_waiting_for_its_person_holds_up_no_other_first_sign_in(postgres, provider, acme):
    """A write of many roles (a 50,000-member push) holds Grace's row, whom Okta provisioned; her first sign-in waits
    for it, and Alan's, a new person's, goes through meanwhile: her wait does not hold the tenant's lock."""
    Scim(Client(), scim_token_issue(tenant=acme)).post("/Users", okta_user("grace@acme.test", external_id=None))
    grace = User.objects.get(scim_user_name="grace@acme.test")
    provider.set_user("grace", profile("grace", preferred_username="grace@acme.test"))
    grace_browser = Client()
    grace_callback = provider.authorize(grace_browser.get("/oidc/initiate/", {"iss": provider.issuer})["Location"],
                                        "grace")
    alan_browser, alan_callback = signing_in(provider, "alan")

    def push() -> None:
        with transaction.atomic():
            people_lock(User.objects.filter(pk=grace.pk))
            time.sleep(HELD)

    def after(seconds: float, call: Callable[[], Any]) -> Callable[[], tuple[Any, float]]:
        def timed() -> tuple[Any, float]:
            time.sleep(seconds)
            started = time.monotonic()
            return call(), time.monotonic() - started
        return timed

    _, (grace_signed_in, grace_took), (alan_signed_in, alan_took) = at_once([
        push,
        after(0.3, partial(grace_browser.get, grace_callback)),
        after(0.6, partial(alan_browser.get, alan_callback)),
    ])

    assert_no_server_error([grace_signed_in, alan_signed_in])
    assert (grace_signed_in.status_code, alan_signed_in.status_code) == (302, 302)
    assert grace_took > HELD - 1  # she waited for her row...
    assert alan_took < HELD - 1, f"Alan waited {alan_took:.1f} s behind Grace"  # ...and nobody waited behind her
    assert User.objects.get(pk=grace.pk).sub == "grace"  # her sign-in linked the person Okta provisioned
