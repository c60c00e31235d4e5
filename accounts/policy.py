"""Who may do what: SPEC's table "Who may do what", as one table in code that every page asks.

`allowed(actor, action, target)` answers for Django admin (support staff and superusers), for the customer console
at /org/ (its owner and admins: console.access asks READ before every page, and each change asks its own row) and
for the home page (a member's "Sign out of all devices", SIGN_OUT on themselves): each row below is a row of SPEC's
table, each column a column of it, and each cell a small function of (actor, target). The sentences under SPEC's
table (nobody changes their own role, ...) are RULES that hold whatever the cell says.

The target is what the action acts on: a Tenant, a User (a person of a tenant), a RoleChange (a person and the role
they would get), or None to ask whether the actor may do this at all (to show a button or a field).
"""

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from accounts.models import Role, User
from tenants.models import Tenant

# The group the migration accounts/0002_support_group creates; its members are the table's "Support group".
SUPPORT_GROUP = "Support"
ROLE_SOURCE_OKTA = "okta"  # tenants.Tenant.role_source, once "Roles from Okta" adds it


class Action(enum.StrEnum):
    READ = "read"  # tenants, people, events, health
    TENANT_CREATE = "tenant_create"
    SETUP_LINK_CREATE = "setup_link_create"
    CONNECTION_CHECK = "connection_check"
    SETUP_FILL = "setup_fill"  # the Okta values of a tenant awaiting setup, its custom URL domain included
    ISSUER_CHANGE = "issuer_change"  # the Okta domain of a tenant already set up
    CREDENTIALS_ROTATE = "credentials_rotate"  # Client ID and Secret, same issuer
    SCIM_TOKEN_ISSUE = "scim_token_issue"  # noqa: S105 (an action name)
    ROLE_CHANGE = "role_change"
    OWNERSHIP_TRANSFER = "ownership_transfer"
    SIGN_OUT = "sign_out"  # sign out everywhere
    DEACTIVATE = "deactivate"  # deactivate a person in Inigo
    ROLE_SOURCE_VIEW = "role_source_view"  # role_source and the group mapping
    ROLE_SOURCE_CHANGE = "role_source_change"
    EMAIL_DOMAINS_CHANGE = "email_domains_change"  # add (verified), remove
    STAFF_MANAGE = "staff_manage"  # staff accounts, groups, lockouts (README "For support staff"; not in the table)


class Column(enum.StrEnum):
    SUPPORT = "support"
    SUPERUSER = "superuser"
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


@dataclass(frozen=True)
class RoleChange:
    """A person and the role they would be given (admin or member)."""

    person: User
    role: str


Target = Tenant | User | RoleChange | None
Cell = Callable[[User, Target], bool]


# --- the cells' words ----------------------------------------------------------------------------------------------
def yes(actor: User, target: Target) -> bool:
    return True


def no(actor: User, target: Target) -> bool:
    return False


def own_tenant(actor: User, target: Target) -> bool:
    """On their own tenant (None: in general, which means there)."""
    return target is None or _tenant_id(target) == actor.tenant_id


def self_only(actor: User, target: Target) -> bool:
    return isinstance(target, User) and target.pk == actor.pk


def owner_sets_role(actor: User, target: Target) -> bool:
    """Any admin or member of their tenant (not self: RULES)."""
    return own_tenant(actor, target) and _person_role(target) in (Role.ADMIN, Role.MEMBER, None)


def admin_sets_role(actor: User, target: Target) -> bool:
    """Make a member admin; not an admin's role, the owner's or their own."""
    if not own_tenant(actor, target) or _person_role(target) not in (Role.MEMBER, None):
        return False
    return not isinstance(target, RoleChange) or target.role == Role.ADMIN


def admin_signs_out(actor: User, target: Target) -> bool:
    """Members, admins and self, not the owner."""
    return own_tenant(actor, target) and _person_role(target) != Role.OWNER


class Row(NamedTuple):
    support: Cell
    superuser: Cell
    owner: Cell
    admin: Cell
    member: Cell


# --- SPEC "Who may do what" -------------------------------------------------------------------------------------------
TABLE: dict[Action, Row] = {
    #                                support  superuser  owner            admin            member
    Action.READ:                 Row(yes,     yes,       own_tenant,      own_tenant,      no),
    Action.TENANT_CREATE:        Row(yes,     yes,       no,              no,              no),
    Action.SETUP_LINK_CREATE:    Row(yes,     yes,       no,              no,              no),
    Action.CONNECTION_CHECK:     Row(yes,     yes,       own_tenant,      own_tenant,      no),
    Action.SETUP_FILL:           Row(yes,     yes,       no,              no,              no),
    Action.ISSUER_CHANGE:        Row(no,      yes,       no,              no,              no),
    Action.CREDENTIALS_ROTATE:   Row(yes,     yes,       own_tenant,      own_tenant,      no),
    Action.SCIM_TOKEN_ISSUE:     Row(no,      yes,       own_tenant,      no,              no),
    Action.ROLE_CHANGE:          Row(no,      yes,       owner_sets_role, admin_sets_role, no),
    Action.OWNERSHIP_TRANSFER:   Row(no,      yes,       own_tenant,      no,              no),
    Action.SIGN_OUT:             Row(yes,     yes,       own_tenant,      admin_signs_out, self_only),
    Action.DEACTIVATE:           Row(yes,     yes,       no,              no,              no),
    Action.ROLE_SOURCE_VIEW:     Row(yes,     yes,       own_tenant,      own_tenant,      no),
    Action.ROLE_SOURCE_CHANGE:   Row(no,      yes,       own_tenant,      no,              no),
    Action.EMAIL_DOMAINS_CHANGE: Row(yes,     yes,       own_tenant,      own_tenant,      no),
    Action.STAFF_MANAGE:         Row(no,      yes,       no,              no,              no),
}  # fmt: skip


