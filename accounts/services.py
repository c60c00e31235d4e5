"""Writes of the accounts app: just-in-time users, ownership, login events."""

import hashlib
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from accounts.models import LoginEvent, Role, User
from inigo_sso.client_ip import client_ip
from inigo_sso.references import new_reference
from tenants.models import Tenant

login_logger = logging.getLogger("accounts.login")

_PROFILE_LIMITS = {"email": 254, "first_name": 150, "last_name": 150, "name": 300}


def user_provision(*, tenant: Tenant, claims: dict[str, Any]) -> User:
    """The user these validated claims identify, created on first login and updated on every later one.

    Identity is (tenant, issuer, sub) and nothing else: email is profile data and may change or repeat."""
    identity = {"tenant": tenant, "issuer": tenant.issuer, "sub": claims["sub"]}
    profile = _profile_from_claims(claims)
    user = User.objects.filter(**identity).first()
    if user is not None:
        user.tenant = tenant  # the instance we hold: no second query for user.tenant later in the login
        return _profile_update(user, profile)
    for attempt in range(3):
        try:
            return _user_create(tenant=tenant, identity=identity, profile=profile)
        except IntegrityError:
            # Only where the database has no row locks (SQLite): another login created a user or took
            # ownership between our read and our write. Read again and retry.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def _user_create(*, tenant: Tenant, identity: dict[str, Any], profile: dict[str, str]) -> User:
    # The first successful login of a tenant makes its owner. When twenty people of a new tenant click the
    # tile in the same second, each would see "no owner yet" and try to become owner; the unique constraint
    # `one_owner_per_tenant` would let one through and fail the others with an error. Locking the tenant row
    # serialises the creation of that tenant's users (returning users never take this lock), so each creator
    # sees the owner of the one before it and becomes a member.
    Tenant.objects.select_for_update().filter(pk=tenant.pk).values_list("pk").first()
    user = User.objects.filter(**identity).first()
    if user is not None:  # the same person's other tab created it while we waited for the lock
        user.tenant = tenant
        return _profile_update(user, profile)
    has_owner = User.objects.filter(tenant=tenant, role=Role.OWNER).exists()
    user = User(
        username=_username(identity),
        role=Role.MEMBER if has_owner else Role.OWNER,
        **identity,
        **profile,
    )
    user.set_unusable_password()  # Okta users never sign in with a password, and never reach the admin
    user.save()
    return user


def _profile_from_claims(claims: dict[str, Any]) -> dict[str, str]:
    profile = {
        "email": claims.get("email"),
        "first_name": claims.get("given_name"),
        "last_name": claims.get("family_name"),
        "name": claims.get("name"),
    }
    return {
        field: value[: _PROFILE_LIMITS[field]] if isinstance(value, str) else "" for field, value in profile.items()
    }


def _profile_update(user: User, profile: dict[str, str]) -> User:
    changed = [field for field, value in profile.items() if value and getattr(user, field) != value]
    for field in changed:
        setattr(user, field, profile[field])
    if changed:
        user.save(update_fields=changed)
    return user


def _username(identity: dict[str, Any]) -> str:
    digest = hashlib.sha256(f"{identity['issuer']}\n{identity['sub']}".encode()).hexdigest()[:32]
    return f"t{identity['tenant'].pk}-{digest}"


def login_event_record(
    request: HttpRequest,
    *,
    reason: str,
    tenant: Tenant | None = None,
    user: User | None = None,
    claims: dict[str, Any] | None = None,
    email: str = "",
    detail: str = "",
) -> LoginEvent:
    """Record one login attempt, in the database and as one log line. `detail` must never hold a secret, code or
    token."""
    claims = claims or {}
    outcome = LoginEvent.Outcome.SUCCESS if reason == "ok" else LoginEvent.Outcome.FAILURE
    request.log_tenant = tenant.slug if tenant else None
    event = LoginEvent(
        tenant=tenant,
        user=user,
        outcome=outcome,
        reason=reason,
        email=(email or (user.email if user else "") or str(claims.get("email") or ""))[:254],
        subject=(user.sub if user else str(claims.get("sub") or ""))[:255],
        detail=detail[:500],
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
    )
    _save_with_unique_reference(event)
    request.support_reference = event.reference  # the request's log line carries it too
    login_logger.log(
        logging.INFO if reason == "ok" else logging.WARNING,
        "login %s reason=%s reference=%s detail=%s", outcome, reason, event.reference, detail[:500],
        extra={"event": "login", "tenant": request.log_tenant, "outcome": outcome, "reason": reason,
               "reference": event.reference, "user_id": user.pk if user else None},
    )
    return event


def _save_with_unique_reference(event: LoginEvent) -> None:
    # The reference is random (inigo_sso.references); a clash with an existing one is rare and drawn again.
    for attempt in range(3):
        try:
            with transaction.atomic():
                event.save(force_insert=True)
            return
        except IntegrityError:
            if attempt == 2:
                raise
            event.reference = new_reference()


class OwnershipTransferError(ValueError):
    """The transfer cannot happen; the message says why, in words for support staff."""


@transaction.atomic
def ownership_transfer(*, new_owner: User) -> None:
    """Make `new_owner` the owner of their tenant and the current owner an admin, in one transaction.

    The tenant row is locked first, the same lock a first login takes in _user_create: a first login cannot
    claim ownership halfway through a transfer, and two transfers for one tenant run one after the other. The
    old owner is demoted before the new one is promoted because `one_owner_per_tenant` is checked at each
    statement: promoting first would hold two owners for a moment and fail."""
    if new_owner.tenant_id is None:
        raise OwnershipTransferError(f"{new_owner} is a staff account, not a member of a customer organisation.")
    Tenant.objects.select_for_update().filter(pk=new_owner.tenant_id).values_list("pk").first()
    # Read again under the lock: the role we were handed may be stale.
    user = User.objects.filter(pk=new_owner.pk, tenant_id=new_owner.tenant_id).first()
    if user is None:
        raise OwnershipTransferError(f"{new_owner} no longer belongs to this organisation.")
    if user.role == Role.OWNER:
        raise OwnershipTransferError(f"{user} is already the owner of {user.tenant.name}.")
    if not user.is_active:
        raise OwnershipTransferError(f"{user} is deactivated; reactivate them before making them the owner.")
    User.objects.filter(tenant_id=user.tenant_id, role=Role.OWNER).update(role=Role.ADMIN)
    User.objects.filter(pk=user.pk).update(role=Role.OWNER)
    new_owner.role = Role.OWNER
