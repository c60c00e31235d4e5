"""Roles from Okta (SPEC "Roles from Okta"): one pure function decides a person's role, and every write that changes
one of its inputs settles, in its own transaction, the roles of the people it touched with that function.

The inputs: the owner rule (ownership is claimed by a tenant's first sign-in and moves only by a transfer), the
tenant's `role_source`, whether the person is in a pushed group mapped to admin, and the SCIM role entitlements Okta
assigned them (`User.scim_roles`, written by scim.services). Activity is not an input: a deactivated person keeps
the role the rule gives, and can do nothing with it.

Locks (accounts.locks): the caller holds the tenant's roles lock before it changes an input; `roles_settle` then
reads the inputs of the people concerned in one statement, inserts the `role_changed` events of the changes, and
only then locks those whose role changes, in id order, decides again on the rows as locked (a first sign-in may have
made one of them owner meanwhile) and writes their roles with one UPDATE a chunk: a 50,000-member push costs a
handful of statements, and holds its people's rows for the last of them only.
"""

import logging
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.events import EventKind
from accounts.locks import roles_lock, tenant_lock
from accounts.models import GroupRole, LoginEvent, Role, TenantGroup, User
from inigo_sso.client_ip import client_ip
from inigo_sso.references import new_reference, new_references
from inigo_sso.text import storable
from tenants.models import RoleSource, Tenant

logger = logging.getLogger("accounts.roles")

EVENT_BATCH = 5_000  # rows per INSERT of events where there is no unnest (SQLite)
# People locked (a SELECT of ids and roles, in id order) and written (one UPDATE per new role) at a time by
# roles_settle: a person's row is held from their chunk to the COMMIT, so the first chunks' people wait longest.
LOCK_CHUNK = 5_000
_USERS = User._meta.db_table  # table names from the app registry, never from input
_EVENTS = LoginEvent._meta.db_table


def role_decided(
    *, owner: bool, stored: str, role_source: str, in_admin_group: bool, entitlements: Collection[str] = ()
) -> str:
    """A person's role. `owner`: they are the tenant's owner now; `stored`: the role they hold; `in_admin_group`:
    they are a member of a pushed group mapped to admin; `entitlements`: the SCIM roles Okta assigned them."""
    if owner:
        return Role.OWNER  # the owner stays owner whatever Okta says; only a transfer moves ownership
    if role_source == RoleSource.OKTA:
        return Role.ADMIN if in_admin_group or Role.ADMIN in entitlements else Role.MEMBER
    # Under `inigo` roles are set by hand and kept as they are; an owner who handed ownership on stays an admin.
    return Role.ADMIN if stored == Role.OWNER else stored


@dataclass(frozen=True)
class RoleChanged:
    person_id: int
    old: str
    new: str


@dataclass(frozen=True)
class Reason:
    """Why roles change, for the events: the kind (`console`, `provisioning`), who, and what happened."""

    kind: EventKind
    why: str
    actor: User | None = None
    request: HttpRequest | None = None

    @property
    def by(self) -> str:
        if self.kind == EventKind.PROVISIONING:
            return "Okta (provisioning)"
        if self.actor is None or self.actor.tenant_id is None:
            return "support staff"
        return self.actor.email or self.actor.get_username()


def in_admin_group(*, remapped: TenantGroup | None = None, role: str = GroupRole.NONE) -> Exists:
    """Whether the person (OuterRef pk) is in a group mapped to admin; with `remapped`, as if that group were
    mapped to `role` (a preview)."""
    mapped = Q(tenantgroup__role=GroupRole.ADMIN)
    if remapped is not None:
        mapped &= ~Q(tenantgroup_id=remapped.pk)
        if role == GroupRole.ADMIN:
            mapped |= Q(tenantgroup_id=remapped.pk)
    return Exists(TenantGroup.members.through.objects.filter(mapped, user_id=OuterRef("pk")))


@dataclass(frozen=True)
class Inputs:
    """What the function reads of one person, besides the tenant's role_source."""

    stored: str
    in_admin_group: bool
    entitlements: tuple[str, ...] = ()

    def decide(self, role_source: str, *, stored: str | None = None) -> str:
        stored = self.stored if stored is None else stored
        return role_decided(owner=stored == Role.OWNER, stored=stored, role_source=role_source,
                            in_admin_group=self.in_admin_group, entitlements=self.entitlements)


