"""Roles from Okta: the one function that decides a role, as a table, and Okta's own Group Push traffic moving
the roles of Acme's people once a pushed group is mapped to admin. Owner Ada signs in first; Grace and Alan are
provisioned by Okta; IT-Admins is the group Okta pushes."""

import pytest

from accounts import roles as roles_module
from accounts.events import EventKind
from accounts.models import GroupRole, LoginEvent, Role, TenantGroup, User
from accounts.roles import (
    Reason,
    group_role_change,
    group_role_preview,
    role_decided,
    role_source_change,
    role_source_preview,
)
from accounts.services import ownership_transfer
from tenants.models import RoleSource
from tests.conftest import profile
from tests.scim_helpers import GROUP_SCHEMA, PATCH_SCHEMA, deactivate, okta_user, scim_for

OKTA, INIGO = RoleSource.OKTA, RoleSource.INIGO
OWNER, ADMIN, MEMBER = Role.OWNER, Role.ADMIN, Role.MEMBER
BY_HAND = Reason(EventKind.CONSOLE, "test")


# owner, role_source, stored, in a group mapped to admin, entitlements (the next issue) -> role
TABLE = [
    (True,  OKTA,  OWNER,  False, (),          OWNER),   # the owner stays owner whatever Okta says
    (True,  INIGO, OWNER,  True,  ("admin",),  OWNER),
    (False, OKTA,  MEMBER, True,  (),          ADMIN),   # in a group mapped to admin
    (False, OKTA,  ADMIN,  False, (),          MEMBER),  # left it, or it was unmapped: Okta decides
    (False, OKTA,  MEMBER, False, ("admin",),  ADMIN),   # the admin entitlement (the next issue)
    (False, OKTA,  MEMBER, False, ("member",), MEMBER),
    (False, OKTA,  OWNER,  False, (),          MEMBER),  # a former owner (a transfer) under okta
    (False, INIGO, MEMBER, True,  ("admin",),  MEMBER),  # under inigo Okta changes nobody's role
    (False, INIGO, ADMIN,  False, (),          ADMIN),
    (False, INIGO, OWNER,  False, (),          ADMIN),   # a former owner under inigo is admin
]  # fmt: skip


@pytest.mark.parametrize(("owner", "role_source", "stored", "grouped", "entitlements", "expected"), TABLE)
def test_the_role_function_as_a_table(owner, role_source, stored, grouped, entitlements, expected):
    assert role_decided(owner=owner, stored=stored, role_source=role_source, in_admin_group=grouped,
                        entitlements=entitlements) == expected


@pytest.fixture
def okta(acme):
    return scim_for(acme)


@pytest.fixture
def acme_people(okta, browser, provider, acme):
    """Ada (owner, signed in first, provisioned too), Grace and Alan provisioned by Okta."""
    ids = {name: okta.post("/Users", okta_user(f"{name}@acme.test", external_id=f"00u{name}")).json()["id"]
           for name in ("ada", "grace", "alan")}
    browser.login(provider, "00uada", claims=profile("ada", preferred_username="ada@acme.test"))
    assert browser.me().json()["role"] == OWNER
    return ids


def roles(acme) -> dict[str, str]:
    return {user.email.split("@")[0]: user.role for user in User.objects.filter(tenant=acme)}


def role_events(acme) -> list[str]:
    return list(LoginEvent.objects.filter(tenant=acme, reason="role_changed").order_by("pk")
                .values_list("email", "kind", "detail"))


def push(okta, name, ids):
    """Okta's Group Push: POST the group with its members."""
    created = okta.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": name,
                                    "members": [{"value": i, "display": "x"} for i in ids]})
    assert created.status_code == 201, created.content
    return created.json()["id"]


def patch(okta, group_id, name, *operations):
    """Okta's PATCH: the rename by a value object comes with every membership update."""
    body = {"schemas": [PATCH_SCHEMA], "Operations": [
        {"op": "replace", "value": {"id": group_id, "displayName": name}}, *operations]}
    response = okta.patch(f"/Groups/{group_id}", body)
    assert response.status_code == 200, response.content
    return response


