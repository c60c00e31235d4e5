"""`manage.py prune_login_events --days N`: old login events go, recent ones stay."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import LoginEvent


def event_aged(days: float) -> LoginEvent:
    event = LoginEvent.objects.create(kind="signin", outcome="success", reason="ok")
    LoginEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(days=days))
    return event


def test_it_deletes_events_older_than_the_given_days_and_says_how_many(db):
    for age in (91, 120, 400):
        event_aged(age)
    kept = [event_aged(age).pk for age in (0, 89.9)]
    out = io.StringIO()

    call_command("prune_login_events", "--days", "90", stdout=out)

    assert sorted(LoginEvent.objects.values_list("pk", flat=True)) == sorted(kept)
    assert out.getvalue().startswith("Deleted 3 login events older than 90 days (before ")


def test_it_says_so_when_there_is_nothing_to_delete(db):
    event_aged(1)
    out = io.StringIO()

    call_command("prune_login_events", "--days", "30", stdout=out)

    assert out.getvalue().startswith("Deleted 0 login events older than 30 days")
    assert LoginEvent.objects.count() == 1


@pytest.mark.parametrize("days", ["0", "-5"])
def test_it_refuses_a_number_of_days_that_would_delete_everything(db, days):
    event_aged(0)

    with pytest.raises(CommandError, match="--days must be 1 or more"):
        call_command("prune_login_events", "--days", days)

    assert LoginEvent.objects.count() == 1
