"""Writes of the SCIM service: users and groups of one tenant, each change recorded as a ProvisioningEvent.

Every function takes the tenant that the token picked and touches only that tenant's rows."""

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet, Value
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.events import EventKind
from accounts.locks import people_lock, person_lock, roles_lock, tenant_lock
from accounts.models import DeactivatedBy, GroupRole, Role, TenantGroup, User
from accounts.roles import Reason, people_roles_settle
from inigo_sso.text import is_storable
from scim.errors import ScimError, invalid_value
from scim.filters import GROUP_SCHEMA, parse_member_path
from scim.models import ProvisioningEvent
from scim.patch import strip_schema
from scim.resources import UserInput, text
from tenants.models import Tenant

Action = ProvisioningEvent.Action


def scim_users(tenant: Tenant) -> QuerySet[User]:
    """The tenant's users that SCIM sees: those with a userName (a DELETEd one has none)."""
    return User.objects.filter(tenant=tenant).exclude(scim_user_name="")


def _plausible_id(scim_id: str) -> bool:
    # Ids are UUIDs; anything else (a NUL character from %00, which PostgreSQL text refuses) matches no row.
    return 0 < len(scim_id) <= 64 and is_storable(scim_id)


def _user_not_found(scim_id: str) -> ScimError:
    return ScimError(404, f"User {scim_id} not found.")


def scim_user_get(*, tenant: Tenant, scim_id: str) -> User:
    user = scim_users(tenant).filter(scim_id=scim_id).first() if _plausible_id(scim_id) else None
    if user is None:
        raise _user_not_found(scim_id)
    return user


def with_user_name(queryset: QuerySet[User], user_name: str) -> QuerySet[User]:
    """Served by the index user_scim_user_name_unique: (tenant, lower(scim_user_name))."""
    return queryset.alias(scim_user_name_lower=Lower("scim_user_name")).filter(
        scim_user_name_lower=Lower(Value(user_name))
    )


def _record(tenant: Tenant, action: str, *, user: User | None = None, resource_id: str = "", detail: str = "",
            user_agent: str = "") -> None:
    ProvisioningEvent.objects.create(
        tenant=tenant, action=action, user=user, resource_id=resource_id or (user.scim_id if user else ""),
        detail=detail[:500], user_agent=user_agent[:300],
    )


def _user_lock(tenant: Tenant, scim_id: str) -> User:
    """The tenant's row and then this user's locked (accounts.locks), and the user as committed now: a PUT, PATCH
    or DELETE and that person's first sign-in run one after the other, each seeing what the other wrote, and a
    deactivation is never overwritten by a copy of the row read before it."""
    if not _plausible_id(scim_id):
        raise _user_not_found(scim_id)
    user = person_lock(tenant_id=tenant.pk, person=scim_users(tenant).filter(scim_id=scim_id))
    if user is None:
        raise _user_not_found(scim_id)
    return user


def _conflict(detail: str) -> ScimError:
    return ScimError(409, detail, "uniqueness")


def _apply(user: User, data: UserInput) -> list[str]:
    changes = {"scim_user_name": data.user_name, "first_name": data.given_name, "last_name": data.family_name,
               "name": data.display_name, "email": data.email, "scim_roles": data.roles}
    if "active" in data.present and data.active != user.is_active:
        if not data.active:
            changes.update(is_active=False, deactivated_by=DeactivatedBy.OKTA)
        elif user.deactivated_by != DeactivatedBy.SUPPORT:
            # SPEC: Okta sends `active: true` with every profile push; a person support staff switched off stays
            # off until support switch them on, and the answer says `active: false`.
            changes["is_active"] = True
    changed = [name for name, value in changes.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, changes[name])
    return changed


