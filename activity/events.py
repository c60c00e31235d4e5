"""A tenant's events, newest first, 50 a page, for the customer console's events page (SPEC "The customer console",
`/org/events/`): every kind, with the words the person saw and the reference, filtered by kind and outcome, and `q`
for a reference (any case), an exact email or a `sub`.

Two tables, read side by side rather than one: the sign-in side's events (accounts.models.LoginEvent: kinds
`signin`, `session`, `setup`, `console`) and provisioning's (scim.models.ProvisioningEvent: kind `provisioning`).
Provisioning's record is written inside each SCIM change's own transaction by the SCIM app, which sits above
accounts; copying it into LoginEvent would write every change twice, or move SCIM's history and support's admin of
it. A page costs one index range of each table instead: each is read from the keyset position on, at most 51 rows,
and the two are merged in Python. No OFFSET, so the 4,000th page costs what the first does (docs/benchmarks.md).

The keyset is (created_at, source, id), descending: `source` orders the two tables at the same microsecond, `id`
the rows of one table. The position travels in the link as `before`, an opaque string; one that does not parse
starts from the newest event (never an error page)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from accounts.event_search import login_events_matching
from accounts.events import CONSOLE_WORDS, EventKind
from accounts.models import LoginEvent, User
from accounts.setup import STEP_WORDS
from inigo_sso.failures import FAILURES
from scim.models import ProvisioningEvent
from tenants.models import Tenant

PAGE_SIZE = 50  # SPEC: 50 a page
QUERY_MAX_LENGTH = 254  # the longest email an event holds
OUTCOMES = tuple(LoginEvent.Outcome.values)
LOGIN_SOURCE, PROVISIONING_SOURCE = 1, 0  # the order of the two tables at the same microsecond
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Kinds whose event detail is shown: what a setup step, a console change or an ended session did and who did it.
# A sign-in's detail is support's diagnosis (provider answers, claims), shown in admin; the console shows its words.
DETAIL_SHOWN = {EventKind.SESSION, EventKind.SETUP, EventKind.CONSOLE, EventKind.PROVISIONING}
# What the events list reads of a login event: no user agent, nothing else it does not show.
LOGIN_FIELDS = ("id", "created_at", "kind", "outcome", "reason", "reference", "email", "typed_email", "subject",
                "detail")


@dataclass(frozen=True, order=True)
class Position:
    """Where a page starts: its events come strictly after this one, newest first."""

    created_at: datetime
    source: int
    pk: int

    def token(self) -> str:
        return f"{(self.created_at - _EPOCH) // _MICROSECOND}.{self.source}.{self.pk}"

    @classmethod
    def parse(cls, token: str) -> "Position | None":
        parts = token.split(".")
        if len(parts) != 3 or not all(part.isascii() and part.isdigit() and len(part) <= 19 for part in parts):
            return None
        micros, source, pk = (int(part) for part in parts)
        if source not in (LOGIN_SOURCE, PROVISIONING_SOURCE):
            return None
        try:
            return cls(_EPOCH + micros * _MICROSECOND, source, pk)
        except OverflowError:  # past the year 9999
            return None


@dataclass(frozen=True)
class EventFilter:
    kind: str = ""
    outcome: str = ""
    q: str = ""
    before: Position | None = None

    @classmethod
    def from_query(cls, query: dict[str, str]) -> "EventFilter":
        """What the query string asks, with anything unknown left out (never an error page for a bad filter)."""
        kind = query.get("kind", "")
        outcome = query.get("outcome", "")
        return cls(
            kind=kind if kind in EventKind.values else "",
            outcome=outcome if outcome in OUTCOMES else "",
            q=query.get("q", "").strip()[:QUERY_MAX_LENGTH],
            before=Position.parse(query.get("before", "")),
        )

    @property
    def active(self) -> bool:
        return bool(self.kind or self.outcome or self.q)

    def wants_login_events(self) -> bool:
        return self.kind != EventKind.PROVISIONING

    def wants_provisioning(self) -> bool:
        # A provisioning event is a change Okta made and Inigo applied: its outcome is a success.
        return self.kind in ("", EventKind.PROVISIONING) and self.outcome in ("", LoginEvent.Outcome.SUCCESS)


@dataclass(frozen=True)
class EventLine:
    position: Position
    kind: str
    outcome: str
    words: str  # what happened, in a few words (the title the person saw, for a failure)
    told: str  # what the person was told to do, for a failure they met
    reference: str  # what the person quotes; empty for provisioning (Okta reads no page)
    who: str  # the person: their email, else the email they typed, else their sub
    detail: str

    @property
    def created_at(self) -> datetime:
        return self.position.created_at

    @property
    def kind_label(self) -> str:
        return EventKind(self.kind).label

    @property
    def outcome_label(self) -> str:
        return LoginEvent.Outcome(self.outcome).label


@dataclass(frozen=True)
class EventsPage:
    lines: list[EventLine]
    next: Position | None  # where the next (older) page starts; None on the last page


def events_page(tenant: Tenant, wanted: EventFilter) -> EventsPage:
    """One page of the tenant's events: at most two statements, each an index range of PAGE_SIZE + 1 rows."""
    lines: list[EventLine] = []
    if wanted.wants_login_events():
        lines += [_login_line(event) for event in _login_events(tenant, wanted)[:PAGE_SIZE + 1]]
    if wanted.wants_provisioning():
        lines += [_provisioning_line(event) for event in _provisioning_events(tenant, wanted)[:PAGE_SIZE + 1]]
    lines.sort(key=lambda line: line.position, reverse=True)
    more = len(lines) > PAGE_SIZE
    lines = lines[:PAGE_SIZE]
    return EventsPage(lines=lines, next=lines[-1].position if more else None)


