"""SCIM representations (RFC 7643) of our users and groups, and the checks on what Okta sends.

Input is checked by hand, attribute by attribute, because only a few attributes are stored and each must fit its
column: every value of a wrong type, too long, or holding a NUL character is a 400 `invalidValue` before anything is
written. Okta's `password` attribute is dropped unread: Okta users never sign in with a password here.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import RFC3986_SUBDELIMS

from accounts.models import TenantGroup, User
from inigo_sso.text import is_storable
from scim.errors import ScimError, invalid_value
from scim.filters import GROUP_SCHEMA, USER_SCHEMA
from scim.roles import roles_answer, roles_input

LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _timestamp(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def user_resource(user: User, request: HttpRequest) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "id": user.scim_id,
        "userName": user.scim_user_name,
        "name": {key: value for key, value in (("givenName", user.first_name), ("familyName", user.last_name))
                 if value},
        "active": user.is_active,
        "meta": {
            "resourceType": "User",
            "created": _timestamp(user.date_joined),
            "lastModified": _timestamp(user.updated_at or user.date_joined),
            "location": request.build_absolute_uri(reverse("scim:user", args=[user.scim_id])),
        },
    }
    if user.sub:
        resource["externalId"] = user.sub
    if user.name:
        resource["displayName"] = user.name
    if user.email:
        resource["emails"] = [{"value": user.email, "primary": True, "type": "work"}]
    if user.scim_roles:
        resource["roles"] = roles_answer(user.scim_roles)
    if not resource["name"]:
        del resource["name"]
    return resource


def group_resource(group: TenantGroup, request: HttpRequest, members: list[User] | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "schemas": [GROUP_SCHEMA],
        "id": group.scim_id,
        "displayName": group.display_name,
        "meta": {
            "resourceType": "Group",
            "created": _timestamp(group.created_at),
            "lastModified": _timestamp(group.updated_at),
            "location": request.build_absolute_uri(reverse("scim:group", args=[group.scim_id])),
        },
    }
    if group.external_id:
        resource["externalId"] = group.external_id
    if members is not None:
        user_location = _user_locations(request)
        resource["members"] = [
            {"value": member.scim_id, "display": member.scim_user_name, "$ref": user_location(member.scim_id),
             "type": "User"}
            for member in members
        ]
    return resource


_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


def _user_locations(request: HttpRequest) -> Callable[[str], str]:
    """What request.build_absolute_uri(reverse("scim:user", args=[scim_id])) gives, resolved once for a group's
    members rather than once each (reverse() cost a second for a 50,000-member answer)."""
    before, after = request.build_absolute_uri(reverse("scim:user", args=[_PLACEHOLDER])).rsplit(_PLACEHOLDER, 1)
    return lambda scim_id: f"{before}{quote(scim_id, safe=RFC3986_SUBDELIMS + '/~:@')}{after}"


# --- input ----------------------------------------------------------------------------------------------------


def text(value: Any, name: str, max_length: int, *, required: bool = False) -> str:
    if value is None:
        if required:
            raise invalid_value(f"{name} is required.")
        return ""
    if not isinstance(value, str):
        raise invalid_value(f"{name} must be a string.")
    if not is_storable(value):
        raise invalid_value(f"{name} holds a character Inigo does not accept (NUL or a lone surrogate).")
    value = value.strip()
    if len(value) > max_length:
        raise invalid_value(f"{name} is longer than {max_length} characters.")
    if required and not value:
        raise invalid_value(f"{name} is required.")
    return value


def boolean(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    # Some SCIM clients send "True"/"False" as strings in PATCH values; accept exactly those.
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid_value(f"{name} must be true or false.")


@dataclass
class UserInput:
    """The attributes of a User resource that Inigo keeps; `present` names those the request carried."""

    user_name: str = ""
    external_id: str = ""
    given_name: str = ""
    family_name: str = ""
    display_name: str = ""
    email: str = ""
    active: bool = True
    roles: list[str] = field(default_factory=list)  # scim.roles: the values Okta assigned; none when absent
    present: set[str] = field(default_factory=set)


def _primary_email(emails: Any) -> str:
    if emails is None:
        return ""
    if not isinstance(emails, list) or not all(isinstance(email, dict) for email in emails):
        raise invalid_value("emails must be a list of objects.")
    chosen = next((email for email in emails if email.get("primary") is True), emails[0] if emails else None)
    if chosen is None:
        return ""
    value = text(chosen.get("value"), "emails.value", 254)
    if value:
        try:
            validate_email(value)
        except ValidationError as exc:
            raise invalid_value("emails.value is not an email address.") from exc
    return value


def user_input(body: dict[str, Any]) -> UserInput:
    """The User resource of a POST or PUT (RFC 7643 section 4.1), checked. `password` is ignored unread. A resource
    without `roles` has none: a PUT replaces the whole resource, so it clears them (RFC 7644 section 3.5.1)."""
    keys = {key.lower(): key for key in body}
    get = lambda name: body.get(keys.get(name.lower(), name))  # noqa: E731 (attribute names are case-insensitive)
    name = get("name")
    if name is not None and not isinstance(name, dict):
        raise invalid_value("name must be an object.")
    name = {key.lower(): value for key, value in (name or {}).items()}
    active = get("active")
    result = UserInput(
        user_name=text(get("userName"), "userName", 255, required=True),
        external_id=text(get("externalId"), "externalId", 255),
        given_name=text(name.get("givenname"), "name.givenName", 150),
        family_name=text(name.get("familyname"), "name.familyName", 150),
        display_name=text(get("displayName"), "displayName", 300),
        email=_primary_email(get("emails")),
        active=True if active is None else boolean(active, "active"),
        roles=roles_input(get("roles")),
    )
    result.present = {key.lower() for key in body}
    return result


def json_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScimError(400, "The request body must be a JSON object.", "invalidSyntax")
    return value