def _changing(people: QuerySet[User], role_source: str, admin_group: Exists) -> dict[int, Inputs]:
    """The inputs of those of `people` whose role the function changes, by person id: one statement."""
    rows = people.annotate(in_admin_group=admin_group).values_list("pk", "role", "in_admin_group", "scim_roles")
    changing = {}
    # Fetched whole, not through a server-side cursor: PostgreSQL plans a cursor for its first rows, and chose a
    # correlated scan of the memberships per person (3 s for 10,000 people, growing as their square).
    for pk, stored, grouped, entitled in list(rows):
        inputs = Inputs(stored, grouped, tuple(entitled or ()))
        if inputs.decide(role_source) != stored:
            changing[pk] = inputs
    return changing


def role_after_ownership(*, person: User, role_source: str) -> str:
    """The role of an owner who hands ownership on (a transfer): what role_source gives them."""
    # A row gone meanwhile (support staff deleted it, between a page's reads) is in no group, with no entitlement.
    grouped, entitled = (User.objects.filter(pk=person.pk).annotate(grouped=in_admin_group())
                         .values_list("grouped", "scim_roles").first() or (False, ()))
    return role_decided(owner=False, stored=Role.OWNER, role_source=role_source, in_admin_group=grouped,
                        entitlements=tuple(entitled or ()))


@dataclass(frozen=True)
class RolePreview:
    """What a change would do: how many people become admin, how many admins become members."""

    to_admin: int
    to_member: int


def _preview(people: QuerySet[User], role_source: str, admin_group: Exists) -> RolePreview:
    news = [inputs.decide(role_source) for inputs in _changing(people, role_source, admin_group).values()]
    return RolePreview(to_admin=news.count(Role.ADMIN), to_member=news.count(Role.MEMBER))


def role_source_preview(*, tenant: Tenant, role_source: str) -> RolePreview:
    """What switching `tenant` to `role_source` would do now (switching back to `inigo` keeps every role)."""
    return _preview(User.objects.filter(tenant=tenant), role_source, in_admin_group())


def group_role_preview(*, group: TenantGroup, role: str) -> RolePreview:
    """What mapping `group` to `role` would do now, under the tenant's role_source."""
    return _preview(group.members.all(), group.tenant.role_source, in_admin_group(remapped=group, role=role))


def roles_settle(*, tenant_id: int, role_source: str, people: Mapping[Reason, QuerySet[User]]) -> list[RoleChanged]:
    """Give each of `people` the role the function decides, under the tenant's roles lock the caller holds; each
    change is a `role_changed` event with the reason its people are listed under (a person listed under two
    reasons, the first). The changes, in id order.

    The people's rows are locked as late as possible: a person's first sign-in waits for their row while a push
    holds it (accounts.locks), so every write that needs no lock on them comes first, in this order:
    1. their role inputs, in one SELECT, and the roles the function decides (no lock: every input but the owner
       claim is written under the roles lock the caller holds);
    2. the `role_changed` events of those changes, in set-based INSERTs;
    3. the foreign-key checks the transaction deferred so far (the events', the memberships' a push inserted):
       PostgreSQL runs them at COMMIT otherwise, a second for 100,000 rows, with the people locked;
    4. then only: the people whose role changes, LOCK_CHUNK at a time in id order (accounts.locks: one order),
       each chunk locked by a SELECT of ids and roles in id order and written by one UPDATE per new role where
       their role is still the one read; the others (a first sign-in may have made one of them owner meanwhile)
       are decided again on their row as locked, and the event written for them is put right (rare: few rows).
    A person's row is then held from their chunk's UPDATE to the COMMIT, not from the settle's first statement."""
    planned: dict[int, tuple[Inputs, Reason]] = {}
    for reason, queryset in people.items():
        for pk, inputs in _changing(queryset, role_source, in_admin_group()).items():
            planned.setdefault(pk, (inputs, reason))
    if not planned:
        return []
    by_reason: dict[Reason, list[RoleChanged]] = defaultdict(list)
    for pk, (inputs, reason) in planned.items():
        by_reason[reason].append(RoleChanged(pk, inputs.stored, inputs.decide(role_source)))
    events = {}
    for reason, changes in by_reason.items():
        events.update(zip((change.person_id for change in changes),
                          _role_events_insert(tenant_id, changes, reason), strict=True))
    _deferred_checks_run()

    # From here to the COMMIT the people's rows are held: as little Python as can be between the statements.
    done: list[RoleChanged] = []
    wrong: list[int] = []  # events of changes that did not happen as planned
    pks = sorted(planned)
    news = {change.person_id: change for changes in by_reason.values() for change in changes}
    for start in range(0, len(pks), LOCK_CHUNK):
        chunk = [news[pk] for pk in pks[start:start + LOCK_CHUNK]]
        written = _roles_lock_write(chunk)  # those whose role was still the one read
        done.extend(change for change in chunk if change.person_id in written)
        if len(written) == len(chunk):
            continue
        # Their role moved meanwhile (an owner claim), or they were deleted: decided again on the row as locked.
        moved = [change.person_id for change in chunk if change.person_id not in written]
        wrong.extend(moved)
        writes = []
        for pk, stored in _people_lock(moved):
            new = planned[pk][0].decide(role_source, stored=stored)
            if new != stored:
                writes.append(RoleChanged(pk, stored, new))
        _roles_write(writes)
        done.extend(writes)
    if wrong:
        LoginEvent.objects.filter(pk__in=[events[pk] for pk in wrong]).delete()
        wrong_set = set(wrong)
        for reason, changes in by_reason.items():
            pks_of_reason = {change.person_id for change in changes} & wrong_set
            _role_events_insert(tenant_id, [change for change in done if change.person_id in pks_of_reason], reason)
    counts = Counter(planned[change.person_id][1] for change in done)
    for reason, count in counts.items():
        logger.info("roles changed: %d people, by %s (%s)", count, reason.by, reason.why,
                    extra={"event": "role_changed", "tenant_id": tenant_id, "count": count})
    return done


