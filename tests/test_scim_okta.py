"""Okta's provisioning as Okta sends it: assign, update, deactivate, reactivate, unassign with Okta's bodies and
headers; and the steps of Okta's "SCIM 2.0 SPEC Test" (Okta-SCIM-20-SPEC-Test.json)."""

import pytest

from accounts.models import Role, User
from scim.models import ProvisioningEvent
from tests.scim_helpers import (
    PATCH_SCHEMA,
    USER_SCHEMA,
    assert_scim_error,
    deactivate,
    okta_user,
    reactivate,
    scim_for,
)

LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


@pytest.fixture
def okta(acme):
    return scim_for(acme)


def test_it_follows_oktas_assign_update_deactivate_reactivate_unassign(okta, acme):
    # Assign: Okta looks the person up, finds nobody, creates them.
    found = okta.get("/Users", {"filter": 'userName eq "ada@acme.test"', "startIndex": "1", "count": "100"})
    assert found.status_code == 200
    assert found.json() == {"schemas": [LIST_SCHEMA], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0,
                            "Resources": []}
    created = okta.post("/Users", okta_user("ada@acme.test"))
    assert created.status_code == 201, created.content
    ada = created.json()
    assert ada["userName"] == "ada@acme.test"
    assert ada["externalId"] == "00u1abcd2EFGH3ijk4x7"
    assert ada["name"] == {"givenName": "Ada", "familyName": "Lovelace"}
    assert ada["emails"] == [{"value": "ada@acme.test", "primary": True, "type": "work"}]
    assert ada["active"] is True
    assert ada["meta"]["resourceType"] == "User"
    assert ada["meta"]["location"].endswith(f"/scim/v2/Users/{ada['id']}")
    assert created["Location"] == ada["meta"]["location"]
    assert "password" not in ada
    user = User.objects.get(tenant=acme)
    assert ada["id"] == user.scim_id != str(user.pk)
    assert user.role == Role.MEMBER and user.last_login is None
    assert not user.has_usable_password()

    # Update: Okta reads the user, then PUTs the whole user.
    assert okta.get(f"/Users/{ada['id']}").json()["userName"] == "ada@acme.test"
    changed = {**okta_user("ada@acme.test", family="King"), "id": ada["id"]}
    put = okta.put(f"/Users/{ada['id']}", changed)
    assert put.status_code == 200, put.content
    assert put.json()["name"]["familyName"] == "King"
    assert User.objects.get(pk=user.pk).last_name == "King"

    # Deactivate (and suspend, and unassign): Okta's pathless replace of active.
    patched = okta.patch(f"/Users/{ada['id']}", deactivate())
    assert patched.status_code == 200, patched.content
    assert patched.json()["active"] is False
    assert not User.objects.get(pk=user.pk).is_active

    patched = okta.patch(f"/Users/{ada['id']}", reactivate())
    assert patched.json()["active"] is True
    assert User.objects.get(pk=user.pk).is_active

    okta.patch(f"/Users/{ada['id']}", deactivate())  # unassign is a deactivation too: Okta never DELETEs users
    assert not User.objects.get(pk=user.pk).is_active
    assert User.objects.filter(tenant=acme).count() == 1

    actions = list(ProvisioningEvent.objects.filter(tenant=acme).order_by("pk").values_list("action", flat=True))
    assert actions == ["token_issued", "user_created", "user_updated", "user_deactivated", "user_reactivated",
                       "user_deactivated"]
    events = ProvisioningEvent.objects.filter(tenant=acme)
    assert all(event.user_agent in ("", "Okta SCIM Client 1.0.0") for event in events)
    assert not any("1mz050nq" in (event.detail or "") for event in events)