@transaction.atomic
def scim_user_create(*, tenant: Tenant, data: UserInput, user_agent: str = "") -> User:
    """POST /Users. A person who already signed in (externalId = their sub) is adopted, not duplicated. Roles Okta
    assigned in the POST are an input of the person's role (accounts.roles), settled in this transaction."""
    roles_lock(tenant.pk)  # before any row lock (accounts.locks), as every write of a role's input
    # The lock a first sign-in takes (accounts.services._first_sign_in), then the adopted person's (accounts.locks):
    # a POST and that person's first sign-in never both create the same person.
    tenant_lock(tenant.pk)
    holder = with_user_name(User.objects.filter(tenant=tenant), data.user_name).first()
    adoptee = None
    if data.external_id:
        found = people_lock(User.objects.filter(tenant=tenant, issuer=tenant.issuer, sub=data.external_id))
        adoptee = found[0] if found else None
        if adoptee is not None and adoptee.provisioned_at is not None and adoptee.scim_user_name:
            raise _conflict(f"A user with externalId {data.external_id} exists.")
    if holder is not None and holder != adoptee:
        raise _conflict(f"The userName {data.user_name} is taken.")
    now = timezone.now()
    if adoptee is not None:
        old_roles = adoptee.scim_roles
        changed = _apply(adoptee, data)
        adoptee.provisioned_at = now
        adoptee.save(update_fields=[*changed, "provisioned_at", "updated_at"])
        _record(tenant, Action.USER_ADOPTED, user=adoptee, detail=f"userName {data.user_name}", user_agent=user_agent)
        _entitled_roles_settle(tenant, adoptee, old_roles, adoptee.scim_roles)
        return adoptee
    user = User(
        tenant=tenant, username=f"t{tenant.pk}-scim-{uuid.uuid4().hex}", role=Role.MEMBER, provisioned_at=now,
        issuer=tenant.issuer if data.external_id else "", sub=data.external_id,
    )
    _apply(user, data)
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # where there are no row locks (SQLite), a concurrent writer won
        raise _conflict(f"The userName {data.user_name} is taken.") from exc
    _record(tenant, Action.USER_CREATED, user=user, detail=f"userName {data.user_name}", user_agent=user_agent)
    _entitled_roles_settle(tenant, user, [], user.scim_roles)
    return user


def _roles_words(values: list[str]) -> str:
    return ", ".join(values) or "none"


def _entitled_roles_settle(tenant: Tenant, user: User, old: list[str], new: list[str]) -> None:
    """The person's role after Okta changed the roles it assigned them, under the roles lock the write took first:
    an `admin` entitlement makes an admin under role_source `okta` (accounts.roles); under `inigo` nobody's role."""
    if old == new:
        return
    reason = Reason(EventKind.PROVISIONING, f"roles in Okta: {_roles_words(new)}")
    for change in people_roles_settle(tenant=tenant, people={reason: [user.pk]}):
        user.role = change.new


@transaction.atomic
def scim_user_replace(*, tenant: Tenant, scim_id: str, data_for: Callable[[User], UserInput],
                      user_agent: str = "") -> User:
    """PUT /Users/{id}, and PATCH: `data_for` is what the user becomes, from the user as they are under the lock
    (a PATCH's operations are applied to that resource, RFC 7644 section 3.5.2, not to a copy read before).
    The roles lock comes first (accounts.locks): an update is an input of the person's role (accounts.roles)."""
    roles_lock(tenant.pk)
    user = _user_lock(tenant, scim_id)
    data = data_for(user)
    was_active, old_roles = user.is_active, user.scim_roles
    changed = _apply(user, data)
    if data.external_id and data.external_id != user.sub:
        if user.last_login is not None:
            # externalId is the sub that this person signs in with: changing it would detach their sign-ins.
            raise ScimError(400, "externalId cannot change for a person who has signed in.", "mutability")
        if User.objects.filter(tenant=tenant, issuer=tenant.issuer, sub=data.external_id).exists():
            raise _conflict(f"A user with externalId {data.external_id} exists.")
        user.issuer, user.sub = tenant.issuer, data.external_id
        changed += ["issuer", "sub"]
    if user.provisioned_at is None:
        user.provisioned_at = timezone.now()
        changed.append("provisioned_at")
    if not changed:
        return user
    try:
        with transaction.atomic():
            user.save(update_fields=[*changed, "updated_at"])
    except IntegrityError as exc:
        raise _conflict(f"The userName {data.user_name} is taken.") from exc
    if was_active != user.is_active:
        action = Action.USER_REACTIVATED if user.is_active else Action.USER_DEACTIVATED
    else:
        action = Action.USER_UPDATED
    _record(tenant, action, user=user, detail=_changed_words(changed, old_roles, user.scim_roles),
            user_agent=user_agent)
    _entitled_roles_settle(tenant, user, old_roles, user.scim_roles)
    return user


def _changed_words(changed: list[str], old_roles: list[str], new_roles: list[str]) -> str:
    fields = sorted(set(changed) - {"provisioned_at", "scim_roles"})
    words = [f"changed {', '.join(fields)}"] if fields else []
    if old_roles != new_roles:
        words.append(f"roles {_roles_words(old_roles)} -> {_roles_words(new_roles)}")
    return "; ".join(words)