def _people_lock(pks: list[int]) -> list[tuple[int, str]]:
    """Lock these people in id order (accounts.locks) and return their roles as committed now. On PostgreSQL the ids
    are one array parameter: 5,000 placeholders cost more Python than the statement took PostgreSQL."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, role FROM {_USERS} WHERE id = ANY(%s) ORDER BY id "  # noqa: S608 (_USERS)
                           "FOR NO KEY UPDATE", [pks])
            return cursor.fetchall()
    return list(User.objects.filter(pk__in=pks).order_by("pk").select_for_update(no_key=True)
                .values_list("pk", "role"))


def _deferred_checks_run() -> None:
    """Run now the foreign-key checks PostgreSQL deferred to the COMMIT (Django's are DEFERRABLE INITIALLY
    DEFERRED), and defer the later ones again, so that they are not run while people's rows are held."""
    if connection.vendor == "postgresql":
        connection.check_constraints()


def _roles_lock_write(changes: list[RoleChanged]) -> set[int]:
    """Lock these people in id order (accounts.locks) and give each their new role if their role is still the old
    one; the ids of those written. A SELECT of ids and roles, then one UPDATE per new role on ids alone: an
    UPDATE's own row locks come in no defined order (two writers of many people locking in different orders could
    deadlock), PostgreSQL planned a locking sub-SELECT inside an UPDATE as a nested loop run again for every row
    (43 s for 5,000 people) or joined it to a scan of every tenant's people, and a condition on `role` let it pick
    the admins' partial index of the time (dropped since, by migration 0016) and read every admin of the tenant for
    each chunk."""
    stored = dict(_people_lock([change.person_id for change in changes]))
    same = [change for change in changes if stored.get(change.person_id) == change.old]
    _roles_write(same)
    return {change.person_id for change in same}


def _roles_write(changes: list[RoleChanged]) -> None:
    """One UPDATE per new role, never one per person; on PostgreSQL the ids are one array parameter, which the
    primary key's index finds (an UPDATE ... FROM unnest(...) was joined to a scan of every tenant's people)."""
    by_role: dict[str, list[int]] = defaultdict(list)
    for change in changes:
        by_role[change.new].append(change.person_id)
    now = timezone.now()
    for role, pks in by_role.items():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"UPDATE {_USERS} SET role = %s, updated_at = %s WHERE id = ANY(%s)",  # noqa: S608
                               [role, now, pks])
        else:
            User.objects.filter(pk__in=pks).update(role=role, updated_at=now)