def test_it_passes_the_steps_of_oktas_scim_spec_test(okta, acme):
    # The test's first step needs a user already provisioned, with name fields.
    okta.post("/Users", okta_user("grace@acme.test", external_id="00ugrace", given="Grace", family="Hopper"))

    listed = okta.get("/Users", {"count": "1", "startIndex": "1"})
    body = listed.json()
    assert listed.status_code == 200
    assert isinstance(body["totalResults"], int) and body["totalResults"] >= 1
    assert body["itemsPerPage"] == 1 and body["startIndex"] == 1 and len(body["Resources"]) == 1
    first = body["Resources"][0]
    assert first["name"]["givenName"] and first["name"]["familyName"] and first["userName"]

    by_id = okta.get(f"/Users/{first['id']}")
    assert by_id.status_code == 200 and by_id.json()["id"] == first["id"]

    missing = okta.get("/Users", {"filter": 'userName eq "nobody-3b1c@atko.com"'})
    assert missing.status_code == 200 and missing.json()["totalResults"] == 0

    assert_scim_error(okta.get("/Users/010101001010101010"), 404)

    new = okta_user("Runscope-7c2a@atko.com", external_id=None, given="Test", family="User")
    created = okta.post("/Users", new)
    assert created.status_code == 201 and created.json()["active"] is True
    assert created.json()["userName"] == "Runscope-7c2a@atko.com"

    again = okta.get(f"/Users/{created.json()['id']}")
    assert again.status_code == 200 and again.json()["userName"] == "Runscope-7c2a@atko.com"

    assert_scim_error(okta.post("/Users", new), 409, "uniqueness")

    upper = okta.get("/Users", {"filter": 'userName eq "RUNSCOPE-7C2A@ATKO.COM"'})
    assert upper.status_code == 200 and upper.json()["totalResults"] == 1
    assert upper.json()["Resources"][0]["id"] == created.json()["id"]

    groups = okta.get("/Groups")
    assert groups.status_code == 200 and groups.json()["schemas"] == [LIST_SCHEMA]

    okta.authorization = "Bearer not-a-token"
    assert_scim_error(okta.get("/Users"), 401)
    okta.authorization = scim_for(acme).authorization
    assert_scim_error(okta.get("/Users/9876543210"), 404)


def test_it_accepts_the_http_header_mode_and_both_content_types(acme):
    header_mode = scim_for(acme, bearer=False)
    assert header_mode.get("/Users").status_code == 200
    assert header_mode.post("/Users", okta_user("a@acme.test", external_id="00ua"),
                            content_type="application/json").status_code == 201
    assert header_mode.post("/Users", okta_user("b@acme.test", external_id="00ub"),
                            content_type="application/scim+json; charset=utf-8").status_code == 201


def test_a_new_token_retires_the_old_one(acme):
    first = scim_for(acme)
    second = scim_for(acme)
    assert_scim_error(first.get("/Users"), 401)
    assert second.get("/Users").status_code == 200


def test_an_inactive_tenants_token_answers_401(okta, acme):
    acme.is_active = False
    acme.save()
    assert_scim_error(okta.get("/Users"), 401)


def test_a_missing_token_answers_401_with_a_scim_error(client):
    response = client.get("/scim/v2/Users")
    assert_scim_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_paging_clamps_as_rfc_7644_section_3_4_2_4_says(okta, acme):
    for number in range(3):
        okta.post("/Users", okta_user(f"p{number}@acme.test", external_id=f"00up{number}"))
    assert okta.get("/Users", {"startIndex": "0", "count": "2"}).json()["startIndex"] == 1
    page = okta.get("/Users", {"startIndex": "-5", "count": "-1"}).json()
    assert page["itemsPerPage"] == 0 and page["Resources"] == [] and page["totalResults"] == 3
    everything = okta.get("/Users", {"count": "1000000"}).json()
    assert everything["itemsPerPage"] == 3
    second = okta.get("/Users", {"startIndex": "2", "count": "1"}).json()
    ordered = [resource["id"] for resource in everything["Resources"]]
    assert second["Resources"][0]["id"] == ordered[1]
    assert okta.get("/Users", {"startIndex": "10"}).json()["Resources"] == []
    huge = okta.get("/Users", {"startIndex": "9" * 30, "count": "9" * 30})
    assert huge.status_code == 200 and huge.json()["Resources"] == [] and huge.json()["totalResults"] == 3
    assert okta.get("/Groups", {"startIndex": "9" * 30}).status_code == 200


def test_delete_makes_the_user_gone_for_scim_and_deactivated_inside(okta, acme):
    ada = okta.post("/Users", okta_user("ada@acme.test")).json()
    assert okta.delete(f"/Users/{ada['id']}").status_code == 204
    assert_scim_error(okta.get(f"/Users/{ada['id']}"), 404)
    assert okta.get("/Users").json()["totalResults"] == 0
    user = User.objects.get(tenant=acme)
    assert not user.is_active
    again = okta.post("/Users", okta_user("ada@acme.test", external_id="00uother"))
    assert again.status_code == 201  # the userName is free again


def test_patch_with_paths_and_the_user_schema_prefix(okta):
    ada = okta.post("/Users", okta_user("ada@acme.test")).json()
    body = {"schemas": [PATCH_SCHEMA], "Operations": [
        {"op": "replace", "path": "name.familyName", "value": "Byron"},
        {"op": "Replace", "path": f"{USER_SCHEMA}:displayName", "value": "Ada Byron"},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "ada.byron@acme.test"},
        {"op": "replace", "path": "active", "value": "False"},
    ]}
    patched = okta.patch(f"/Users/{ada['id']}", body).json()
    assert patched["name"]["familyName"] == "Byron"
    assert patched["displayName"] == "Ada Byron"
    assert patched["emails"][0]["value"] == "ada.byron@acme.test"
    assert patched["active"] is False
