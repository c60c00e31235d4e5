"""Every event has a kind, and only sign-ins reach the sign-in figures (support's health panel, the tenants list,
a person's last sign-in): a setup step, a sign-out or a Universal Logout call is never counted as a sign-in."""

import pytest
from django.utils import timezone

from accounts import services
from accounts.events import CONSOLE_REASONS, SETUP_REASONS, EventKind, kind_of
from accounts.models import LoginEvent
from activity.health import tenant_health, tenants_week_health
from inigo_sso.failures import FAILURES, SESSION_END_REASONS


@pytest.mark.parametrize("reason", ["ok", *sorted(FAILURES), *SETUP_REASONS, *CONSOLE_REASONS])
def test_every_reason_has_a_kind(reason):
    assert kind_of(reason) in EventKind


def test_a_reason_nobody_gave_a_kind_cannot_be_recorded(db):
    with pytest.raises(ValueError, match="has no kind"):
        services.login_event_record(None, reason="something_new")

    assert not LoginEvent.objects.exists()


@pytest.mark.parametrize("reason", [*SESSION_END_REASONS, *SETUP_REASONS, *CONSOLE_REASONS,
                                    "universal_logout_unauthorized"])
def test_no_event_of_another_kind_reaches_the_sign_in_figures(acme, reason):
    services.login_event_record(None, reason=reason, tenant=acme, succeeded=reason != "setup_checks_failed")

    health = tenant_health(tenant=acme)
    week = tenants_week_health(tenant_ids=[acme.pk])

    assert LoginEvent.objects.get().kind != EventKind.SIGNIN
    assert (health.successes, health.failures, health.top_reasons) == (0, 0, [])
    assert health.last_success is None and health.last_failure is None
    assert week == {}


def test_sign_ins_are_counted_and_the_setup_step_has_its_own_line(acme):
    services.login_event_record(None, reason="setup_completed", tenant=acme, succeeded=True)
    services.login_event_record(None, reason="ok", tenant=acme)
    services.login_event_record(None, reason="user_not_assigned", tenant=acme)

    health = tenant_health(tenant=acme)

    assert (health.successes, health.failures) == (1, 1)
    assert [item.reason for item in health.top_reasons] == ["user_not_assigned"]
    assert health.last_setup_words == "Setup completed"
    assert health.last_setup_step.created_at <= timezone.now()
