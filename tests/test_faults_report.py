"""The fault suite's own judgement (faults/report.py), without its servers: when a provider fault counts as
recovered, and how a session row in the database is read for its user (the check that every session has its
sign-in event)."""

import pytest
from django.contrib.sessions.backends.db import SessionStore

from faults import report
from faults.scenarios import by_name
from faults.traffic import SignIn

FAULT = (10.0, 20.0)  # the fault's start and end, seconds into the scenario


def _sign_in(started: float, ended: float, *, ok: bool) -> SignIn:
    return SignIn("faulted", "someone@acme.test", started, ended, 302 if ok else 502, session=ok)


def test_recovery_is_the_first_success_after_the_last_failure_once_the_fault_ended():
    attempts = [_sign_in(20.1, 20.2, ok=False), _sign_in(20.3, 20.5, ok=False), _sign_in(20.6, 20.9, ok=True),
                _sign_in(21.0, 21.1, ok=True)]

    assert report.recovery(by_name("flapping"), attempts, FAULT) == pytest.approx(0.9)


def test_one_success_then_refusals_again_is_no_recovery():
    # A breaker whose probe's success does not close it: the probe gets through, the sign-ins after it are refused.
    attempts = [_sign_in(20.1, 20.2, ok=True), _sign_in(20.3, 20.4, ok=False), _sign_in(21.0, 21.1, ok=False)]

    assert report.recovery(by_name("flapping"), attempts, FAULT) is None


def test_a_success_after_the_refusals_ends_the_recovery_there():
    attempts = [_sign_in(20.1, 20.2, ok=True), _sign_in(20.3, 20.4, ok=False), _sign_in(23.0, 23.5, ok=True)]

    assert report.recovery(by_name("flapping"), attempts, FAULT) == pytest.approx(3.5)


def test_failures_during_an_intermittent_fault_do_not_push_the_recovery_after_each_earlier_failure():
    # One timeout in 20: each failure is the end of that fault; the next success counts from it.
    attempts = [_sign_in(11.0, 16.0, ok=False), _sign_in(16.0, 16.3, ok=True), _sign_in(17.0, 22.0, ok=False),
                _sign_in(22.0, 22.4, ok=True)]

    assert report.recovery(by_name("one timeout in 20"), attempts, FAULT) == pytest.approx(2.4)


def test_a_session_row_is_read_for_its_user():
    session = SessionStore()
    session["_auth_user_id"] = "42"
    session["_auth_user_backend"] = "accounts.oidc.backend.TenantOIDCBackend"
    session["oidc_id_token"] = "x" * 2000  # long enough for Django to compress the data
    anonymous = SessionStore()
    anonymous["oidc_states"] = {"abc": {"tenant_id": 1}}

    assert report._session_user(session.encode(session._session)) == "42"
    assert report._session_user(anonymous.encode(anonymous._session)) is None
    assert report._session_user("not a session") == "unreadable"
