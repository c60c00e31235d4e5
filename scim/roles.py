"""Inigo's roles as Okta entitlements (Okta's Entitlement Management for SCIM apps, with Okta Identity Governance).

Okta reads `/ResourceTypes`, then the endpoint of each resource type whose schema is its role URN (`/Roles`), and
assigns what it found as the User attribute `roles` (RFC 7643 section 4.1.2: `value`, `display`), as Okta's guide
"Build a SCIM 2.0 server with entitlements" and draft-ietf-scim-roles-entitlements show. The assignable roles are
fixed: `admin` and `member`. `owner` is never assignable: ownership is claimed by a first sign-in and moves only by a
transfer (SPEC "Roles from Okta").
"""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from accounts.models import Role
from scim.errors import invalid_value

ROLE_SCHEMA = "urn:okta:scim:schemas:core:1.0:Role"  # Okta's role URN: Okta knows it, /Schemas need not describe it
ASSIGNABLE = {Role.ADMIN.value: Role.ADMIN.label, Role.MEMBER.value: Role.MEMBER.label}  # in the order Okta lists
MAX_ROLES = 20  # a person holds at most both; a longer list is a malformed body, refused before it is read further


def role_resource(value: str, request: HttpRequest) -> dict[str, Any]:
    """A Role resource in Okta's shape: `id` is the value a User's `roles` carries, `displayName` its label."""
    return {
        "schemas": [ROLE_SCHEMA],
        "id": value,
        "displayName": ASSIGNABLE[value],
        "meta": {"resourceType": "Role",
                 "location": request.build_absolute_uri(reverse("scim:role", args=[value]))},
    }


def roles_answer(values: list[str]) -> list[dict[str, str]]:
    """The User attribute `roles`, as stored: `[{"value": "admin", "display": "Admin"}]`."""
    return [{"value": value, "display": ASSIGNABLE.get(value, value)} for value in values]


def roles_input(value: Any) -> list[str]:
    """The role values of a `roles` attribute Okta sent, checked: a list of objects (or one object) whose `value`
    is an assignable role; `display`, `type` and `primary` are Okta's words and not kept. None or [] is no role.
    The values come back once each, in the order of ASSIGNABLE, whatever order or repetition Okta sent."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or len(value) > MAX_ROLES:
        raise invalid_value(f"roles must be a list of at most {MAX_ROLES} objects with a value.")
    wanted = {_role_value(item) for item in value}
    return [role for role in ASSIGNABLE if role in wanted]


def _role_value(item: Any) -> str:
    if not isinstance(item, dict) or not isinstance(item.get("value"), str):
        raise invalid_value('Each role must be an object with a value, e.g. {"value": "admin"}.')
    role = item["value"].strip().lower()
    if role == Role.OWNER:
        raise invalid_value("The owner role is never assigned from Okta: the first person to sign in is the owner, "
                            "and only a transfer in Inigo moves ownership. Assign admin or member.")
    if role not in ASSIGNABLE:
        shown = item["value"][:64]
        raise invalid_value(f"Inigo has no role {shown!r}: assign one of {', '.join(ASSIGNABLE)} (GET /Roles).")
    return role
