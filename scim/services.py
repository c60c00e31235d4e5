"""Writes of the SCIM service: users and groups of one tenant, each change recorded as a ProvisioningEvent.

Every function takes the tenant that the token picked and touches only that tenant's rows."""

import uuid
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.locks import people_lock, person_lock, tenant_lock
from accounts.models import DeactivatedBy, Role, TenantGroup, User
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
               "name": data.display_name, "email": data.email}
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
    """POST /Users. A person who already signed in (externalId = their sub) is adopted, not duplicated."""
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
        changed = _apply(adoptee, data)
        adoptee.provisioned_at = now
        adoptee.save(update_fields=[*changed, "provisioned_at", "updated_at"])
        _record(tenant, Action.USER_ADOPTED, user=adoptee, detail=f"userName {data.user_name}", user_agent=user_agent)
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
    return user


@transaction.atomic
def scim_user_replace(*, tenant: Tenant, scim_id: str, data_for: Callable[[User], UserInput],
                      user_agent: str = "") -> User:
    """PUT /Users/{id}, and PATCH: `data_for` is what the user becomes, from the user as they are under the lock
    (a PATCH's operations are applied to that resource, RFC 7644 section 3.5.2, not to a copy read before)."""
    user = _user_lock(tenant, scim_id)
    data = data_for(user)
    was_active = user.is_active
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
    fields = ", ".join(sorted(set(changed) - {"provisioned_at"}))
    _record(tenant, action, user=user, detail=f"changed {fields}" if fields else "", user_agent=user_agent)
    return user


@transaction.atomic
def scim_user_delete(*, tenant: Tenant, scim_id: str, user_agent: str = "") -> None:
    """DELETE /Users/{id}: gone for SCIM (RFC 7644 section 3.6: 404 afterwards, absent from lists, its userName
    free again); inside Inigo the person is deactivated and their row and sign-in history stay."""
    user = _user_lock(tenant, scim_id)
    old_id, user_name = user.scim_id, user.scim_user_name
    if user.is_active:
        user.is_active, user.deactivated_by = False, DeactivatedBy.OKTA
    user.scim_user_name = ""
    user.scim_id = str(uuid.uuid4())  # the old id never answers again, even if Okta creates the person anew
    user.save(update_fields=["is_active", "deactivated_by", "scim_user_name", "scim_id", "updated_at"])
    _record(tenant, Action.USER_DELETED, user=user, resource_id=old_id, detail=f"userName {user_name}",
            user_agent=user_agent)


# --- groups ---------------------------------------------------------------------------------------------------


def scim_group_get(*, tenant: Tenant, scim_id: str) -> TenantGroup:
    group = TenantGroup.objects.filter(tenant=tenant, scim_id=scim_id).first() if _plausible_id(scim_id) else None
    if group is None:
        raise ScimError(404, f"Group {scim_id} not found.")
    return group