# --- the sentences under the table, for every column ---------------------------------------------------------------
def not_their_own_role(actor: User, target: Target) -> bool:
    """Nobody changes their own role."""
    return _person(target) is None or _person(target).pk != actor.pk


def ownership_moves_only_by_transfer(actor: User, target: Target) -> bool:
    """The owner stays owner until a transfer; nobody is made owner by a role change."""
    return _person_role(target) != Role.OWNER and not (isinstance(target, RoleChange) and target.role == Role.OWNER)


def no_admin_while_deactivated(actor: User | None, target: Target) -> bool:
    """A deactivated person cannot be made admin by hand."""
    return not (isinstance(target, RoleChange) and target.role == Role.ADMIN and not target.person.is_active)


def roles_not_from_okta(actor: User, target: Target) -> bool:
    """Under role_source `okta` nobody sets roles by hand."""
    tenant = _tenant(target)
    return tenant is None or getattr(tenant, "role_source", "") != ROLE_SOURCE_OKTA


RULES: dict[Action, tuple[Cell, ...]] = {
    Action.ROLE_CHANGE: (
        not_their_own_role, ownership_moves_only_by_transfer, no_admin_while_deactivated, roles_not_from_okta,
    ),
}


# SPEC "The customer console", recent sign-in: every change made on /org/ needs an Okta sign-in (the ID token's
# auth_time) within SSO_RECENT_AUTH_SECONDS, all but running a connection check (`action=check`) and signing people
# out (`action=sign_out`), which grant no power. A console view asks accounts.oidc.reauth.recent_sign_in_required.
RECENT_SIGN_IN: frozenset[Action] = frozenset({
    Action.CREDENTIALS_ROTATE,  # `action=credentials`
    Action.SCIM_TOKEN_ISSUE,  # `action=scim_token`
    Action.ROLE_CHANGE,  # `action=role`
    Action.OWNERSHIP_TRANSFER,  # `action=transfer`
    Action.ROLE_SOURCE_CHANGE,  # /org/roles/
    Action.EMAIL_DOMAINS_CHANGE,  # /org/domains/
})


def needs_recent_sign_in(action: Action) -> bool:
    return action in RECENT_SIGN_IN


def allowed(actor: Any, action: Action, target: Target = None) -> bool:
    """May `actor` (request.user: a staff account, a person of a tenant, or anonymous) do `action` to `target`?"""
    column = column_of(actor)
    if column is None:
        return False
    cell: Cell = getattr(TABLE[action], column.value)
    return cell(actor, target) and all(rule(actor, target) for rule in RULES.get(action, ()))


def column_of(actor: Any) -> Column | None:
    """The table's column of a user, None for anyone the table gives nothing (anonymous, switched off, a staff
    account outside the Support group). Remembered on the user object: it is asked many times per admin page."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return None
    if not hasattr(actor, "_policy_column"):
        actor._policy_column = _column(actor)
    return actor._policy_column


def _column(actor: User) -> Column | None:
    if actor.tenant_id is not None:
        return Column(actor.role) if actor.role in Role.values else None
    if actor.is_superuser:
        return Column.SUPERUSER
    if actor.is_staff and actor.groups.filter(name=SUPPORT_GROUP).exists():
        return Column.SUPPORT
    return None


def domain_action(tenant: Tenant | None) -> Action:
    """What typing an Okta domain is on this tenant: filling in a new or awaiting tenant, or changing its issuer."""
    return Action.SETUP_FILL if tenant is None or tenant.is_awaiting_setup else Action.ISSUER_CHANGE


def _person(target: Target) -> User | None:
    if isinstance(target, RoleChange):
        return target.person
    return target if isinstance(target, User) else None


def _person_role(target: Target) -> str | None:
    person = _person(target)
    return None if person is None else person.role


def _tenant(target: Target) -> Tenant | None:
    if isinstance(target, Tenant):
        return target
    person = _person(target)
    return None if person is None else person.tenant


def _tenant_id(target: Target) -> int | None:
    if isinstance(target, Tenant):
        return target.pk
    person = _person(target)
    return None if person is None else person.tenant_id
