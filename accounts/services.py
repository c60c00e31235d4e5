"""Writes of the accounts app: just-in-time users, ownership, login events."""

import hashlib
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from accounts.models import LoginEvent, Role, User
from tenants.models import Tenant

_PROFILE_LIMITS = {"email": 254, "first_name": 150, "last_name": 150, "name": 300}


def user_provision(*, tenant: Tenant, claims: dict[str, Any]) -> User:
    """The user these validated claims identify, created on first login and updated on every later one.

    Identity is (tenant, issuer, sub) and nothing else: email is profile data and may change or repeat."""
    identity = {"tenant": tenant, "issuer": tenant.issuer, "sub": claims["sub"]}
    profile = _profile_from_claims(claims)
    user = User.objects.filter(**identity).first()
    if user is not None:
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
    """Record one login attempt. `detail` must never hold a secret, code or token."""
    claims = claims or {}
    return LoginEvent.objects.create(
        tenant=tenant,
        user=user,
        outcome=LoginEvent.Outcome.SUCCESS if reason == "ok" else LoginEvent.Outcome.FAILURE,
        reason=reason,
        email=(email or (user.email if user else "") or str(claims.get("email") or ""))[:254],
        subject=(user.sub if user else str(claims.get("sub") or ""))[:255],
        detail=detail[:500],
        ip_address=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
    )
