"""The tenant's events for the customer console (activity.events): Acme's admins read Acme's events of every kind,
sign-in side and provisioning alike, newest first, filtered by kind, outcome and `q`, page after page without a
gap or a repeat, and never one of Globex's."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services
from accounts.console_changes import console_event_record
from accounts.models import LoginEvent, Role, User
from activity.events import PAGE_SIZE, EventFilter, Position, events_page, reason_words
from scim.models import ProvisioningEvent


def person(tenant, sub: str, role: str = Role.MEMBER) -> User:
    return User.objects.create(username=f"{tenant.slug}-{sub}", tenant=tenant, issuer=tenant.issuer, sub=sub,
                               email=f"{sub}@{tenant.slug}.test", name=sub.capitalize(), role=role,
                               scim_user_name=f"{sub}@{tenant.slug}.test")


def page(tenant, **query: str):
    return events_page(tenant, EventFilter.from_query(query))


@pytest.fixture
def acme_story(acme, globex):
    """Uma of Acme is not assigned the app, Ada signs in and signs out, Ada rotates the credentials, a setup step,
    and Okta provisions Uma; Globex's Bob signs in with the same reason codes."""
    uma, ada = person(acme, "uma"), person(acme, "ada", Role.OWNER)
    bob = person(globex, "bob", Role.OWNER)
    events = {
        "refused": services.login_event_record(None, reason="user_not_assigned", tenant=acme, user=uma),
        "signed_in": services.login_event_record(None, reason="ok", tenant=acme, user=ada),
        "signed_out": services.login_event_record(None, reason="session_revoked", tenant=acme, user=ada,
                                                  outcome=LoginEvent.Outcome.SIGNED_OUT),
        "setup": services.login_event_record(None, reason="setup_completed", tenant=acme, succeeded=True),
        "console": console_event_record(request=None, actor=ada, reason="console_credentials_rotated",
                                        what="New Client ID saved"),
        "globex": services.login_event_record(None, reason="user_not_assigned", tenant=globex, user=bob),
    }
    ProvisioningEvent.objects.create(tenant=acme, action=ProvisioningEvent.Action.USER_CREATED, user=uma,
                                     resource_id=uma.scim_id)
    ProvisioningEvent.objects.create(tenant=globex, action=ProvisioningEvent.Action.USER_CREATED, user=bob)
    return events


def test_it_lists_every_kind_of_the_tenant_newest_first_and_none_of_another(acme_story, acme):
    lines = page(acme).lines

    assert [line.kind for line in lines] == ["provisioning", "console", "setup", "session", "signin", "signin"]
    assert acme_story["globex"].reference not in {line.reference for line in lines}
    assert lines == sorted(lines, key=lambda line: line.position, reverse=True)


def test_a_failure_carries_the_words_the_person_saw_and_their_reference(acme_story, acme):
    refused = next(line for line in page(acme).lines if line.outcome == "failure")

    assert refused.reference == acme_story["refused"].reference
    assert refused.words == reason_words("user_not_assigned") != "user_not_assigned"
    assert "Okta administrator" in refused.told
    assert refused.who == "uma@acme.test"


def test_a_console_change_says_who_made_it(acme_story, acme):
    (line,) = page(acme, kind="console").lines

    assert line.words == "New Client ID and Client Secret saved"
    assert "by Ada (ada@acme.test, owner)" in line.detail


@pytest.mark.parametrize(("kind", "count"), [("signin", 2), ("session", 1), ("setup", 1), ("console", 1),
                                             ("provisioning", 1)])
def test_each_kind_filter_shows_that_kind_only(acme_story, acme, kind, count):
    lines = page(acme, kind=kind).lines

    assert [line.kind for line in lines] == [kind] * count


@pytest.mark.parametrize(("outcome", "kinds"), [("failure", ["signin"]), ("signed_out", ["session"]),
                                                ("success", ["provisioning", "console", "setup", "signin"])])
def test_the_outcome_filter(acme_story, acme, outcome, kinds):
    assert [line.kind for line in page(acme, outcome=outcome).lines] == kinds


def test_q_finds_a_reference_in_any_case(acme_story, acme):
    reference = acme_story["refused"].reference

    assert [line.reference for line in page(acme, q=reference.lower()).lines] == [reference]


def test_q_never_finds_another_tenants_reference(acme_story, acme):
    assert page(acme, q=acme_story["globex"].reference).lines == []


def test_q_finds_a_person_by_exact_email_in_any_case_or_sub_with_what_okta_provisioned(acme_story, acme):
    by_email = page(acme, q="UMA@ACME.TEST").lines
    by_sub = page(acme, q="uma").lines

    assert [line.kind for line in by_email] == [line.kind for line in by_sub] == ["provisioning", "signin"]
    assert page(acme, q="uma@acme").lines == []  # part of an email is not an exact one


def test_paging_walks_both_tables_without_a_gap_or_a_repeat_even_at_the_same_microsecond(acme):
    at = timezone.now() - timedelta(minutes=5)
    for number in range(70):
        services.login_event_record(None, reason="ok", tenant=acme)
        ProvisioningEvent.objects.create(tenant=acme, action=ProvisioningEvent.Action.USER_UPDATED,
                                         detail=str(number))
    # Nearly every event at one instant, so that only the table and the id order them: 10 newer provisioning
    # events, then 70 sign-ins and 60 provisioning events at that instant; the second page ends inside the latter.
    LoginEvent.objects.filter(tenant=acme).update(created_at=at)
    ProvisioningEvent.objects.filter(tenant=acme, detail__in=[str(n) for n in range(10, 70)]).update(created_at=at)

    seen, before = [], ""
    for _page in range(3):
        result = page(acme, before=before)
        seen += [line.position for line in result.lines]
        before = result.next.token() if result.next else ""

    assert result.next is None and len(result.lines) == 140 - 2 * PAGE_SIZE
    assert len(seen) == len(set(seen)) == 140
    assert seen == sorted(seen, reverse=True)


@pytest.mark.parametrize("before", ["", "x", "1.2.3", "1.1", "-1.1.1", "99999999999999999999.1.1", "1.1.1.1",
                                    "١٢.1.1", "9999999999999999999.1.1"])
def test_a_position_that_does_not_parse_starts_from_the_newest(acme_story, acme, before):
    assert page(acme, before=before).lines == page(acme).lines


def test_a_position_survives_its_link():
    position = Position(timezone.now(), 1, 42)

    assert Position.parse(position.token()) == position


def test_unknown_filters_are_left_out():
    assert EventFilter.from_query({"kind": "everything", "outcome": "maybe", "q": "  x  "}) == EventFilter(q="x")