def member_ids(value: Any) -> list[str]:
    """The user ids of a `members` value: a list of {"value": "<id>"} objects."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or len(value) > 10_000:
        raise invalid_value("members must be a list of objects with a value.")
    ids = []
    for member in value:
        if not isinstance(member, dict) or not isinstance(member.get("value"), str) or not is_storable(member["value"]):
            raise invalid_value("Each member must be an object whose value is a user id.")
        ids.append(member["value"])
    return ids


def _members_lock(tenant: Tenant, ids: list[str], *, leaving: TenantGroup | None = None) -> list[User]:
    """Lock the people whose membership this write changes, only them, in id order, never the tenant
    (accounts.locks): the users of this tenant with these ids and, with `leaving`, that group's present members
    (a replace of the member list, a removal of all, the group's deletion)."""
    people = Q(scim_id__in=set(ids))
    if leaving is not None:
        people |= Q(pk__in=leaving.members.values("pk"))
    return people_lock(User.objects.filter(tenant=tenant).filter(people))


def _tenant_members(people: list[User], ids: list[str]) -> list[User]:
    """The users among `people` (this tenant's) whom SCIM sees with these ids; an id of no user here (another
    tenant's included) is refused."""
    wanted = set(ids)
    users = [user for user in people if user.scim_id in wanted and user.scim_user_name]
    missing = wanted - {user.scim_id for user in users}
    if missing:
        raise invalid_value(f"No user of this organisation has the id {sorted(missing)[0]}.")
    return users


def group_text(value: Any, name: str, *, required: bool = False) -> str:
    return text(value, name, 255, required=required)


@transaction.atomic
def scim_group_create(*, tenant: Tenant, body: dict[str, Any], user_agent: str = "") -> TenantGroup:
    group = TenantGroup(
        tenant=tenant,
        display_name=group_text(body.get("displayName"), "displayName", required=True),
        external_id=group_text(body.get("externalId"), "externalId"),
    )
    ids = member_ids(body.get("members"))
    members = _tenant_members(_members_lock(tenant, ids), ids)
    group.save()
    group.members.set(members)
    _record(tenant, Action.GROUP_CREATED, resource_id=group.scim_id,
            detail=f"{group.display_name}, {len(members)} members", user_agent=user_agent)
    return group


@transaction.atomic
def scim_group_replace(*, tenant: Tenant, group: TenantGroup, body: dict[str, Any], user_agent: str = "") -> None:
    group.display_name = group_text(body.get("displayName"), "displayName", required=True)
    if "externalId" in body:
        group.external_id = group_text(body.get("externalId"), "externalId")
    ids = member_ids(body.get("members"))
    members = _tenant_members(_members_lock(tenant, ids, leaving=group), ids)
    group.save()
    group.members.set(members)
    _record(tenant, Action.GROUP_UPDATED, resource_id=group.scim_id,
            detail=f"{group.display_name}, {len(members)} members", user_agent=user_agent)


@transaction.atomic
def scim_group_patch(*, tenant: Tenant, group: TenantGroup, ops: list[dict[str, Any]], user_agent: str = "") -> None:
    """Okta's Push Groups shapes: rename by `replace` with a value object ({id, displayName}) or path displayName;
    members `add` (path members, a list), `remove` (path `members[value eq "<id>"]`, or members with a list or no
    value), `replace` of members. All operations are checked before any is applied (RFC 7644 section 3.5.2:
    a PATCH is atomic)."""
    add: set[str] = set()
    remove: set[str] = set()
    replace: list[str] | None = None
    remove_all = False
    display_name, external_id = group.display_name, group.external_id
    for op in ops:
        path = strip_schema(op["path"], GROUP_SCHEMA) if op["path"] else None
        value = op["value"]
        if path is None:
            if not isinstance(value, dict):
                raise invalid_value("Without a path, the value must be an object.")
            for key, item in value.items():
                if key.lower() == "displayname":
                    display_name = group_text(item, "displayName", required=True)
                elif key.lower() == "members":
                    ids = member_ids(item)
                    if op["op"] == "add":
                        add.update(ids)
                    else:
                        replace, add, remove = ids, set(), set()
                elif key.lower() == "externalid":
                    external_id = group_text(item, "externalId")
                elif key.lower() not in ("id", "schemas", "meta"):
                    raise ScimError(400, f"The attribute {key!r} is not supported.", "invalidPath")
            continue
        member = parse_member_path(path)
        if member is not None:
            if op["op"] != "remove":
                raise ScimError(400, "A filtered members path is only for remove.", "invalidPath")
            remove.add(member)
            add.discard(member)
        elif path.lower() == "members":
            ids = member_ids(value) if value is not None else []
            if op["op"] == "add":
                add.update(ids)
                remove.difference_update(ids)
            elif op["op"] == "replace":
                replace, add, remove = ids, set(), set()
            elif ids:
                remove.update(ids)
                add.difference_update(ids)
            else:
                remove_all, replace, add, remove = True, None, set(), set()
        elif path.lower() == "externalid":
            external_id = "" if op["op"] == "remove" else group_text(value, "externalId")
        elif path.lower() == "displayname":
            if op["op"] == "remove":
                raise ScimError(400, "displayName is required.", "mutability")
            display_name = group_text(value, "displayName", required=True)
        else:
            raise ScimError(400, f"The path {op['path']!r} is not supported.", "invalidPath")
    leaving = group if replace is not None or remove_all else None
    people = _members_lock(tenant, [*add, *remove, *(replace or [])], leaving=leaving)
    added = _tenant_members(people, [*add, *(replace or [])])
    group.display_name, group.external_id = display_name, external_id
    group.save(update_fields=["display_name", "external_id", "updated_at"])
    if remove_all:
        group.members.clear()
    if replace is not None:
        group.members.set([user for user in added if user.scim_id in set(replace)])
    if remove:
        group.members.remove(*[user for user in people if user.scim_id in remove and user.scim_user_name])
    if add:
        group.members.add(*[user for user in added if user.scim_id in add])
    _record(tenant, Action.GROUP_UPDATED, resource_id=group.scim_id,
            detail=f"{group.display_name}: +{len(add)} -{len(remove)} members"
            + (f", members replaced ({len(replace)})" if replace is not None else "")
            + (", all members removed" if remove_all else ""),
            user_agent=user_agent)


@transaction.atomic
def scim_group_delete(*, tenant: Tenant, group: TenantGroup, user_agent: str = "") -> None:
    _members_lock(tenant, [], leaving=group)
    _record(tenant, Action.GROUP_DELETED, resource_id=group.scim_id, detail=group.display_name,
            user_agent=user_agent)
    group.delete()
