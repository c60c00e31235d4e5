"""What this SCIM service supports, as RFC 7643 sections 5-7 describe it: ServiceProviderConfig, ResourceTypes and
Schemas. The schemas list exactly the attributes Inigo keeps, so a client (or a compliance suite) learns what it
can rely on."""

from typing import Any

from scim.filters import GROUP_SCHEMA, USER_SCHEMA
from scim.roles import ASSIGNABLE, ROLE_SCHEMA

MAX_RESULTS = 200  # the cap on `count` (RFC 7644 section 3.4.2.4)
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"


def _attribute(name: str, type_: str = "string", *, required: bool = False, multi: bool = False,
               mutability: str = "readWrite", uniqueness: str = "none", case_exact: bool = False,
               sub: list[dict[str, Any]] | None = None, returned: str = "default",
               description: str = "", canonical: list[str] | None = None) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "name": name, "type": type_, "multiValued": multi, "description": description or name,
        "required": required, "mutability": mutability, "returned": returned, "uniqueness": uniqueness,
    }
    if type_ in ("string", "reference"):
        attribute["caseExact"] = case_exact
    if sub is not None:
        attribute["subAttributes"] = sub
    if canonical is not None:
        attribute["canonicalValues"] = canonical  # RFC 7643 section 7: the values the service accepts
    if type_ == "reference":
        attribute["referenceTypes"] = ["User"]
    return attribute


USER_ATTRIBUTES = [
    _attribute("userName", required=True, uniqueness="server",
               description="Unique within the organisation, compared case-insensitively."),
    _attribute("name", "complex", sub=[_attribute("givenName"), _attribute("familyName")]),
    _attribute("displayName"),
    _attribute("emails", "complex", multi=True, description="Inigo keeps the primary email only.", sub=[
        _attribute("value"), _attribute("type"), _attribute("primary", "boolean"),
    ]),
    _attribute("active", "boolean"),
    _attribute("roles", "complex", multi=True, description="Roles Okta assigns (Entitlement Management): the ids of "
               f"/Roles, {', '.join(ASSIGNABLE)}. Under role_source okta, admin makes an admin.", sub=[
                   _attribute("value", canonical=list(ASSIGNABLE)), _attribute("display", mutability="readOnly"),
               ]),
]
GROUP_ATTRIBUTES = [
    _attribute("displayName", required=True),
    _attribute("members", "complex", multi=True, sub=[
        _attribute("value", mutability="immutable"),
        _attribute("display", mutability="readOnly"),
        _attribute("$ref", "reference", mutability="immutable"),
        _attribute("type", mutability="immutable"),
    ]),
]


# Okta knows its role schema and does not read it here (its guide); listed for other clients, read-only: the roles
# are Inigo's own, not created over SCIM.
ROLE_ATTRIBUTES = [
    _attribute("displayName", required=True, mutability="readOnly"),
]


def _meta(resource_type: str, location: str) -> dict[str, str]:
    return {"resourceType": resource_type, "location": location}


def service_provider_config(base: str) -> dict[str, Any]:
    return {
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "Bearer token", "primary": True,
            "description": "The organisation's SCIM token from Inigo support, as 'Authorization: Bearer <token>' "
                           "or as 'Authorization: <token>' (Okta's HTTP Header mode).",
        }],
        "meta": _meta("ServiceProviderConfig", base + "ServiceProviderConfig"),
    }


def resource_types(base: str) -> list[dict[str, Any]]:
    return [
        {"schemas": [RESOURCE_TYPE_SCHEMA], "id": "User", "name": "User", "endpoint": "/Users",
         "description": "People of the organisation", "schema": USER_SCHEMA, "schemaExtensions": [],
         "meta": _meta("ResourceType", base + "ResourceTypes/User")},
        {"schemas": [RESOURCE_TYPE_SCHEMA], "id": "Group", "name": "Group", "endpoint": "/Groups",
         "description": "Groups pushed from Okta", "schema": GROUP_SCHEMA, "schemaExtensions": [],
         "meta": _meta("ResourceType", base + "ResourceTypes/Group")},
        # Okta's Entitlement Management reads the roles at this endpoint (scim.roles).
        {"schemas": [RESOURCE_TYPE_SCHEMA], "id": "Role", "name": "Role", "endpoint": "/Roles",
         "description": "Inigo's roles, assignable in Okta", "schema": ROLE_SCHEMA, "schemaExtensions": [],
         "meta": _meta("ResourceType", base + "ResourceTypes/Role")},
    ]


def schemas(base: str) -> list[dict[str, Any]]:
    return [
        {"schemas": [SCHEMA_SCHEMA], "id": USER_SCHEMA, "name": "User", "description": "User Account",
         "attributes": USER_ATTRIBUTES, "meta": _meta("Schema", base + "Schemas/" + USER_SCHEMA)},
        {"schemas": [SCHEMA_SCHEMA], "id": GROUP_SCHEMA, "name": "Group", "description": "Group",
         "attributes": GROUP_ATTRIBUTES, "meta": _meta("Schema", base + "Schemas/" + GROUP_SCHEMA)},
        {"schemas": [SCHEMA_SCHEMA], "id": ROLE_SCHEMA, "name": "Role", "description": "Role",
         "attributes": ROLE_ATTRIBUTES, "meta": _meta("Schema", base + "Schemas/" + ROLE_SCHEMA)},
    ]
