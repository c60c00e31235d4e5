"""What the console's people pages read: a tenant's people (filtered, newest first, one page) and one person's
recent events and where their role came from."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet

from accounts.models import LoginEvent, Role, User
from accounts.roles import in_admin_group
from accounts.signins import last_sign_in
from console.role_controls import roles_from_okta
from inigo_sso.failures import FAILURES
from tenants.models import Tenant

PAGE_SIZE = 50  # SPEC: 50 a page
COUNT_LIMIT = 1_000  # counted up to here, then "more than": a count of a large tenant's matches costs a scan
# Paging by OFFSET reads every row before the page: page 200 (10,000 people deep) costs 33 ms at 200,000 people, the
# last page 1 s (docs/benchmarks.md). Past it, the list asks for a search instead.
MAX_PAGE = 200
QUERY_MAX_LENGTH = 100
STATUSES = {"active": True, "inactive": False}
EVENTS_SHOWN = 20
# What the people list reads of each person: no password hash, no session counters.
LIST_FIELDS = ("scim_id", "tenant_id", "email", "name", "first_name", "last_name", "sub", "role", "is_active",
               "deactivated_by", "last_login", "provisioned_at", "date_joined")


@dataclass(frozen=True)
class PeopleFilter:
    q: str = ""
    role: str = ""
    status: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, query: dict[str, str]) -> "PeopleFilter":
        """What the query string asks, with anything unknown left out (never an error page for a bad filter)."""
        role = query.get("role", "")
        status = query.get("status", "")
        page = query.get("page", "1")
        return cls(
            q=" ".join(query.get("q", "").split())[:QUERY_MAX_LENGTH],
            role=role if role in Role.values else "",
            status=status if status in STATUSES else "",
            page=min(int(page), MAX_PAGE) if page.isascii() and page.isdigit() and int(page) > 0 else 1,
        )

    @property
    def active(self) -> bool:
        return bool(self.q or self.role or self.status)


@dataclass(frozen=True)
class PeoplePage:
    people: list[User]
    count: int  # up to COUNT_LIMIT
    more: bool  # more than COUNT_LIMIT match
    has_next: bool
    cut: bool  # more people follow, past the last page the list shows: search for them
    first: int  # the number of this page's first person in the list, counting from 1

    @property
    def last(self) -> int:
        return self.first + len(self.people) - 1


def people_matching(tenant: Tenant, wanted: PeopleFilter) -> QuerySet[User]:
    people = User.objects.filter(tenant=tenant)
    if wanted.q:
        # Part of an email or a name, any case (SPEC). On PostgreSQL each of these is UPPER(column) LIKE '%Q%',
        # served by the trigram indexes of migration accounts 0011 (docs/benchmarks.md has the EXPLAIN).
        q = wanted.q
        people = people.filter(Q(email__icontains=q) | Q(name__icontains=q) | Q(first_name__icontains=q)
                               | Q(last_name__icontains=q))
    if wanted.role == Role.OWNER:
        people = people.filter(is_owner=True)  # one_owner_per_tenant's index: `role` is in none (accounts.models)
    elif wanted.role:
        people = people.filter(role=wanted.role)
    if wanted.status:
        people = people.filter(is_active=STATUSES[wanted.status])
    return people


def people_page(tenant: Tenant, wanted: PeopleFilter) -> PeoplePage:
    """One page of the tenant's people, newest first by when they joined (first sign-in or provisioning: the row's
    date_joined), each with their last sign-in; index user_tenant_joined serves the order."""
    matching = people_matching(tenant, wanted)
    start = (wanted.page - 1) * PAGE_SIZE
    rows = list(
        matching.only(*LIST_FIELDS).annotate(last_sign_in=last_sign_in())
        .order_by("-date_joined", "-pk")[start:start + PAGE_SIZE + 1]
    )
    # When the first page holds the whole list, no second scan counts it (a filter that matches nobody scans once).
    whole = wanted.page == 1 and len(rows) <= PAGE_SIZE
    count = len(rows) if whole else matching.order_by()[:COUNT_LIMIT + 1].count()
    return PeoplePage(people=rows[:PAGE_SIZE], count=min(count, COUNT_LIMIT), more=count > COUNT_LIMIT,
                      has_next=len(rows) > PAGE_SIZE and wanted.page < MAX_PAGE,
                      cut=len(rows) > PAGE_SIZE and wanted.page >= MAX_PAGE, first=start + 1)


def tenant_has_people(tenant: Tenant) -> bool:
    return User.objects.filter(tenant=tenant).exists()


@dataclass(frozen=True)
class EventLine:
    event: LoginEvent
    words: str
    by: str  # for a console change: who made it


def person_events(person: User) -> list[EventLine]:
    """Their last 20 events (sign-ins, refusals, sign-outs, console changes), newest first, in words; the index
    loginevent_user_time serves it."""
    events = LoginEvent.objects.filter(user=person).order_by("-created_at")[:EVENTS_SHOWN]
    return [EventLine(event, event_words(event), event.detail if event.kind == "console" else "") for event in events]


def event_words(event: LoginEvent) -> str:
    if event.reason == "ok":
        return "Signed in"
    if event.reason == "console_sign_out":
        return "Signed out everywhere from the console"
    failure = FAILURES.get(event.reason)
    return failure.title if failure is not None else event.reason.replace("_", " ").capitalize()


def role_origin(person: User) -> str:
    """Who gave the person their role, as far as Inigo knows: under role_source `okta` the inputs Okta sent (SPEC
    "Roles from Okta": a pushed group mapped to admin, Okta's Admin role); support staff's changes are in the admin's
    log; an owner otherwise is the first person who signed in or the new owner of a transfer (its role_changed
    event); everyone else starts as a member."""
    if person.role != Role.OWNER and roles_from_okta(person):  # Okta decides, not a hand
        # None: the row went meanwhile (support staff deleted it), which is in no group.
        grouped = User.objects.filter(pk=person.pk).values_list(in_admin_group(), flat=True).first()
        entitled = Role.ADMIN in person.scim_roles
        if grouped or entitled:
            ways = [way for way, given in (("in a pushed group mapped to admin", grouped),
                                           ("given Okta's Admin role", entitled)) if given]
            return "from Okta: " + " and ".join(ways)
        return "from Okta: in no group mapped to admin, and without Okta's Admin role"
    entry = _last_role_change_by_support(person)
    transferred = _made_owner_by_transfer(person) if person.role == Role.OWNER else None
    # The later of the two is what gave the role now held (support set it, then the owner handed it on, or back).
    if transferred is not None and (entry is None or transferred > entry.action_time):
        return f"made the owner by a transfer on {transferred:%d %b %Y}"
    if entry is not None:
        return f"set by Inigo support on {entry.action_time:%d %b %Y}"
    if person.role == Role.OWNER:
        return "the first person to sign in"
    if person.role == Role.MEMBER:
        return "everyone starts as a member"
    return ""


def _made_owner_by_transfer(person: User) -> datetime | None:
    """When the person last became the owner by a transfer (its role_changed event), None if never. Anchored at the
    detail's start, "<old> -> owner (": the rest of a detail holds words others chose (a group's name, an actor's
    email), which must not pass for a transfer."""
    made_owner = Q(detail__startswith=f"{Role.ADMIN} -> {Role.OWNER} (") | Q(
        detail__startswith=f"{Role.MEMBER} -> {Role.OWNER} (")
    return (LoginEvent.objects.filter(made_owner, user=person, reason="role_changed")
            .order_by("-created_at").values_list("created_at", flat=True).first())


def _last_role_change_by_support(person: User) -> LogEntry | None:
    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(User), object_id=str(person.pk)
    ).order_by("-action_time")[:20]
    return next((entry for entry in entries if _is_role_change(entry.change_message)), None)


def _is_role_change(message: str) -> bool:
    # The admin's change form logs the changed fields ('"Role"'); its ownership transfer writes words.
    return '"Role"' in message or "owner" in message.lower()
