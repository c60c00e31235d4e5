"""Writes of the accounts app: just-in-time users, ownership, login events."""

import hashlib
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils import timezone

from accounts.events import kind_of
from accounts.models import LoginEvent, Role, User
from inigo_sso.client_ip import client_ip
from inigo_sso.failures import SESSION_END_REASONS
from inigo_sso.references import new_reference
from inigo_sso.text import storable
from tenants.models import Tenant

login_logger = logging.getLogger("accounts.login")

_PROFILE_LIMITS = {"email": 254, "first_name": 150, "last_name": 150, "name": 300}


def user_provision(*, tenant: Tenant, claims: dict[str, Any]) -> User:
    """The user these validated claims identify, created on first login and updated on every later one.

    Identity is (tenant, issuer, sub) and nothing else: email is profile data and may change or repeat. A person
    whom Okta's provisioning (SCIM) created before they signed in is the same user: found by sub when Okta sent
    their externalId, else linked at this first sign-in by preferred_username = SCIM userName."""
    identity = {"tenant": tenant, "issuer": tenant.issuer, "sub": claims["sub"]}
    profile = _profile_from_claims(claims)
    user = User.objects.filter(**identity).first()
    if user is not None and user.last_login is not None:
        user.tenant = tenant  # the instance we hold: no second query for user.tenant later in the login
        return _profile_update(user, profile)
    # A first sign-in: a new person, or one provisioned by SCIM who has never signed in (user found, no last_login).
    user_name = _user_name_from_claims(claims)
    for attempt in range(3):
        try:
            return _first_sign_in(tenant=tenant, identity=identity, profile=profile, user_name=user_name)
        except IntegrityError:
            # Only where the database has no row locks (SQLite): another login created a user or took
            # ownership between our read and our write. Read again and retry.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def _first_sign_in(*, tenant: Tenant, identity: dict[str, Any], profile: dict[str, str], user_name: str) -> User:
    # The first successful login of a tenant makes its owner. When twenty people of a new tenant click the
    # tile in the same second, each would see "no owner yet" and try to become owner; the unique constraint
    # `one_owner_per_tenant` would let one through and fail the others with an error. Locking the tenant row
    # serialises the first sign-ins of that tenant's people (returning users never take this lock), so each sees
    # the owner of the one before it and becomes a member. People provisioned by SCIM are members until they sign
    # in, so the claim is made here, at a first sign-in, not when a row is created; SCIM's POST takes the same lock.
    Tenant.objects.select_for_update().filter(pk=tenant.pk).values_list("pk").first()
    # One query: this identity, and whoever holds `user_name` as SCIM userName (compared as the unique index
    # user_scim_user_name_unique does, lower-cased).
    match = Q(**identity)
    if user_name:
        match |= Q(tenant=tenant, scim_user_name_lower=Lower(Value(user_name)))
    candidates = list(User.objects.alias(scim_user_name_lower=Lower("scim_user_name")).filter(match)[:2])
    user = next((c for c in candidates if c.sub == identity["sub"]), None)
    name_holder = next((c for c in candidates if c.scim_user_name.lower() == user_name.lower()), None)
    if user is None and name_holder is not None and not name_holder.sub:
        # Provisioned without externalId: this sign-in links it (SPEC: by preferred_username, never by email).
        user, name_holder = name_holder, None
        user.issuer, user.sub = identity["issuer"], identity["sub"]
    if user is not None and user.last_login is not None:  # the same person's other tab signed in while we waited
        user.tenant = tenant
        return _profile_update(user, profile)
    has_owner = User.objects.filter(tenant=tenant, role=Role.OWNER).exists()
    if user is None:
        user = User(
            username=_username(identity),
            role=Role.MEMBER if has_owner else Role.OWNER,
            # Okta's SCIM lookup (`userName eq`) finds people who arrived by sign-in; a name someone else holds
            # in this tenant stays with them.
            scim_user_name=user_name if name_holder is None else "",
            **identity,
            **profile,
        )
        user.set_unusable_password()  # Okta users never sign in with a password, and never reach the admin
        user.last_login = timezone.now()  # "has signed in" (accounts.signins): in this INSERT, not an UPDATE after
        user.save()
        return user
    user.tenant = tenant
    if user.is_active:  # an inactive person is refused after this (user_inactive): not signed in
        user.last_login = timezone.now()
        if not has_owner:
            user.role = Role.OWNER
    for field, value in profile.items():
        if value:
            setattr(user, field, value)
    user.save()
    return user


def _user_name_from_claims(claims: dict[str, Any]) -> str:
    value = claims.get("preferred_username")
    return value[:255] if isinstance(value, str) and "\x00" not in value else ""


