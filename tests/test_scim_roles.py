"""Inigo's roles as Okta entitlements (SPEC "Roles from Okta", the SCIM roles paragraph): Okta reads /ResourceTypes
and /Roles, then assigns `roles` on Acme's people with PUT and PATCH. Owner Ada signed in first; Grace and Alan were
provisioned by Okta; Grace signs in too, so her next request shows what her role became."""

import json
from typing import Any

import pytest

from accounts.models import Role, User
from accounts.roles import role_source_change, role_source_preview
from scim.models import ProvisioningEvent
from tenants.models import RoleSource
from tests.conftest import profile
from tests.scim_helpers import PATCH_SCHEMA, USER_SCHEMA, assert_scim_error, okta_user
from tests.test_console_people import console_client, person_url
from tests.test_roles import BY_HAND, acme_people, okta, role_events, roles  # noqa: F401 (fixtures)

LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ROLE_SCHEMA = "urn:okta:scim:schemas:core:1.0:Role"
ADMIN_ROLE = [{"value": "admin", "display": "Admin"}]


def with_roles(name: str, roles: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Okta's PUT of the whole user, as its provisioning sends it, with the roles Okta's Governance assigned."""
    body = okta_user(f"{name}@acme.test", external_id=f"00u{name}")
    if roles is not None:
        body["roles"] = roles
    return body


def patch_roles(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


@pytest.fixture
def grace_signed_in(acme_people, browser, provider, client):  # noqa: F811
    """Grace in her own browser, signed in through Okta: `browser.me()` is her next request."""
    browser.client = client.__class__()
    browser.login(provider, "00ugrace", claims=profile("grace", preferred_username="grace@acme.test"))
    assert browser.me().json()["role"] == Role.MEMBER
    return browser


def test_roles_lists_admin_and_member_in_oktas_role_schema_and_resource_types_lists_role(okta):  # noqa: F811
    listed = okta.get("/Roles")
    assert listed.status_code == 200
    assert listed.json() == {
        "schemas": [LIST_SCHEMA], "totalResults": 2, "startIndex": 1, "itemsPerPage": 2,
        "Resources": [
            {"schemas": [ROLE_SCHEMA], "id": "admin", "displayName": "Admin",
             "meta": {"resourceType": "Role", "location": "http://testserver/scim/v2/Roles/admin"}},
            {"schemas": [ROLE_SCHEMA], "id": "member", "displayName": "Member",
             "meta": {"resourceType": "Role", "location": "http://testserver/scim/v2/Roles/member"}},
        ],
    }
    assert okta.get("/Roles/admin").json()["displayName"] == "Admin"
    assert_scim_error(okta.get("/Roles/owner"), 404)  # never assignable, so never listed
    assert_scim_error(okta.post("/Roles", {"schemas": [ROLE_SCHEMA], "displayName": "Boss"}), 405)
    assert okta.get("/Roles", {"filter": 'displayName eq "member"'}).json()["totalResults"] == 1

    types = {item["id"]: item for item in okta.get("/ResourceTypes").json()["Resources"]}
    assert types["Role"]["endpoint"] == "/Roles" and types["Role"]["schema"] == ROLE_SCHEMA
    assert okta.get("/ResourceTypes/Role").json()["name"] == "Role"
    user_schema = okta.get(f"/Schemas/{USER_SCHEMA}").json()
    assert "roles" in [attribute["name"] for attribute in user_schema["attributes"]]


def test_it_passes_the_step_of_oktas_scim_20_entitlements_test(okta):  # noqa: F811
    # Okta-SCIM-20-Entitlements-Test.json, its first step ("Duplicate the request for multiple Entitlement
    # Endpoints"): GET {{SCIMBaseURL}}{{EntitlementEndpoint}}?count=1&startIndex=1 with these headers; asserts 200,
    # a non-empty Resources and the ListResponse schema.
    response = okta.client.get(
        "/scim/v2/Roles", {"count": "1", "startIndex": "1"}, content_type="application/scim+json; charset=utf-8",
        HTTP_ACCEPT="application/scim+json", HTTP_ACCEPT_CHARSET="utf-8", HTTP_USER_AGENT="OKTA SCIM Integration",
        HTTP_AUTHORIZATION=okta.authorization,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["Resources"] and body["itemsPerPage"] == 1 and body["totalResults"] == 2
    assert LIST_SCHEMA in body["schemas"]


def test_under_okta_put_and_patch_of_roles_make_and_unmake_an_admin_at_her_next_request(
        okta, acme, acme_people, grace_signed_in):  # noqa: F811
    grace = acme_people["grace"]
    role_source_change(tenant=acme, role_source=RoleSource.OKTA, reason=BY_HAND)

    put = okta.put(f"/Users/{grace}", with_roles("grace", ADMIN_ROLE))
    assert put.status_code == 200, put.content
    assert put.json()["roles"] == ADMIN_ROLE
    assert grace_signed_in.me().json()["role"] == Role.ADMIN  # her next request, without signing her out

    put = okta.put(f"/Users/{grace}", with_roles("grace", None))  # RFC 7644 section 3.5.1: the whole resource
    assert "roles" not in put.json()
    assert grace_signed_in.me().json()["role"] == Role.MEMBER

    steps = [
        ({"op": "add", "path": "roles", "value": [{"value": "admin"}]}, Role.ADMIN),
        ({"op": "remove", "path": 'roles[value eq "admin"]'}, Role.MEMBER),
        ({"op": "replace", "path": "roles", "value": [{"value": "member"}, {"value": "admin"}]}, Role.ADMIN),
        ({"op": "replace", "path": 'roles[value eq "admin"]', "value": {"value": "member"}}, Role.MEMBER),
        ({"op": "add", "path": 'roles[value eq "admin"]', "value": {"value": "admin"}}, Role.ADMIN),
        ({"op": "remove", "path": "roles"}, Role.MEMBER),
        ({"op": "replace", "value": {"roles": ADMIN_ROLE}}, Role.ADMIN),
    ]
    for operation, expected in steps:
        response = okta.patch(f"/Users/{grace}", patch_roles(operation))
        assert response.status_code == 200, (operation, response.content)
        assert grace_signed_in.me().json()["role"] == expected, operation
    assert okta.get(f"/Users/{grace}").json()["roles"] == ADMIN_ROLE

    events = [event for event in role_events(acme) if event[0] == "grace@acme.test"]
    assert [kind for _email, kind, _detail in events] == ["provisioning"] * 9
    assert events[0][2] == "member -> admin (roles in Okta: admin), by Okta (provisioning)"
    assert events[1][2] == "admin -> member (roles in Okta: none), by Okta (provisioning)"
    updates = ProvisioningEvent.objects.filter(tenant=acme, action="user_updated").order_by("pk")
    assert updates.first().detail.endswith("; roles none -> admin")  # her sign-in had changed her name


def test_under_okta_a_post_with_the_admin_role_makes_an_admin_and_the_owner_stays_owner(okta, acme, acme_people):  # noqa: F811
    role_source_change(tenant=acme, role_source=RoleSource.OKTA, reason=BY_HAND)
    created = okta.post("/Users", with_roles("peggy", ADMIN_ROLE))
    assert created.status_code == 201, created.content
    assert created.json()["roles"] == ADMIN_ROLE
    assert roles(acme)["peggy"] == Role.ADMIN

    assert okta.put(f"/Users/{acme_people['ada']}", with_roles("ada", [{"value": "member"}])).status_code == 200
    assert roles(acme)["ada"] == Role.OWNER

    assert okta.delete(f"/Users/{created.json()['id']}").status_code == 204  # the roles go with the resource
    peggy = User.objects.get(tenant=acme, email="peggy@acme.test")
    assert (peggy.role, peggy.scim_roles, peggy.is_active) == (Role.MEMBER, [], False)


def test_under_inigo_roles_are_stored_and_answered_and_change_nobodys_role(okta, acme, acme_people, grace_signed_in):  # noqa: F811
    grace = acme_people["grace"]
    assert okta.patch(f"/Users/{grace}", patch_roles({"op": "add", "path": "roles", "value": ADMIN_ROLE})
                      ).status_code == 200
    assert okta.get(f"/Users/{grace}").json()["roles"] == ADMIN_ROLE
    assert User.objects.get(scim_id=grace).scim_roles == ["admin"]
    assert grace_signed_in.me().json()["role"] == Role.MEMBER
    assert not role_events(acme)

    # The owner's person page shows them beside her role.
    page = console_client(User.objects.get(scim_id=acme_people["ada"])).get(
        person_url(User.objects.get(scim_id=grace)))
    assert page.status_code == 200
    assert "Okta: Admin" in page.content.decode()

    # They are an input the moment roles come from Okta.
    assert role_source_preview(tenant=acme, role_source=RoleSource.OKTA).to_admin == 1
    role_source_change(tenant=acme, role_source=RoleSource.OKTA, reason=BY_HAND)
    assert grace_signed_in.me().json()["role"] == Role.ADMIN


@pytest.mark.parametrize(("roles_value", "words"), [
    ([{"value": "owner", "display": "Owner"}], "owner role is never assigned"),
    ([{"value": "superuser"}], "no role 'superuser'"),
    ([{"value": 1}], "object with a value"),
    (["admin"], "object with a value"),
    ("admin", "list"),
])
def test_owner_and_unknown_roles_are_a_400_scim_error_that_changes_nothing(okta, acme, acme_people, roles_value,  # noqa: F811
                                                                           words):
    role_source_change(tenant=acme, role_source=RoleSource.OKTA, reason=BY_HAND)
    grace = acme_people["grace"]
    put = assert_scim_error(okta.put(f"/Users/{grace}", with_roles("grace", roles_value)), 400, "invalidValue")
    assert words in put["detail"]
    patch = okta.patch(f"/Users/{grace}", patch_roles({"op": "add", "path": "roles", "value": roles_value}))
    assert words in assert_scim_error(patch, 400, "invalidValue")["detail"]
    assert_scim_error(okta.post("/Users", with_roles("peggy", roles_value)), 400, "invalidValue")
    assert (User.objects.get(scim_id=grace).role, User.objects.get(scim_id=grace).scim_roles) == (Role.MEMBER, [])
    assert not User.objects.filter(tenant=acme, email="peggy@acme.test").exists()


def test_a_filtered_roles_path_that_finds_nothing_or_filters_otherwise_is_refused(okta, acme_people):  # noqa: F811
    grace = acme_people["grace"]
    missing = okta.patch(f"/Users/{grace}", patch_roles(
        {"op": "replace", "path": 'roles[value eq "admin"]', "value": {"value": "member"}}))
    assert_scim_error(missing, 400, "noTarget")  # RFC 7644 section 3.5.2.3
    other = okta.patch(f"/Users/{grace}", patch_roles({"op": "remove", "path": 'roles[display eq "Admin"]'}))
    assert_scim_error(other, 400, "invalidPath")
    # A removal of a role she does not hold is a success: Okta may send it again.
    assert okta.patch(f"/Users/{grace}", patch_roles({"op": "remove", "path": 'roles[value eq "admin"]'})
                      ).status_code == 200


def guide_user() -> dict[str, Any]:
    """The user of Okta's guide "Build a SCIM 2.0 server with entitlements" ("User with entitlements and roles"), as
    the guide prints it (its top-level name parts and all), without the closing meta and certificates."""
    return json.loads("""{
      "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
      "id": "2819c223-7f76-453a-919d-413861904646", "externalId": 701984, "userName": "bjensen@example.com",
      "name": null, "formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara",
      "displayName": "Babs Jensen", "nickName": "Babs",
      "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                 {"value": "babs@jensen.org", "type": "home"}],
      "userType": "Employee", "title": "Tour Guide", "locale": "en-US", "active": true, "password": "t1meMa$heen",
      "groups": [{"value": "e9e30dba-f08f-4109-8486-d5c6a331660a", "display": "Tour Guides"}],
      "entitlements": [{"value": "entitlement123", "display": "First Entitlement", "type": "License"},
                       {"value": "profile123", "display": "First Profile", "type": "Profile"}],
      "roles": [{"value": "role123", "display": "First Role"}],
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": 701984, "costCenter": 4130}
    }""")


def test_the_guides_user_in_create_and_update(okta, acme):  # noqa: F811
    role_source_change(tenant=acme, role_source=RoleSource.OKTA, reason=BY_HAND)
    body = guide_user()
    # As printed: its externalId is a number (RFC 7643 section 3.1: a string; Okta sends its user id, 00u...).
    assert "externalId" in assert_scim_error(okta.post("/Users", body), 400, "invalidValue")["detail"]
    body["externalId"] = "00u1babs"
    # Its role is one of the guide's app, not Inigo's.
    assert "role123" in assert_scim_error(okta.post("/Users", body), 400, "invalidValue")["detail"]

    body["roles"] = [{"value": "admin", "display": "Admin"}]
    created = okta.post("/Users", body)
    assert created.status_code == 201, created.content
    babs = created.json()
    assert (babs["userName"], babs["displayName"], babs["roles"]) == ("bjensen@example.com", "Babs Jensen", ADMIN_ROLE)
    assert "entitlements" not in babs and "password" not in babs
    assert User.objects.get(scim_id=babs["id"]).role == Role.ADMIN

    body["roles"] = []
    updated = okta.put(f"/Users/{babs['id']}", {**body, "id": babs["id"]})
    assert updated.status_code == 200 and "roles" not in updated.json()
    assert User.objects.get(scim_id=babs["id"]).role == Role.MEMBER