def _login_events(tenant: Tenant, wanted: EventFilter) -> QuerySet[LoginEvent]:
    """Index loginevent_tenant_kind_time (tenant, kind, created_at, id) with a kind, loginevent_tenant_time without:
    each a range read newest first from the position on."""
    events = LoginEvent.objects.filter(tenant=tenant)
    if wanted.kind:
        events = events.filter(kind=wanted.kind)
    if wanted.outcome:
        events = events.filter(outcome=wanted.outcome)
    if wanted.q:
        events = login_events_matching(events, wanted.q)
    if wanted.before is not None:
        events = events.filter(_after(wanted.before, LOGIN_SOURCE))
    return events.only(*LOGIN_FIELDS).order_by("-created_at", "-id")


def _provisioning_events(tenant: Tenant, wanted: EventFilter) -> QuerySet[ProvisioningEvent]:
    """Index provisioningevent_tenant_time; `q` finds the events of the person it names, as Okta knows them: their
    `sub` (the externalId) or their SCIM userName (Okta's, most often their email), each on an index of people."""
    events = ProvisioningEvent.objects.filter(tenant=tenant)
    if wanted.q:
        events = events.filter(user__in=_people_named(tenant, wanted.q))
    if wanted.before is not None:
        events = events.filter(_after(wanted.before, PROVISIONING_SOURCE))
    return events.select_related("user").only(
        "id", "created_at", "action", "detail", "user__email", "user__sub", "user__tenant_id"
    ).order_by("-created_at", "-id")


def _people_named(tenant: Tenant, term: str) -> QuerySet[User]:
    """The tenant's people whose sub (index user_identity_unique: tenant, issuer, sub), SCIM userName (index
    user_scim_user_name_unique: tenant, lower(userName)) or email (its own index, exact) is `term`."""
    named = Q(issuer=tenant.issuer, sub=term[:255]) | Q(scim_user_name_lower=term.lower()) | Q(email=term)
    return User.objects.alias(scim_user_name_lower=Lower("scim_user_name")).filter(named, tenant=tenant).values("pk")


def _after(position: Position, source: int) -> Q:
    """The rows of `source` that come after `position` in the order (created_at, source, id) descending. The bound
    on created_at alone is what the index reads a range of; the rest filters the few rows at that microsecond."""
    same_time = Q(created_at=position.created_at)
    if source == position.source:
        same_time &= Q(id__lt=position.pk)
    elif source > position.source:
        same_time = Q(pk__in=[])  # this table's rows at that time came before the position
    return Q(created_at__lte=position.created_at) & (Q(created_at__lt=position.created_at) | same_time)


def _login_line(event: LoginEvent) -> EventLine:
    failure = FAILURES.get(event.reason)
    told = failure.action if failure is not None and event.outcome == LoginEvent.Outcome.FAILURE else ""
    return EventLine(
        position=Position(event.created_at, LOGIN_SOURCE, event.pk), kind=event.kind, outcome=event.outcome,
        words=reason_words(event.reason), told=told, reference=event.reference,
        who=event.email or event.typed_email or event.subject,
        detail=event.detail if event.kind in DETAIL_SHOWN else "",
    )


def _provisioning_line(event: ProvisioningEvent) -> EventLine:
    person: Any = event.user
    return EventLine(
        position=Position(event.created_at, PROVISIONING_SOURCE, event.pk), kind=EventKind.PROVISIONING,
        outcome=LoginEvent.Outcome.SUCCESS, words=f"Okta: {event.get_action_display()}", told="", reference="",
        who=(person.email or person.sub) if person is not None else "", detail=event.detail,
    )


def reason_words(reason: str) -> str:
    """What a reason means, in the words of the page the person saw (inigo_sso.failures) or of the step it is."""
    if reason == "ok":
        return "Signed in"
    if (failure := FAILURES.get(reason)) is not None:
        return failure.title
    return STEP_WORDS.get(reason) or CONSOLE_WORDS.get(reason) or reason.replace("_", " ").capitalize()