@transaction.atomic
def scim_user_delete(*, tenant: Tenant, scim_id: str, user_agent: str = "") -> None:
    """DELETE /Users/{id}: gone for SCIM (RFC 7644 section 3.6: 404 afterwards, absent from lists, its userName
    free again); inside Inigo the person is deactivated and their row and sign-in history stay. The roles Okta
    assigned go with the resource, and the person's role follows (accounts.roles), so the roles lock comes first."""
    roles_lock(tenant.pk)
    user = _user_lock(tenant, scim_id)
    old_id, user_name, old_roles = user.scim_id, user.scim_user_name, user.scim_roles
    if user.is_active:
        user.is_active, user.deactivated_by = False, DeactivatedBy.OKTA
    user.scim_user_name, user.scim_roles = "", []
    user.scim_id = str(uuid.uuid4())  # the old id never answers again, even if Okta creates the person anew
    user.save(update_fields=["is_active", "deactivated_by", "scim_user_name", "scim_roles", "scim_id", "updated_at"])
    _record(tenant, Action.USER_DELETED, user=user, resource_id=old_id, detail=f"userName {user_name}",
            user_agent=user_agent)
    _entitled_roles_settle(tenant, user, old_roles, [])


# --- groups ---------------------------------------------------------------------------------------------------


def scim_group_get(*, tenant: Tenant, scim_id: str) -> TenantGroup:
    group = TenantGroup.objects.filter(tenant=tenant, scim_id=scim_id).first() if _plausible_id(scim_id) else None
    if group is None:
        raise ScimError(404, f"Group {scim_id} not found.")
    return group


MAX_MEMBERS = 100_000  # per request: Okta pushes groups of 50,000 people and more (the /Groups body cap bounds it too)
LOOKUP_CHUNK = 20_000  # member ids per SELECT: well under PostgreSQL's 65,535 parameters of one statement
INSERT_CHUNK = 5_000  # memberships per INSERT
Membership = TenantGroup.members.through
_MEMBERSHIPS = Membership._meta.db_table  # from the app registry, never from input


