"""Writes of the accounts app: just-in-time users, ownership, login events."""

import hashlib
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils import timezone

from accounts import hot_path, policy
from accounts.events import EventKind, kind_of
from accounts.locks import PeopleBusy, people_lock, people_wait, person_lock, roles_lock, tenant_lock
from accounts.models import DeactivatedBy, LoginEvent, Role, User
from accounts.policy import Action, RoleChange
from accounts.roles import Reason, RoleChanged, role_after_ownership, roles_changed_record
from inigo_sso.client_ip import client_ip
from inigo_sso.failures import SESSION_END_REASONS
from inigo_sso.redaction import redact_path
from inigo_sso.references import new_reference
from inigo_sso.text import storable
from tenants.models import RoleSource, Tenant

login_logger = logging.getLogger("accounts.login")

_PROFILE_LIMITS = {"email": 254, "first_name": 150, "last_name": 150, "name": 300}


def user_provision(*, tenant: Tenant, claims: dict[str, Any]) -> User:
    """The user these validated claims identify, created on first login and updated on every later one.

    Identity is (tenant, issuer, sub) and nothing else: email is profile data and may change or repeat. A person
    whom Okta's provisioning (SCIM) created before they signed in is the same user: found by sub when Okta sent
    their externalId, else linked at this first sign-in by preferred_username = SCIM userName."""
    identity = {"tenant": tenant, "issuer": tenant.issuer, "sub": claims["sub"]}
    profile = _profile_from_claims(claims)
    user = hot_path.person_by_identity(tenant_id=tenant.pk, issuer=tenant.issuer, sub=claims["sub"])
    if user is not None and user.last_login is not None:
        user.tenant = tenant  # the instance we hold: no second query for user.tenant later in the login
        return _profile_update(user, profile)
    # A first sign-in: a new person, or one provisioned by SCIM who has never signed in (user found, no last_login).
    user_name = _user_name_from_claims(claims)
    for attempt in range(3):
        try:
            return _first_sign_in(tenant=tenant, identity=identity, profile=profile, user_name=user_name,
                                  wait=attempt == 2)
        except PeopleBusy:
            # This person's row is held by a write of many people's roles (a 50,000-member group push holds
            # the people whose role it changes until it commits). Waiting for it while holding the tenant's lock
            # would hold up every first sign-in of the tenant behind this one: wait holding nothing, then again.
            people_wait(_candidates(tenant=tenant, identity=identity, user_name=user_name))
        except IntegrityError:
            # Only where the database has no row locks (SQLite): another login created a user or took
            # ownership between our read and our write. Read again and retry.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _candidates(*, tenant: Tenant, identity: dict[str, Any], user_name: str) -> QuerySet[User]:
    """This identity, and whoever holds `user_name` as SCIM userName (compared as the unique index
    user_scim_user_name_unique does, lower-cased): at most two rows."""
    match = Q(**identity)
    if user_name:
        match |= Q(tenant=tenant, scim_user_name_lower=Lower(Value(user_name)))
    return User.objects.alias(scim_user_name_lower=Lower("scim_user_name")).filter(match)


@transaction.atomic
def _first_sign_in(
    *, tenant: Tenant, identity: dict[str, Any], profile: dict[str, str], user_name: str, wait: bool
) -> User:
    # The first successful login of a tenant makes its owner. When twenty people of a new tenant click the
    # tile in the same second, each would see "no owner yet" and try to become owner; the unique constraint
    # `one_owner_per_tenant` would let one through and fail the others with an error. Locking the tenant row
    # serialises the first sign-ins of that tenant's people (returning users never take this lock), so each sees
    # the owner of the one before it and becomes a member. People provisioned by SCIM are members until they sign
    # in, so the claim is made here, at a first sign-in, not when a row is created. Every write that can change the
    # owner or a person's activity takes the same lock first, then the person's (accounts.locks: one order, no
    # deadlock).
    tenant_lock(tenant.pk)
    # The person is read here, under their row's lock, and only the fields this sign-in changes are saved: a
    # deactivation (SCIM `active: false`, support staff) committed before this read wins, and the sign-in ends on
    # user_inactive; one that comes later waits for this transaction, and ends the session it makes. Saving the
    # whole row as read before the lock would switch a deactivated person back on.
    # One query: at most two rows, locked in id order; unless `wait`, one held elsewhere raises PeopleBusy, which
    # ends this transaction and with it the tenant's lock (user_provision waits for the person, then comes back).
    candidates = people_lock(_candidates(tenant=tenant, identity=identity, user_name=user_name), nowait=not wait)
    user = next((c for c in candidates if c.sub == identity["sub"]), None)
    name_holder = next((c for c in candidates if c.scim_user_name.lower() == user_name.lower()), None)
    changed = []
    if user is None and name_holder is not None and not name_holder.sub:
        # Provisioned without externalId: this sign-in links it (SPEC: by preferred_username, never by email).
        user, name_holder = name_holder, None
        user.issuer, user.sub = identity["issuer"], identity["sub"]
        changed += ["issuer", "sub"]
    if user is not None and user.last_login is not None:  # the same person's other tab signed in while we waited
        user.tenant = tenant
        return _profile_update(user, profile)
    has_owner = User.objects.filter(tenant=tenant, is_owner=True).exists()
    if user is None:
        return _person_create(identity=identity, profile=profile, role=Role.MEMBER if has_owner else Role.OWNER,
                              scim_user_name=user_name if name_holder is None else "")
    user.tenant = tenant
    if user.is_active:  # an inactive person is refused after this (user_inactive): not signed in
        user.last_login = timezone.now()
        changed.append("last_login")
        if not has_owner:
            user.role = Role.OWNER
            changed.append("role")
    changed += _profile_apply(user, profile)
    if changed:
        user.save(update_fields=[*changed, "updated_at"])
    return user


