"""What the person page offers its actor for one person's role and for the ownership (SPEC "Who may do what"), and
the words for what it does not offer: the page shows them beside the controls, and a refused POST quotes them on
its 403. accounts.policy decides; this module only puts its answers into words."""

from dataclasses import dataclass

from django.conf import settings

from accounts.models import Role, User
from accounts.policy import ROLE_SOURCE_OKTA, Action, RoleChange, allowed
from accounts.roles import role_after_ownership

HAND_SET_ROLES = (Role.ADMIN, Role.MEMBER)  # ownership moves only by a transfer


@dataclass(frozen=True)
class RoleControls:
    roles: tuple[tuple[str, str], ...]  # (role, label) the actor may give the person now
    role_note: str  # why no more is offered ("" when nothing needs saying)
    may_transfer: bool
    transfer_note: str
    owner_becomes: str  # with may_transfer: what the actor becomes by the transfer, "an admin" or "a member"
    from_okta: bool  # role_source `okta`: roles are read-only here


def controls_for(actor: User, person: User) -> RoleControls:
    roles = tuple((role, label) for role, label in Role.choices
                  if role in HAND_SET_ROLES and role != person.role
                  and allowed(actor, Action.ROLE_CHANGE, RoleChange(person, role)))
    transfer_obstacle = transfer_refusal(actor, person) or transfer_blocker(person)
    if person.pk == actor.pk and person.role == Role.OWNER:
        transfer_obstacle = "You are the owner: to hand the ownership on, open the page of the person who takes it."
    return RoleControls(
        roles=roles,
        role_note="" if roles else role_refusal(actor, person, _the_other_role(person)),
        may_transfer=not transfer_obstacle,
        transfer_note=transfer_obstacle if allowed(actor, Action.OWNERSHIP_TRANSFER) else "",
        owner_becomes="" if transfer_obstacle else _owner_becomes(actor),
        from_okta=roles_from_okta(person),
    )


def _owner_becomes(owner: User) -> str:
    """What the owner's role would be after a transfer, as accounts.services.ownership_transfer decides it: an admin
    under role_source `inigo`; under `okta` what Okta gives them (SPEC "Roles from Okta")."""
    role = role_after_ownership(person=owner, role_source=owner.tenant.role_source)
    return "an admin" if role == Role.ADMIN else "a member"


def roles_from_okta(person: User) -> bool:
    """Under role_source `okta` (SPEC "Roles from Okta") the role field is read-only everywhere."""
    return getattr(person.tenant, "role_source", "") == ROLE_SOURCE_OKTA


def role_refusal(actor: User, person: User, role: str) -> str:
    """Why the table refuses `actor` giving `person` the role `role`, in the words of SPEC's sentences."""
    name = person.display_name
    if roles_from_okta(person):
        return "Roles come from Okta: change them there, in the groups or roles Inigo's app is assigned with."
    if person.pk == actor.pk:
        return "Nobody changes their own role." + (
            " To stop being the owner, make someone else the owner." if actor.role == Role.OWNER else "")
    if person.role == Role.OWNER:
        return f"{name} is the owner: the owner's role changes only when they transfer the ownership."
    if role == Role.ADMIN and not person.is_active:
        return f"{name} is deactivated, and a deactivated person cannot be made admin."
    if actor.role == Role.ADMIN:
        return "An admin can make a member admin, and nothing else: only the owner changes an admin's role."
    return f"You may not make {name} {role}."


def transfer_refusal(actor: User, person: User) -> str:
    """Why the table refuses `actor` making `person` the owner ("" when it does not)."""
    if allowed(actor, Action.OWNERSHIP_TRANSFER, person):
        return ""
    return "Only the owner can transfer the ownership."


def transfer_blocker(person: User) -> str:
    """Why `person` cannot be the owner now, whoever asks ("" when they can): the conditions of
    accounts.services.ownership_transfer, in a customer's words."""
    name = person.display_name
    if person.role == Role.OWNER:
        return f"{name} is the owner."
    if not person.is_active:
        return f"{name} is deactivated: only an active person can be the owner."
    if person.last_login is None:
        return f"{name} has never signed in: they sign in to Inigo once before they can be the owner."
    return ""


def _the_other_role(person: User) -> str:
    return Role.MEMBER if person.role == Role.ADMIN else Role.ADMIN


def recent_window() -> str:
    """SSO_RECENT_AUTH_SECONDS in words: how recent an Okta sign-in a change needs (accounts.oidc.reauth)."""
    seconds = settings.SSO_RECENT_AUTH_SECONDS
    if seconds % 60 or seconds < 120:
        return f"{seconds} seconds"
    return f"{seconds // 60} minutes"
