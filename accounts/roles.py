"""Roles from Okta (SPEC "Roles from Okta"): one pure function decides a person's role, and every write that changes
one of its inputs settles, in its own transaction, the roles of the people it touched with that function.

The inputs: the owner rule (ownership is claimed by a tenant's first sign-in and moves only by a transfer), the
tenant's `role_source`, whether the person is in a pushed group mapped to admin, and the SCIM role entitlements Okta
assigned them (`User.scim_roles`, written by scim.services). Activity is not an input: a deactivated person keeps
the role the rule gives, and can do nothing with it.

Locks (accounts.locks): the caller holds the tenant's roles lock before it changes an input; `roles_settle` then
reads the inputs of the people concerned in one statement, locks only those whose role changes, in id order, decides
again on the rows as locked (a first sign-in may have made one of them owner meanwhile), and writes one UPDATE per
new role and the `role_changed` events in chunked INSERTs: a 50,000-member push costs a handful of statements.
"""

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.events import EventKind
from accounts.locks import people_lock, roles_lock, tenant_lock
from accounts.models import GroupRole, LoginEvent, Role, TenantGroup, User
from inigo_sso.client_ip import client_ip
from inigo_sso.references import new_reference
from inigo_sso.text import storable
from tenants.models import RoleSource, Tenant

logger = logging.getLogger("accounts.roles")

EVENT_BATCH = 5_000  # rows per INSERT of role_changed events


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
    person: User
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
    for pk, stored, grouped, entitled in rows.iterator(chunk_size=10_000):
        inputs = Inputs(stored, grouped, tuple(entitled or ()))
        if inputs.decide(role_source) != stored:
            changing[pk] = inputs
    return changing


def role_after_ownership(*, person: User, role_source: str) -> str:
    """The role of an owner who hands ownership on (a transfer): what role_source gives them."""
    grouped, entitled = (User.objects.filter(pk=person.pk).annotate(grouped=in_admin_group())
                         .values_list("grouped", "scim_roles").get())
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


def roles_settle(*, tenant_id: int, people: QuerySet[User], role_source: str, reason: Reason) -> list[RoleChanged]:
    """Give each of `people` the role the function decides, under the tenant's roles lock the caller holds; each
    change is a `role_changed` event. The changes, in id order."""
    changing = _changing(people, role_source, in_admin_group())
    if not changing:
        return []
    # Only the people whose role changes, in id order (accounts.locks), as committed now: decided again on the row
    # as locked, since a first sign-in may have made one of them owner meanwhile. The other inputs cannot have
    # moved: every write of them holds the roles lock the caller holds.
    locked = people_lock(User.objects.filter(pk__in=changing).only("pk", "role", "email", "sub", "tenant_id"))
    done = []
    for person in locked:
        new = changing[person.pk].decide(role_source, stored=person.role)
        if new != person.role:
            done.append(RoleChanged(person, person.role, new))
    _roles_write(done)
    roles_changed_record(tenant_id, done, reason)
    return done


def _roles_write(changes: list[RoleChanged]) -> None:
    by_role: dict[str, list[int]] = defaultdict(list)
    for change in changes:
        by_role[change.new].append(change.person.pk)
    now = timezone.now()
    for role, pks in by_role.items():  # one UPDATE per new role, never one per person
        User.objects.filter(pk__in=pks).update(role=role, updated_at=now)
    for change in changes:
        change.person.role = change.new


def _event(tenant_id: int, person: User | None, code: str, detail: str, reason: Reason) -> LoginEvent:
    request = reason.request
    return LoginEvent(
        tenant_id=tenant_id, user=person, outcome=LoginEvent.Outcome.SUCCESS, reason=code, kind=reason.kind,
        email=person.email[:254] if person else "", subject=person.sub[:255] if person else "",
        detail=storable(f"{detail}, by {reason.by}")[:500],
        ip_address=client_ip(request) if request is not None else None,
        user_agent=storable(request.META.get("HTTP_USER_AGENT", ""))[:300] if request is not None else "",
    )


def roles_changed_record(tenant_id: int, changes: list[RoleChanged], reason: Reason) -> None:
    """One `role_changed` event per person, in chunked INSERTs, and one log line for them all."""
    if not changes:
        return
    _insert_with_unique_references([
        _event(tenant_id, change.person, "role_changed", f"{change.old} -> {change.new} ({reason.why})", reason)
        for change in changes
    ])
    logger.info("roles changed: %d people, by %s (%s)", len(changes), reason.by, reason.why,
                extra={"event": "role_changed", "tenant_id": tenant_id, "count": len(changes)})


def _insert_with_unique_references(events: list[LoginEvent]) -> None:
    # References are random (inigo_sso.references): a clash is rare, and the whole batch is drawn again.
    for attempt in range(3):
        try:
            with transaction.atomic():
                LoginEvent.objects.bulk_create(events, batch_size=EVENT_BATCH)
            return
        except IntegrityError:
            if attempt == 2:
                raise
            for event in events:
                event.reference = new_reference()


def role_event_record(*, tenant: Tenant, code: str, detail: str, reason: Reason) -> None:
    """An event of the tenant about roles that is not one person's role: a mapping changed, role_source switched.
    The person is the actor, when one of the tenant's people made the change on the console."""
    actor = reason.actor if reason.actor is not None and reason.actor.tenant_id == tenant.pk else None
    _insert_with_unique_references([_event(tenant.pk, actor, code, detail, reason)])
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
    return roles_settle(tenant_id=tenant.pk, people=User.objects.filter(tenant=tenant), role_source=role_source,
                        reason=Reason(reason.kind, f"roles now come from {role_source}", reason.actor, reason.request))


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
    return roles_settle(
        tenant_id=current.tenant_id, people=current.members.all(), role_source=current.tenant.role_source,
        reason=Reason(reason.kind, f"group {current.display_name} mapped to {words}", reason.actor, reason.request),
    )


def people_roles_settle(*, tenant: Tenant, pks: Iterable[int], reason: Reason) -> list[RoleChanged]:
    """After a write that changed the inputs of these people (SCIM: a pushed group's members, a user update), under
    the tenant's roles lock that write took first."""
    role_source = Tenant.objects.filter(pk=tenant.pk).values_list("role_source", flat=True).get()
    if role_source != RoleSource.OKTA:
        # Under `inigo` the function reads only the stored role and the owner rule, which these writes leave alone.
        return []
    return roles_settle(tenant_id=tenant.pk, people=User.objects.filter(tenant=tenant, pk__in=list(pks)),
                        role_source=role_source, reason=reason)