def _person_create(*, identity: dict[str, Any], profile: dict[str, str], role: str, scim_user_name: str) -> User:
    user = User(
        username=_username(identity),
        role=role,
        # Okta's SCIM lookup (`userName eq`) finds people who arrived by sign-in; a name someone else holds in this
        # tenant stays with them.
        scim_user_name=scim_user_name,
        **identity,
        **profile,
    )
    user.set_unusable_password()  # Okta users never sign in with a password, and never reach the admin
    user.last_login = timezone.now()  # "has signed in" (accounts.signins): in this INSERT, not an UPDATE after
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


def _profile_apply(user: User, profile: dict[str, str]) -> list[str]:
    """Set the profile fields the claims change (an empty claim keeps what is stored); their names."""
    changed = [field for field, value in profile.items() if value and getattr(user, field) != value]
    for field in changed:
        setattr(user, field, profile[field])
    return changed


def _profile_update(user: User, profile: dict[str, str]) -> User:
    # A returning person: no tenant lock, no SELECT ... FOR UPDATE. An UPDATE of only the changed fields locks the
    # person's row for that one statement, and leaves what others write meanwhile (is_active, the session
    # counter, the role) as they wrote it.
    if changed := _profile_apply(user, profile):
        user.save(update_fields=changed)
    return user


def _username(identity: dict[str, Any]) -> str:
    digest = hashlib.sha256(f"{identity['issuer']}\n{identity['sub']}".encode()).hexdigest()[:32]
    return f"t{identity['tenant'].pk}-{digest}"


# The word that starts each event's log line (and its `event` field): sign-ins keep the "login" they always had.
_LOG_EVENT_NAMES = {EventKind.SIGNIN: "login"}


def login_event_record(request: HttpRequest | None, *, own_transaction: bool = True, **fields: Any) -> LoginEvent:
    """Record one login attempt (or the end of a session, or a step of a tenant's setup), in the database and as
    one log line, under a reference of its own that the person's page prints. `fields` are login_event_new's.

    `own_transaction=False`: the event is one statement of the caller's transaction.atomic() block, and a reference
    drawn twice fails that transaction (the caller retries)."""
    event = login_event_new(request, **fields)
    _save_with_unique_reference(event.row, own_transaction=own_transaction)
    if own_transaction:
        event.announce()
    else:
        transaction.on_commit(event.announce)  # a reference in the logs is one that support can find
    return event.row


@dataclass(frozen=True)
class NewEvent:
    """A login event not saved yet (the sign-in's transaction inserts it: accounts.hot_path.SignIn), and its log line,
    to write once it is committed: a reference in the logs is one that support can find."""

    row: LoginEvent
    request: HttpRequest | None

    def announce(self) -> None:
        event, request = self.row, self.request
        tenant = event.tenant if event.tenant_id is not None else None
        if request is not None:
            request.log_tenant = tenant.slug if tenant else None
            request.support_reference = event.reference  # the request's log line carries it too
        # Named by the event's kind: a setup link created is no "login success".
        name = _LOG_EVENT_NAMES.get(event.kind, event.kind)
        login_logger.log(
            logging.WARNING if event.outcome == LoginEvent.Outcome.FAILURE else logging.INFO,
            "%s %s reason=%s reference=%s detail=%s", name, event.outcome, event.reason, event.reference,
            event.detail, extra={"event": name, "tenant": tenant.slug if tenant else None, "outcome": event.outcome,
                                 "reason": event.reason, "reference": event.reference, "user_id": event.user_id},
        )