def member_ids(value: Any) -> list[str]:
    """The user ids of a `members` value: a list of {"value": "<id>"} objects."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or len(value) > MAX_MEMBERS:
        raise invalid_value(f"members must be a list of at most {MAX_MEMBERS} objects with a value.")
    ids = []
    for member in value:
        if not isinstance(member, dict) or not isinstance(member.get("value"), str) or not is_storable(member["value"]):
            raise invalid_value("Each member must be an object whose value is a user id.")
        ids.append(member["value"])
    return ids


def _member_pks(tenant: Tenant, ids: Collection[str], *, all_known: bool = True) -> set[int]:
    """The row ids of the users of this tenant whom SCIM sees with these ids, in chunked SELECTs. With `all_known`,
    an id of no user here (another tenant's included) is refused; otherwise it is passed over (a removal)."""
    wanted = sorted(set(ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start:start + LOOKUP_CHUNK]
        found.update(scim_users(tenant).filter(scim_id__in=chunk).values_list("scim_id", "pk"))
    if all_known and len(found) < len(wanted):
        missing = next(scim_id for scim_id in wanted if scim_id not in found)
        raise invalid_value(f"No user of this organisation has the id {missing}.")
    return set(found.values())


def _members_now(group: TenantGroup) -> set[int]:
    return set(Membership.objects.filter(tenantgroup_id=group.pk).values_list("user_id", flat=True))


def _members_add(group: TenantGroup, pks: set[int]) -> None:
    # Set-based, an existing membership left as it is. Each row takes FOR KEY SHARE on its person (a foreign key),
    # which no sign-in's lock conflicts with (accounts.locks). On PostgreSQL one INSERT ... SELECT FROM unnest(...)
    # of the ids as one array: no model instance per member.
    if not pks:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {_MEMBERSHIPS} (tenantgroup_id, user_id) "
                           "SELECT %s, unnest(%s::bigint[]) ON CONFLICT DO NOTHING", [group.pk, sorted(pks)])
        return
    Membership.objects.bulk_create([Membership(tenantgroup_id=group.pk, user_id=pk) for pk in sorted(pks)],
                                   batch_size=INSERT_CHUNK, ignore_conflicts=True)


def _members_remove(group: TenantGroup, pks: set[int]) -> None:
    if pks:
        Membership.objects.filter(tenantgroup_id=group.pk, user_id__in=sorted(pks)).delete()


def _group_locked(tenant: Tenant, group: TenantGroup) -> TenantGroup:
    """The tenant's roles lock first (accounts.locks: a write of a group's members changes who is in a group mapped
    to admin, and another such write, a mapping change or a role_source switch runs after it, never beside it), then
    the group as committed now."""
    roles_lock(tenant.pk)
    current = TenantGroup.objects.filter(tenant=tenant, pk=group.pk).first()
    if current is None:
        raise ScimError(404, f"Group {group.scim_id} not found.")
    return current


def _group_roles_settle(tenant: Tenant, group: TenantGroup, *, removed: Collection[int] = (),
                        added: Collection[int] = (), why: str = "") -> None:
    """The roles of the people whose membership of `group` changed, once every row of the write is written: the
    people's rows are locked last (accounts.roles.roles_settle). Only a group mapped to admin is an input of the
    role function (accounts.roles): the others change nobody's role."""
    if group.role != GroupRole.ADMIN or not (removed or added):
        return
    people: dict[Reason, Collection[int]] = {}
    if removed:
        people[Reason(EventKind.PROVISIONING, why or f"removed from group {group.display_name}")] = removed
    if added:
        people[Reason(EventKind.PROVISIONING, why or f"added to group {group.display_name}")] = added
    people_roles_settle(tenant=tenant, people=people)


def _members_replace(group: TenantGroup, pks: set[int]) -> tuple[set[int], set[int]]:
    """The group's members are now `pks`: who left it, and who joined it."""
    now = _members_now(group)
    _members_remove(group, now - pks)
    _members_add(group, pks - now)
    return now - pks, pks - now


def group_text(value: Any, name: str, *, required: bool = False) -> str:
    return text(value, name, 255, required=required)


@transaction.atomic
def scim_group_create(*, tenant: Tenant, body: dict[str, Any], user_agent: str = "") -> TenantGroup:
    group = TenantGroup(
        tenant=tenant,
        display_name=group_text(body.get("displayName"), "displayName", required=True),
        external_id=group_text(body.get("externalId"), "externalId"),
    )
    pks = _member_pks(tenant, member_ids(body.get("members")))
    group.save()
    _members_add(group, pks)  # a new group is mapped to no role: nobody's role changes
    _record(tenant, Action.GROUP_CREATED, resource_id=group.scim_id,
            detail=f"{group.display_name}, {len(pks)} members", user_agent=user_agent)
    return group


@transaction.atomic
def scim_group_replace(*, tenant: Tenant, group: TenantGroup, body: dict[str, Any], user_agent: str = "") -> None:
    """PUT /Groups/{id}: the whole group, its members included (RFC 7644 section 3.5.1)."""
    display_name = group_text(body.get("displayName"), "displayName", required=True)
    external_id = group_text(body.get("externalId"), "externalId") if "externalId" in body else None
    ids = member_ids(body.get("members"))
    group = _group_locked(tenant, group)
    pks = _member_pks(tenant, ids)
    group.display_name = display_name
    if external_id is not None:
        group.external_id = external_id
    group.save()
    removed, added = _members_replace(group, pks)
    _record(tenant, Action.GROUP_UPDATED, resource_id=group.scim_id,
            detail=f"{group.display_name}, {len(pks)} members", user_agent=user_agent)
    _group_roles_settle(tenant, group, removed=removed, added=added)


@dataclass
class GroupPatch:
    """What a PATCH of a group does, once all its operations are read (RFC 7644 section 3.5.2: all or nothing)."""

    display_name: str
    external_id: str
    add: set[str] = field(default_factory=set)
    remove: set[str] = field(default_factory=set)
    replace: list[str] | None = None
    remove_all: bool = False

    def members_add(self, ids: list[str]) -> None:
        self.add.update(ids)
        self.remove.difference_update(ids)

    def members_remove(self, ids: list[str]) -> None:
        self.remove.update(ids)
        self.add.difference_update(ids)

    def members_replace(self, ids: list[str]) -> None:
        self.replace, self.add, self.remove = ids, set(), set()

    def members_clear(self) -> None:
        self.remove_all, self.replace, self.add, self.remove = True, None, set(), set()

    def words(self) -> str:
        return (f"{self.display_name}: +{len(self.add)} -{len(self.remove)} members"
                + (f", members replaced ({len(self.replace)})" if self.replace is not None else "")
                + (", all members removed" if self.remove_all else ""))


def _patch_read(group: TenantGroup, ops: list[dict[str, Any]]) -> GroupPatch:
    """Okta's Push Groups shapes: rename by `replace` with a value object ({id, displayName}) or path displayName;
    members `add` (path members, a list), `remove` (path `members[value eq "<id>"]`, or members with a list or no
    value), `replace` of members. Every operation is checked before any is applied."""
    patch = GroupPatch(group.display_name, group.external_id)
    for op in ops:
        path = strip_schema(op["path"], GROUP_SCHEMA) if op["path"] else None
        value = op["value"]
        if path is None:
            _patch_value_object(patch, op["op"], value)
            continue
        member = parse_member_path(path)
        if member is not None:
            if op["op"] != "remove":
                raise ScimError(400, "A filtered members path is only for remove.", "invalidPath")
            patch.members_remove([member])
        elif path.lower() == "members":
            ids = member_ids(value) if value is not None else []
            if op["op"] == "add":
                patch.members_add(ids)
            elif op["op"] == "replace":
                patch.members_replace(ids)
            elif ids:
                patch.members_remove(ids)
            else:
                patch.members_clear()
        elif path.lower() == "externalid":
            patch.external_id = "" if op["op"] == "remove" else group_text(value, "externalId")
        elif path.lower() == "displayname":
            if op["op"] == "remove":
                raise ScimError(400, "displayName is required.", "mutability")
            patch.display_name = group_text(value, "displayName", required=True)
        else:
            raise ScimError(400, f"The path {op['path']!r} is not supported.", "invalidPath")
    return patch


def _patch_value_object(patch: GroupPatch, op: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise invalid_value("Without a path, the value must be an object.")
    for key, item in value.items():
        if key.lower() == "displayname":
            patch.display_name = group_text(item, "displayName", required=True)
        elif key.lower() == "members":
            ids = member_ids(item)
            if op == "add":
                patch.members_add(ids)
            else:
                patch.members_replace(ids)
        elif key.lower() == "externalid":
            patch.external_id = group_text(item, "externalId")
        elif key.lower() not in ("id", "schemas", "meta"):
            raise ScimError(400, f"The attribute {key!r} is not supported.", "invalidPath")


@transaction.atomic
def scim_group_patch(*, tenant: Tenant, group: TenantGroup, ops: list[dict[str, Any]], user_agent: str = "") -> None:
    """PATCH /Groups/{id}, one transaction (RFC 7644 section 3.5.2: all or nothing), set-based whatever its size."""
    group = _group_locked(tenant, group)
    patch = _patch_read(group, ops)
    # Every id is resolved (and an unknown one refused) before anything is written.
    replacing = _member_pks(tenant, patch.replace) if patch.replace is not None else None
    joining = _member_pks(tenant, patch.add)
    leaving = _member_pks(tenant, patch.remove, all_known=False)
    group.display_name, group.external_id = patch.display_name, patch.external_id
    group.save(update_fields=["display_name", "external_id", "updated_at"])
    removed: set[int] = set()
    added: set[int] = set()
    if patch.remove_all or replacing is not None:
        removed, added = _members_replace(group, replacing or set())
    _members_remove(group, leaving)
    _members_add(group, joining)
    _record(tenant, Action.GROUP_UPDATED, resource_id=group.scim_id, detail=patch.words(), user_agent=user_agent)
    # Added and removed people are settled as named: one who already was (or was not) a member keeps their role.
    # Each is settled once, on the membership the PATCH left (the operations after a replace of members win).
    _group_roles_settle(tenant, group, removed=(removed | leaving) - joining, added=(added | joining) - leaving)


@transaction.atomic
def scim_group_delete(*, tenant: Tenant, group: TenantGroup, user_agent: str = "") -> None:
    """DELETE /Groups/{id} (Okta's "unlink pushed group: delete the group in the target app"): its members leave
    it, and their roles follow when it was mapped to admin."""
    group = _group_locked(tenant, group)
    members = _members_now(group)
    _record(tenant, Action.GROUP_DELETED, resource_id=group.scim_id, detail=group.display_name,
            user_agent=user_agent)
    group.delete()
    _group_roles_settle(tenant, group, removed=members, why=f"group {group.display_name} deleted in Okta")