def test_oktas_group_push_moves_roles_once_the_group_is_mapped_to_admin(okta, acme, acme_people, browser):
    ada, grace, alan = acme_people["ada"], acme_people["grace"], acme_people["alan"]
    role_source_change(tenant=acme, role_source=OKTA, reason=BY_HAND)
    group_id = push(okta, "IT-Admins", [ada, grace])
    assert roles(acme) == {"ada": OWNER, "grace": MEMBER, "alan": MEMBER}  # a new group is mapped to no role

    group = TenantGroup.objects.get(scim_id=group_id)
    assert group_role_preview(group=group, role=GroupRole.ADMIN).to_admin == 1
    group_role_change(group=group, role=GroupRole.ADMIN, reason=BY_HAND)
    assert roles(acme) == {"ada": OWNER, "grace": ADMIN, "alan": MEMBER}

    patch(okta, group_id, "IT Admins", {"op": "add", "path": "members", "value": [{"value": alan}]})
    assert roles(acme)["alan"] == ADMIN
    assert TenantGroup.objects.get(scim_id=group_id).role == GroupRole.ADMIN  # the rename keeps the mapping

    patch(okta, group_id, "IT Admins", {"op": "remove", "path": f'members[value eq "{grace}"]'})
    assert roles(acme) == {"ada": OWNER, "grace": MEMBER, "alan": ADMIN}
    assert browser.me().json()["role"] == OWNER  # the owner stays owner throughout

    # A deactivated person keeps the role the rule gives.
    assert okta.patch(f"/Users/{alan}", deactivate()).status_code == 200
    assert roles(acme)["alan"] == ADMIN

    put = okta.put(f"/Groups/{group_id}", {"schemas": [GROUP_SCHEMA], "displayName": "IT Admins",
                                           "members": [{"value": grace}, {"value": ada}]})
    assert put.status_code == 200, put.content
    assert roles(acme) == {"ada": OWNER, "grace": ADMIN, "alan": MEMBER}

    assert okta.delete(f"/Groups/{group_id}").status_code == 204  # unlinked in Okta: "delete the group"
    assert roles(acme) == {"ada": OWNER, "grace": MEMBER, "alan": MEMBER}

    events = role_events(acme)
    assert [(email, kind) for email, kind, _ in events] == [
        ("grace@acme.test", "console"), ("alan@acme.test", "provisioning"), ("grace@acme.test", "provisioning"),
        ("alan@acme.test", "provisioning"), ("grace@acme.test", "provisioning"), ("grace@acme.test", "provisioning"),
    ]
    assert events[1][2] == "member -> admin (added to group IT Admins), by Okta (provisioning)"
    assert events[-1][2] == "admin -> member (group IT Admins deleted in Okta), by Okta (provisioning)"


def test_pushes_change_nobodys_role_under_inigo_and_switching_back_keeps_every_role(okta, acme, acme_people):
    grace, alan = acme_people["grace"], acme_people["alan"]
    group_id = push(okta, "IT-Admins", [grace])
    group_role_change(group=TenantGroup.objects.get(scim_id=group_id), role=GroupRole.ADMIN, reason=BY_HAND)
    User.objects.filter(scim_id=alan).update(role=ADMIN)  # set by hand under inigo
    patch(okta, group_id, "IT-Admins", {"op": "add", "path": "members", "value": [{"value": alan}]})
    assert roles(acme) == {"ada": OWNER, "grace": MEMBER, "alan": ADMIN}
    assert not role_events(acme)

    patch(okta, group_id, "IT-Admins", {"op": "remove", "path": f'members[value eq "{alan}"]'})
    preview = role_source_preview(tenant=acme, role_source=OKTA)
    assert (preview.to_admin, preview.to_member) == (1, 1)  # "1 person becomes admin, 1 admin becomes member"
    changes = role_source_change(tenant=acme, role_source=OKTA, reason=BY_HAND)
    emails = dict(User.objects.filter(tenant=acme).values_list("pk", "email"))
    assert {(emails[c.person_id], c.new) for c in changes} == {("grace@acme.test", ADMIN), ("alan@acme.test", MEMBER)}
    assert LoginEvent.objects.filter(tenant=acme, reason="role_source_changed").count() == 1

    assert role_source_preview(tenant=acme, role_source=INIGO) == role_source_preview(tenant=acme, role_source=OKTA)
    assert role_source_change(tenant=acme, role_source=INIGO, reason=BY_HAND) == []
    assert roles(acme) == {"ada": OWNER, "grace": ADMIN, "alan": MEMBER}


def test_a_transfer_gives_the_former_owner_what_role_source_gives(okta, acme, acme_people, browser, provider, client):
    group_id = push(okta, "IT-Admins", [acme_people["grace"]])
    group_role_change(group=TenantGroup.objects.get(scim_id=group_id), role=GroupRole.ADMIN, reason=BY_HAND)
    role_source_change(tenant=acme, role_source=OKTA, reason=BY_HAND)
    browser.client = client.__class__()
    browser.login(provider, "00ualan", claims=profile("alan", preferred_username="alan@acme.test"))

    ownership_transfer(new_owner=User.objects.get(scim_id=acme_people["alan"]))
    assert roles(acme) == {"ada": MEMBER, "grace": ADMIN, "alan": OWNER}  # Ada is in no group mapped to admin

    role_source_change(tenant=acme, role_source=INIGO, reason=BY_HAND)
    browser.client = client.__class__()  # a transfer needs a person who has signed in
    browser.login(provider, "00ugrace", claims=profile("grace", preferred_username="grace@acme.test"))
    ownership_transfer(new_owner=User.objects.get(scim_id=acme_people["grace"]))
    assert roles(acme) == {"ada": MEMBER, "grace": OWNER, "alan": ADMIN}
    assert ("grace@acme.test", "console",
            "admin -> owner (ownership moved to grace@acme.test), by support staff") in role_events(acme)