def login_event_new(
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
    kind: EventKind | None = None,
) -> NewEvent:
    """A login event built and not saved: login_event_record saves it, the sign-in's transaction inserts it
    (accounts.hot_path.SignIn). `detail` must never hold a secret, code or token.

    `typed_email` is what someone typed (the login form, or the `login_hint` of an initiation link, which anyone
    can write): kept apart from `email`, which only ever holds the address of a signed-in user or of validated
    claims. Every text is cleaned of what PostgreSQL text refuses: details quote provider answers. Without a
    request (a command), there is no address to record. `kind`: the reason's own kind (accounts.events) unless the
    caller knows better: a sign-in failure met during a console change's re-authentication is a console event, not
    a failed sign-in."""
    claims = claims or {}
    # A detail may quote what was sent (an `iss` path): a setup link's token never stays in it, as in the logs.
    detail = storable(redact_path(detail))
    if succeeded is None:
        succeeded = reason == "ok"
    outcome = outcome or (LoginEvent.Outcome.SUCCESS if succeeded else LoginEvent.Outcome.FAILURE)
    row = LoginEvent(
        tenant=tenant,
        user=user,
        outcome=outcome,
        reason=reason,
        kind=kind or kind_of(reason),
        email=storable((user.email if user else "") or str(claims.get("email") or ""))[:254],
        typed_email=storable(typed_email)[:254],
        subject=storable(user.sub if user else str(claims.get("sub") or ""))[:255],
        detail=detail[:500],
        ip_address=client_ip(request) if request is not None else None,
        user_agent=storable(request.META.get("HTTP_USER_AGENT", ""))[:300] if request is not None else "",
    )
    return NewEvent(row, request)


def _save_with_unique_reference(event: LoginEvent, *, own_transaction: bool) -> None:
    # The reference is random (inigo_sso.references); a clash with an existing one is rare and drawn again.
    if not own_transaction:
        # One statement of the caller's transaction, which retries as a whole on a clash: a savepoint per event
        # would cost two statements more.
        hot_path.event_insert(event)
        return
    for attempt in range(3):
        try:
            with transaction.atomic():
                hot_path.event_insert(event)
            return
        except IntegrityError:
            if attempt == 2:
                raise
            event.reference = new_reference()


def user_sessions_end(
    *, user: User, reason: str, request: HttpRequest | None = None, detail: str = "", event_reason: str = ""
) -> None:
    """End every session of `user`, on every app server, at once: their next request finds its session
    verification hash changed and is signed out (accounts.sessions), with `reason` as the notice. Staff accounts
    too. Records a login event (of `event_reason` when given: a console change is its own kind of event); the
    session-ending requests record one each as well."""
    if reason not in SESSION_END_REASONS:
        raise ValueError(f"unknown session end reason {reason!r}")
    # One UPDATE with F(): two endings at the same moment both move the counter, neither is lost.
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1, session_end_reason=reason)
    user.refresh_from_db(fields=["session_epoch", "session_end_reason"])
    login_event_record(
        request, reason=event_reason or reason, tenant=user.tenant if user.tenant_id else None, user=user,
        detail=detail, outcome=LoginEvent.Outcome.SIGNED_OUT,
    )


@transaction.atomic
def people_sessions_end(
    *, people: QuerySet[User], reason: str, request: HttpRequest | None = None, detail: str = "",
    event_reason: str = "", allowed: Callable[[User], bool] | None = None,
) -> list[User]:
    """End every session of each of these people (Sign out everywhere, Universal Logout), as user_sessions_end
    does for one, in one transaction; the people, in id order. Only their rows are locked, in id order, never their
    tenant's (accounts.locks): a first sign-in or a SCIM write of one of them waits, or is waited for, without a
    circle. `allowed`: asked of each person's row as locked; SignOutRefused, with nothing ended, if it says no."""
    ended = people_lock(people.select_related("tenant").defer("tenant__client_secret"))
    if allowed is not None and not all(allowed(person) for person in ended):
        raise SignOutRefused("not allowed to end these sessions any more")
    for person in ended:
        user_sessions_end(user=person, reason=reason, request=request, detail=detail, event_reason=event_reason)
    return ended


class SignOutRefused(PermissionError):
    """accounts.policy does not let this actor end this person's sessions, as both are now: a 403."""