def _profile_from_claims(claims: dict[str, Any]) -> dict[str, str]:
    profile = {
        "email": claims.get("email"),
        "first_name": claims.get("given_name"),
        "last_name": claims.get("family_name"),
        "name": claims.get("name"),
    }
    # Claims are the provider's JSON: a `name` may hold NUL (or a lone surrogate from a \ud800 escape), which
    # PostgreSQL text refuses. Cleaned here, where they are stored, not at each caller.
    return {
        field: storable(value)[: _PROFILE_LIMITS[field]] if isinstance(value, str) else ""
        for field, value in profile.items()
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
    request: HttpRequest | None,
    *,
    reason: str,
    tenant: Tenant | None = None,
    user: User | None = None,
    claims: dict[str, Any] | None = None,
    typed_email: str = "",
    detail: str = "",
    outcome: str = "",
    succeeded: bool | None = None,
    own_transaction: bool = True,
) -> LoginEvent:
    """Record one login attempt (or the end of a session, or a step of a tenant's setup), in the database and as
    one log line, under a reference of its own that the person's page prints. `detail` must never hold a secret,
    code or token.

    `typed_email` is what someone typed (the login form, or the `login_hint` of an initiation link, which anyone
    can write): kept apart from `email`, which only ever holds the address of a signed-in user or of validated
    claims. Every text is cleaned of what PostgreSQL text refuses: details quote provider answers. Without a
    request (a command), there is no address to record. `own_transaction=False`: the event is one statement of the
    caller's transaction.atomic() block, and a reference drawn twice fails that transaction (the caller retries)."""
    claims = claims or {}
    detail = storable(detail)
    if succeeded is None:
        succeeded = reason == "ok"
    outcome = outcome or (LoginEvent.Outcome.SUCCESS if succeeded else LoginEvent.Outcome.FAILURE)
    event = LoginEvent(
        tenant=tenant,
        user=user,
        outcome=outcome,
        reason=reason,
        kind=kind_of(reason),
        email=storable((user.email if user else "") or str(claims.get("email") or ""))[:254],
        typed_email=storable(typed_email)[:254],
        subject=storable(user.sub if user else str(claims.get("sub") or ""))[:255],
        detail=detail[:500],
        ip_address=client_ip(request) if request is not None else None,
        user_agent=storable(request.META.get("HTTP_USER_AGENT", ""))[:300] if request is not None else "",
    )
    _save_with_unique_reference(event, own_transaction=own_transaction)

    def announce() -> None:
        if request is not None:
            request.log_tenant = tenant.slug if tenant else None
            request.support_reference = event.reference  # the request's log line carries it too
        login_logger.log(
            logging.WARNING if outcome == LoginEvent.Outcome.FAILURE else logging.INFO,
            "login %s reason=%s reference=%s detail=%s", outcome, reason, event.reference, detail[:500],
            extra={"event": "login", "tenant": tenant.slug if tenant else None, "outcome": outcome, "reason": reason,
                   "reference": event.reference, "user_id": user.pk if user else None},
        )

    if own_transaction:
        announce()
    else:
        transaction.on_commit(announce)  # a reference in the logs is one that support can find
    return event


def _save_with_unique_reference(event: LoginEvent, *, own_transaction: bool) -> None:
    # The reference is random (inigo_sso.references); a clash with an existing one is rare and drawn again.
    if not own_transaction:
        # One statement of the caller's transaction (a sign-in: accounts.oidc.views), which retries as a whole on
        # a clash: a savepoint per event would cost two statements more on every login.
        event.save(force_insert=True)
        return
    for attempt in range(3):
        try:
            with transaction.atomic():
                event.save(force_insert=True)
            return
        except IntegrityError:
            if attempt == 2:
                raise
            event.reference = new_reference()


def user_sessions_end(*, user: User, reason: str, request: HttpRequest | None = None, detail: str = "") -> None:
    """End every session of `user`, on every app server, at once: their next request finds its session
    verification hash changed and is signed out (accounts.sessions), with `reason` as the notice. Staff accounts
    too. Records a login event; the session-ending requests record one each as well."""
    if reason not in SESSION_END_REASONS:
        raise ValueError(f"unknown session end reason {reason!r}")
    # One UPDATE with F(): two endings at the same moment both move the counter, neither is lost.
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1, session_end_reason=reason)
    user.refresh_from_db(fields=["session_epoch", "session_end_reason"])
    login_event_record(
        request, reason=reason, tenant=user.tenant if user.tenant_id else None, user=user, detail=detail,
        outcome=LoginEvent.Outcome.SIGNED_OUT,
    )


class OwnershipTransferError(ValueError):
    """The transfer cannot happen; the message says why, in words for support staff."""


@transaction.atomic
def ownership_transfer(*, new_owner: User) -> None:
    """Make `new_owner` the owner of their tenant and the current owner an admin, in one transaction.

    The tenant row is locked first, the same lock a first login takes in _first_sign_in: a first login cannot
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