def roles_changed_record(tenant_id: int, changes: list[RoleChanged], reason: Reason) -> None:
    """One `role_changed` event per person, in set-based INSERTs, and one log line for them all."""
    if not changes:
        return
    _role_events_insert(tenant_id, changes, reason)
    logger.info("roles changed: %d people, by %s (%s)", len(changes), reason.by, reason.why,
                extra={"event": "role_changed", "tenant_id": tenant_id, "count": len(changes)})


def _role_events_insert(tenant_id: int, changes: list[RoleChanged], reason: Reason) -> list[int]:
    return _events_insert(tenant_id, "role_changed", reason, [
        (change.person_id, f"{change.old} -> {change.new} ({reason.why})") for change in changes
    ])


def _events_insert(tenant_id: int, code: str, reason: Reason, rows: list[tuple[int | None, str]]) -> list[int]:
    """Events of the tenant, one per (person id or None, detail), each with the person's email and subject as
    stored now; their ids, in the order of `rows`. On PostgreSQL an INSERT ... SELECT FROM unnest(...): no model
    instance per event (building 50,000 was most of a push's time)."""
    if not rows:
        return []
    request = reason.request
    ip = client_ip(request) if request is not None else None
    user_agent = storable(request.META.get("HTTP_USER_AGENT", ""))[:300] if request is not None else ""
    details = {detail: storable(f"{detail}, by {reason.by}")[:500] for detail in {detail for _, detail in rows}}
    if connection.vendor != "postgresql":
        return _events_create(tenant_id, code, reason, rows, details, ip, user_agent)
    now = timezone.now()
    references = _references_distinct(len(rows), taken=set())
    ids: list[int | None] = [None] * len(rows)
    pending = list(range(len(rows)))
    sql = (
        f"INSERT INTO {_EVENTS} (created_at, tenant_id, user_id, outcome, reason, kind, email, "  # noqa: S608
        "typed_email, subject, detail, ip_address, user_agent, reference) "
        "SELECT %s, %s, row.person, %s, %s, %s, coalesce(left(person.email, 254), ''), '', "
        "coalesce(left(person.sub, 255), ''), row.detail, %s::inet, %s, row.reference "
        "FROM unnest(%s::bigint[], %s::text[], %s::text[]) WITH ORDINALITY AS row(person, detail, reference, n) "
        f"LEFT JOIN {_USERS} AS person ON person.id = row.person ORDER BY row.n "
        "ON CONFLICT ON CONSTRAINT loginevent_reference_unique DO NOTHING RETURNING id, reference"
    )
    # References are random (inigo_sso.references): one that clashes with a stored event's is skipped by ON
    # CONFLICT, and only those rows are drawn again and inserted again.
    for _attempt in range(3):
        with connection.cursor() as cursor:
            cursor.execute(sql, [
                now, tenant_id, LoginEvent.Outcome.SUCCESS, code, reason.kind, ip, user_agent,
                [rows[i][0] for i in pending], [details[rows[i][1]] for i in pending], [references[i] for i in pending],
            ])
            inserted = dict((reference, pk) for pk, reference in cursor.fetchall())
        for i in pending:
            ids[i] = inserted.get(references[i])
        pending = [i for i in pending if ids[i] is None]
        if not pending:
            return [pk for pk in ids if pk is not None]
        fresh = iter(_references_distinct(len(pending), taken=set(references)))
        for i in pending:
            references[i] = next(fresh)
    raise IntegrityError(f"{len(pending)} event references clashed three times")


def _references_distinct(count: int, *, taken: set[str]) -> list[str]:
    references: list[str] = []
    seen = set(taken)
    while len(references) < count:
        for reference in new_references(count - len(references)):
            if reference not in seen:
                seen.add(reference)
                references.append(reference)
    return references


def _events_create(tenant_id: int, code: str, reason: Reason, rows: list[tuple[int | None, str]],
                   details: dict[str, str], ip: str | None, user_agent: str) -> list[int]:
    """The events on a database without unnest (SQLite, the development server): model instances."""
    people = {pk: (email, sub) for pk, email, sub in
              User.objects.filter(pk__in={pk for pk, _ in rows if pk is not None}).values_list("pk", "email", "sub")}
    events = [
        LoginEvent(tenant_id=tenant_id, user_id=pk, outcome=LoginEvent.Outcome.SUCCESS, reason=code, kind=reason.kind,
                   email=people.get(pk, ("", ""))[0][:254], subject=people.get(pk, ("", ""))[1][:255],
                   detail=details[detail], ip_address=ip, user_agent=user_agent)
        for pk, detail in rows
    ]
    for attempt in range(3):
        try:
            with transaction.atomic():
                LoginEvent.objects.bulk_create(events, batch_size=EVENT_BATCH)
            return [event.pk for event in events]
        except IntegrityError:
            if attempt == 2:
                raise
            for event in events:
                event.reference = new_reference()
    raise AssertionError("unreachable")