def person_sign_out(*, actor: User, person: User, request: HttpRequest) -> bool:
    """Sign out everywhere from the console (SPEC "The customer console", `action=sign_out`): every session of
    `person` ends at its next request, on every app server. A console event (`console_sign_out`) says who did it;
    the person's pages say their organisation's admin did. Locks only the person's row (accounts.locks: a write
    that touches people never takes the tenant's). False when the person is gone meanwhile.

    The policy is asked again on the row as locked and the actor as committed now: a transfer since the page asked
    may have made the person the owner, whose sessions only the owner ends (SignOutRefused)."""
    ended = people_sessions_end(
        people=User.objects.filter(pk=person.pk, tenant_id=actor.tenant_id), reason="session_ended_by_admin",
        request=request, event_reason="console_sign_out", detail=f"Sign out everywhere, by {actor_words(actor)}"[:500],
        allowed=lambda locked: policy.allowed(_actor_now(actor), Action.SIGN_OUT, locked),
    )
    return bool(ended)


def actor_words(actor: User) -> str:
    """Who made a console change, in an event's detail: their name, email and role (never a secret)."""
    if actor.email and actor.email != actor.display_name:
        return f"{actor.display_name} ({actor.email}, {actor.role})"
    return f"{actor.display_name} ({actor.role})"


@transaction.atomic
def user_change(*, user: User, fields: Collection[str]) -> None:
    """Save `fields` of `user`, a person of a tenant whom support staff changed in admin (activity, role), onto
    their row as it is now; `user` then holds that row as saved.

    The tenant's row and then the person's are locked (accounts.locks) and only these fields are written: a first
    sign-in or a SCIM write committed since the admin page was read is kept, not overwritten by the page's copy of
    the row; a first sign-in that comes later waits and sees the deactivation. The owner's role is never changed
    here: a transfer may have made this person owner since the page was read, and ownership moves only by
    transfer (`one_owner_per_tenant`)."""
    if "role" in fields:
        roles_lock(user.tenant_id)  # a role set by hand is an input of the role function (accounts.roles)
    current = person_lock(tenant_id=user.tenant_id, person=User.objects.filter(pk=user.pk))
    if current is None:
        return  # removed meanwhile: nothing left to change
    changed = [field for field in fields if not (field == "role" and not _role_settable_by_hand(current))]
    old_role = current.role
    for field in changed:
        setattr(current, field, getattr(user, field))
    if "is_active" in changed and not current.is_active:
        current.deactivated_by = DeactivatedBy.SUPPORT  # stays off when Okta next sends `active: true`
        changed.append("deactivated_by")
    if changed:
        current.save(update_fields=[*changed, "updated_at"])  # User.save ends their sessions if is_active changed
    if current.role != old_role:
        roles_changed_record(current.tenant_id, [RoleChanged(current.pk, old_role, current.role)],
                             Reason(EventKind.CONSOLE, "set in admin"))
    for field in User._meta.concrete_fields:
        setattr(user, field.attname, getattr(current, field.attname))
    user._loaded_is_active = current.is_active


def _role_settable_by_hand(person: User) -> bool:
    """Not the owner's (ownership moves only by transfer), and not under role_source `okta` (SPEC "Who may do
    what"; read now: the tenant may have switched since the admin page was read)."""
    if person.role == Role.OWNER:
        return False
    return Tenant.objects.filter(pk=person.tenant_id).values_list("role_source", flat=True).get() != RoleSource.OKTA


class OwnershipTransferError(ValueError):
    """The transfer cannot happen; the message says why, in words for support staff."""


class OwnershipTransferRefused(OwnershipTransferError):
    """accounts.policy does not let this actor move the ownership (SPEC "Who may do what"): a 403."""


