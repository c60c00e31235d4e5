"""Okta's Push Groups shapes, and tenant isolation both ways for users and groups."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import TenantGroup, User
from scim.resources import _user_locations
from tests.scim_helpers import GROUP_SCHEMA, PATCH_SCHEMA, assert_scim_error, okta_user, scim_for


@pytest.fixture
def okta(acme):
    return scim_for(acme)


def people(okta, *names):
    return [okta.post("/Users", okta_user(f"{n}@acme.test", external_id=f"00u{n}")).json()["id"] for n in names]


def member_ids(okta, group_id):
    return sorted(member["value"] for member in okta.get(f"/Groups/{group_id}").json()["members"])


def test_it_follows_oktas_push_groups(okta, acme):
    ada, bob, cyd = people(okta, "ada", "bob", "cyd")
    created = okta.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Engineering", "members": []})
    assert created.status_code == 201, created.content
    group = created.json()
    assert group["displayName"] == "Engineering" and group["members"] == []
    assert group["id"] != str(TenantGroup.objects.get().pk)

    rename = {"schemas": [PATCH_SCHEMA], "Operations": [
        {"op": "replace", "value": {"id": group["id"], "displayName": "Engineering (all)"}}]}
    assert okta.patch(f"/Groups/{group['id']}", rename).json()["displayName"] == "Engineering (all)"

    add = {"schemas": [PATCH_SCHEMA], "Operations": [
        {"op": "replace", "value": {"id": group["id"], "displayName": "Engineering (all)"}},
        {"op": "add", "path": "members", "value": [{"value": ada, "display": "ada@acme.test"},
                                                   {"value": bob, "display": "bob@acme.test"}]}]}
    assert okta.patch(f"/Groups/{group['id']}", add).status_code == 200
    assert member_ids(okta, group["id"]) == sorted([ada, bob])

    remove = {"schemas": [PATCH_SCHEMA], "Operations": [
        {"op": "remove", "path": f'members[value eq "{ada}"]'}]}
    assert okta.patch(f"/Groups/{group['id']}", remove).status_code == 200
    assert member_ids(okta, group["id"]) == [bob]

    replace = {"schemas": [PATCH_SCHEMA], "Operations": [
        {"op": "replace", "path": "members", "value": [{"value": cyd}, {"value": ada}]}]}
    assert okta.patch(f"/Groups/{group['id']}", replace).status_code == 200
    assert member_ids(okta, group["id"]) == sorted([ada, cyd])

    listed = okta.get("/Groups", {"excludedAttributes": "members"}).json()
    assert listed["totalResults"] == 1 and "members" not in listed["Resources"][0]
    assert okta.get("/Groups", {"filter": 'displayName eq "Engineering (all)"'}).json()["totalResults"] == 1

    put = okta.put(f"/Groups/{group['id']}", {"schemas": [GROUP_SCHEMA], "displayName": "Eng",
                                              "members": [{"value": bob}]})
    assert put.status_code == 200 and [m["value"] for m in put.json()["members"]] == [bob]

    assert okta.delete(f"/Groups/{group['id']}").status_code == 204
    assert_scim_error(okta.get(f"/Groups/{group['id']}"), 404)
    assert User.objects.filter(tenant=acme).count() == 3  # unlinking a group removes nobody


def test_a_token_never_reaches_another_tenants_users_or_groups(acme, globex):
    okta, other = scim_for(acme), scim_for(globex)
    ada = okta.post("/Users", okta_user("ada@acme.test", external_id="00uada")).json()
    group = okta.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Acme only"}).json()
    zed = other.post("/Users", okta_user("zed@globex.test", external_id="00uzed")).json()

    for scim, foreign_user, foreign_group in ((other, ada["id"], group["id"]), (okta, zed["id"], None)):
        assert_scim_error(scim.get(f"/Users/{foreign_user}"), 404)
        assert_scim_error(scim.put(f"/Users/{foreign_user}", okta_user("x@x.test")), 404)
        assert_scim_error(scim.patch(f"/Users/{foreign_user}", {"schemas": [PATCH_SCHEMA], "Operations": [
            {"op": "replace", "value": {"active": False}}]}), 404)
        assert_scim_error(scim.delete(f"/Users/{foreign_user}"), 404)
        if foreign_group:
            assert_scim_error(scim.get(f"/Groups/{foreign_group}"), 404)
            assert_scim_error(scim.delete(f"/Groups/{foreign_group}"), 404)
    assert other.get("/Users", {"filter": 'userName eq "ada@acme.test"'}).json()["totalResults"] == 0
    assert okta.get("/Users").json()["totalResults"] == 1
    assert other.get("/Groups").json()["totalResults"] == 0
    # Another tenant's user cannot become a member here.
    mine = other.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Globex"}).json()
    assert_scim_error(other.patch(f"/Groups/{mine['id']}", {"schemas": [PATCH_SCHEMA], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": ada["id"]}]}]}), 400, "invalidValue")
    assert not TenantGroup.objects.get(scim_id=mine["id"]).members.exists()
    # The same userName in two tenants is two people.
    assert other.post("/Users", okta_user("ada@acme.test", external_id="00uada")).status_code == 201
    assert User.objects.get(tenant=acme).is_active


@pytest.mark.parametrize("scim_id", ["0f1af294-d373-44fa-a2ab-a7443cbb30a5", "a b?c#d%e", "é~x:@!$&'()*+,;="])
def test_a_members_ref_is_the_users_location_as_reverse_gives_it(scim_id):
    # A group's answer resolves the URL once for all its members: each $ref must still be what reverse() gives.
    request = RequestFactory().get("/scim/v2/Groups", secure=True)
    assert _user_locations(request)(scim_id) == request.build_absolute_uri(reverse("scim:user", args=[scim_id]))