def role_event_record(*, tenant: Tenant, code: str, detail: str, reason: Reason) -> None:
    """An event of the tenant about roles that is not one person's role: a mapping changed, role_source switched.
    The person is the actor, when one of the tenant's people made the change on the console."""
    actor = reason.actor if reason.actor is not None and reason.actor.tenant_id == tenant.pk else None
    _events_insert(tenant.pk, code, reason, [(actor.pk if actor is not None else None, detail)])
    logger.info("%s: %s, by %s", code, detail, reason.by, extra={"event": code, "tenant_id": tenant.pk})


# --- the writes that change an input -------------------------------------------------------------------------------


@transaction.atomic
def role_source_change(*, tenant: Tenant, role_source: str, reason: Reason) -> list[RoleChanged]:
    """Switch where the tenant's roles come from. To `okta`: everyone's role follows Okta at once. Back to `inigo`:
    every role stays as it is at this moment (SPEC), to be set by hand from then on."""
    if role_source not in RoleSource.values:
        raise ValueError(f"unknown role_source {role_source!r}")
    roles_lock(tenant.pk)
    # The tenant's row is written, so it is locked first, before any person (accounts.locks: one order).
    tenant_lock(tenant.pk)
    old = Tenant.objects.filter(pk=tenant.pk).values_list("role_source", flat=True).get()
    tenant.role_source = role_source
    if old == role_source:
        return []
    Tenant.objects.filter(pk=tenant.pk).update(role_source=role_source, updated_at=timezone.now())
    role_event_record(tenant=tenant, code="role_source_changed", detail=f"roles come from {role_source}",
                      reason=reason)
    why = Reason(reason.kind, f"roles now come from {role_source}", reason.actor, reason.request)
    return roles_settle(tenant_id=tenant.pk, role_source=role_source, people={why: User.objects.filter(tenant=tenant)})


class GroupGone(LookupError):
    """The group was deleted (Okta unlinked it) since the page was read."""


@transaction.atomic
def group_role_change(*, group: TenantGroup, role: str, reason: Reason) -> list[RoleChanged]:
    """Map a pushed group to `role` ("" for no role, or admin); its members' roles follow under `okta`."""
    if role not in GroupRole.values:
        raise ValueError(f"unknown group role {role!r}")
    roles_lock(group.tenant_id)
    current = TenantGroup.objects.select_related("tenant").filter(pk=group.pk).first()
    if current is None:
        raise GroupGone(str(group))
    if current.role == role:
        return []
    current.role = role
    current.save(update_fields=["role", "updated_at"])
    words = GroupRole(role).label.lower()
    role_event_record(tenant=current.tenant, code="group_role_changed",
                      detail=f"group {current.display_name} mapped to {words}", reason=reason)
    why = Reason(reason.kind, f"group {current.display_name} mapped to {words}", reason.actor, reason.request)
    return roles_settle(tenant_id=current.tenant_id, role_source=current.tenant.role_source,
                        people={why: current.members.all()})


def people_roles_settle(*, tenant: Tenant, people: Mapping[Reason, Iterable[int]]) -> list[RoleChanged]:
    """After a write that changed the inputs of these people (SCIM: a pushed group's members, a user update), under
    the tenant's roles lock that write took first: their ids, by the reason their inputs changed. The write's own
    rows come before (accounts.roles.roles_settle locks the people last)."""
    role_source = Tenant.objects.filter(pk=tenant.pk).values_list("role_source", flat=True).get()
    if role_source != RoleSource.OKTA:
        # Under `inigo` the function reads only the stored role and the owner rule, which these writes leave alone.
        return []
    listed = {reason: sorted(pks) for reason, pks in people.items()}
    return roles_settle(tenant_id=tenant.pk, role_source=role_source, people={
        reason: User.objects.filter(tenant=tenant, pk__in=pks) for reason, pks in listed.items() if pks
    })