@transaction.atomic
def ownership_transfer(
    *, new_owner: User, actor: User | None = None, request: HttpRequest | None = None
) -> list[tuple[User, str]]:
    """Make `new_owner` the owner of their tenant and the current owner what role_source gives them (admin under
    `inigo`), in one transaction; each role that changes is a `role_changed` event naming `actor` (support staff's
    admin when None). Returns the former owners, as read under the lock, each with the role they now have: what the
    pages say of them, rather than who was owner before the lock or what a later read finds. A person of a tenant
    as `actor` (the console) is asked accounts.policy's OWNERSHIP_TRANSFER under the lock, with their role as
    committed then: an owner whom another transfer demoted a moment ago moves nothing. Support staff's admin asks
    before.

    The tenant row is locked first, the same lock a first login takes in _first_sign_in, then the two people, in
    id order (accounts.locks): a first login cannot claim ownership halfway through a transfer, and two transfers
    for one tenant run one after the other. The old owner is demoted before the new one is promoted because
    `one_owner_per_tenant` is checked at each statement: promoting first would hold two owners for a moment and
    fail."""
    if new_owner.tenant_id is None:
        raise OwnershipTransferError(f"{new_owner} is a staff account, not a member of a customer organisation.")
    # The roles lock first (accounts.locks): the former owner's role is decided from who is in a group mapped to
    # admin, and no membership or mapping moves while it is decided.
    roles_lock(new_owner.tenant_id)
    tenant_lock(new_owner.tenant_id)
    # Read again under the lock: the role we were handed may be stale.
    people = people_lock(User.objects.filter(Q(pk=new_owner.pk) | Q(is_owner=True), tenant_id=new_owner.tenant_id))
    user = next((person for person in people if person.pk == new_owner.pk), None)
    if user is None:
        raise OwnershipTransferError(f"{new_owner} no longer belongs to this organisation.")
    if actor is not None and not policy.allowed(_actor_now(actor), Action.OWNERSHIP_TRANSFER, user):
        raise OwnershipTransferRefused(f"{actor} may not make {user} the owner.")
    if user.role == Role.OWNER:
        raise OwnershipTransferError(f"{user} is already the owner of {user.tenant.name}.")
    if not user.is_active:
        raise OwnershipTransferError(f"{user} is deactivated; reactivate them before making them the owner.")
    if user.last_login is None:
        # Provisioned by Okta and never signed in: an owner nobody has seen sign in could be a wrong account.
        raise OwnershipTransferError(f"{user} has never signed in; they sign in once before they can be the owner.")
    previous = [person for person in people if person.role == Role.OWNER]
    role_source = user.tenant.role_source  # read now, under the roles lock
    changes = [RoleChanged(person.pk, Role.OWNER, role_after_ownership(person=person, role_source=role_source))
               for person in previous]
    demoted = [(person, change.new) for person, change in zip(previous, changes, strict=True)]
    for change in changes:
        User.objects.filter(pk=change.person_id).update(role=change.new)
    User.objects.filter(pk=user.pk).update(role=Role.OWNER)
    changes.append(RoleChanged(user.pk, user.role, Role.OWNER))
    roles_changed_record(user.tenant_id, changes,
                         Reason(EventKind.CONSOLE, f"ownership moved to {user}", actor=actor, request=request))
    new_owner.role = Role.OWNER
    return demoted


class RoleChangeRefused(PermissionError):
    """accounts.policy does not let this actor give this person this role (SPEC "Who may do what"): a 403."""


@transaction.atomic
def role_change(*, actor: User, person: User, role: str, request: HttpRequest | None = None) -> User:
    """Give `person` the role `role` (admin or member) as `actor` may (accounts.policy, ROLE_CHANGE: the owner sets
    any admin or member but not themselves, an admin only makes a member admin, nobody makes a deactivated person
    admin, nobody under role_source `okta`); the person as saved. In force at the person's next request: every
    request reads their role with them (TenantOIDCBackend.get_user), on every app server.

    The tenant's row, then the person's, are locked (accounts.locks), as a transfer locks them: a role change and a
    transfer of the same tenant run one after the other, so an owner made a moment ago is never demoted here, and
    the actor's own role is read as the one before them committed it."""
    if person.tenant_id is None:
        raise RoleChangeRefused(f"{person} is a staff account, not a member of a customer organisation.")
    # The roles lock first (accounts.locks): a role set by hand is an input of the role function (accounts.roles),
    # and role_source is read fresh under it by the policy.
    roles_lock(person.tenant_id)
    current = person_lock(tenant_id=person.tenant_id, person=User.objects.filter(pk=person.pk).select_related("tenant"))
    if current is None:
        raise RoleChangeRefused(f"{person} no longer belongs to this organisation.")
    acting = _actor_now(actor)
    may = role in (Role.ADMIN, Role.MEMBER) and policy.allowed(acting, Action.ROLE_CHANGE, RoleChange(current, role))
    if not may:
        raise RoleChangeRefused(f"{acting} may not make {current} {role}.")
    if current.role != role:
        old = current.role
        current.role = role
        current.save(update_fields=["role", "updated_at"])
        roles_changed_record(current.tenant_id, [RoleChanged(current.pk, old, role)],
                             Reason(EventKind.CONSOLE, "set on the console", actor=acting, request=request))
    return current


def _actor_now(actor: User) -> User:
    """The actor's row as committed now, read after the tenant's lock (a transfer may have just demoted them)."""
    if actor.tenant_id is None:
        return actor
    return User.objects.select_related("tenant").defer("tenant__client_secret").filter(pk=actor.pk).first() or actor