def test_a_push_to_another_tenants_people_moves_no_role(okta, acme, acme_people, globex):
    other = scim_for(globex)
    zed = other.post("/Users", okta_user("zed@globex.test", external_id="00uzed")).json()["id"]
    group_id = push(okta, "IT-Admins", [acme_people["grace"]])
    group_role_change(group=TenantGroup.objects.get(scim_id=group_id), role=GroupRole.ADMIN, reason=BY_HAND)
    role_source_change(tenant=acme, role_source=OKTA, reason=BY_HAND)

    refused = okta.patch(f"/Groups/{group_id}", {"schemas": [PATCH_SCHEMA], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": zed}, {"value": acme_people["alan"]}]}]})

    assert refused.status_code == 400  # the whole PATCH, Alan's part too (RFC 7644 section 3.5.2)
    assert roles(acme)["alan"] == MEMBER
    assert User.objects.get(scim_id=zed).role == MEMBER


def test_a_person_who_became_owner_while_the_push_decided_their_role_stays_owner(okta, acme, monkeypatch):
    # Nobody has signed in yet: Grace's first sign-in makes her owner between the push's reading of her role
    # (member) and its lock on her row. The push decides again on her row as locked: the owner stays owner, and the
    # event it had written for her ("member -> admin") goes.
    grace, alan = (okta.post("/Users", okta_user(f"{name}@acme.test", external_id=f"00u{name}")).json()["id"]
                   for name in ("grace", "alan"))
    role_source_change(tenant=acme, role_source=OKTA, reason=BY_HAND)
    group_id = push(okta, "IT-Admins", [])
    group_role_change(group=TenantGroup.objects.get(scim_id=group_id), role=GroupRole.ADMIN, reason=BY_HAND)
    checks_run = roles_module._deferred_checks_run

    def first_sign_in_meanwhile() -> None:
        User.objects.filter(scim_id=grace).update(role=OWNER)
        checks_run()

    monkeypatch.setattr(roles_module, "_deferred_checks_run", first_sign_in_meanwhile)
    patch(okta, group_id, "IT-Admins", {"op": "add", "path": "members", "value": [{"value": grace}, {"value": alan}]})

    assert roles(acme) == {"grace": OWNER, "alan": ADMIN}
    assert [(email, detail) for email, _, detail in role_events(acme)] == [
        ("alan@acme.test", "member -> admin (added to group IT-Admins), by Okta (provisioning)")]


def test_a_patch_settles_each_person_once_on_the_membership_it_leaves(okta, acme, acme_people):
    grace, alan = acme_people["grace"], acme_people["alan"]
    role_source_change(tenant=acme, role_source=OKTA, reason=BY_HAND)
    group_id = push(okta, "IT-Admins", [alan])
    group_role_change(group=TenantGroup.objects.get(scim_id=group_id), role=GroupRole.ADMIN, reason=BY_HAND)
    assert roles(acme) == {"ada": OWNER, "grace": MEMBER, "alan": ADMIN}

    # Members replaced by Grace and Alan, then Alan removed, then Grace removed and added again: one transaction
    # (RFC 7644 section 3.5.2), whose end state alone counts. Grace joined, Alan left.
    patch(okta, group_id, "IT-Admins",
          {"op": "replace", "path": "members", "value": [{"value": grace}, {"value": alan}]},
          {"op": "remove", "path": f'members[value eq "{alan}"]'},
          {"op": "remove", "path": f'members[value eq "{grace}"]'},
          {"op": "add", "path": "members", "value": [{"value": grace}]})

    assert roles(acme) == {"ada": OWNER, "grace": ADMIN, "alan": MEMBER}
    assert set([(email, detail) for email, _, detail in role_events(acme)][-2:]) == {
        ("grace@acme.test", "member -> admin (added to group IT-Admins), by Okta (provisioning)"),
        ("alan@acme.test", "admin -> member (removed from group IT-Admins), by Okta (provisioning)"),
    }
    assert len(role_events(acme)) == 3  # Alan's in the mapping, then one each: no change that was undone
