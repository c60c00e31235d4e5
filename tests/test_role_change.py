"""Role changes and ownership transfers as services (SPEC "Who may do what"; accounts.services.role_change,
ownership_transfer): who may give whom which role, the transfer's conditions, and the `role_changed` event of each
change. Through HTTP in tests/test_reauth.py (and the console's permission-table test once console/ exists)."""

import pytest
from django.utils import timezone

from accounts.events import EventKind
from accounts.models import LoginEvent, Role, User
from accounts.services import OwnershipTransferError, RoleChangeRefused, ownership_transfer, role_change
from tests.test_admin_users import person


@pytest.fixture
def acme_people(acme) -> dict[str, User]:
    """Owner Ada, admins Grace and Hedy, members Alan and Carl (deactivated), Pat provisioned and never signed in."""
    signed_in = timezone.now()
    return {
        "ada": person(acme, "ada", Role.OWNER, last_login=signed_in),
        "grace": person(acme, "grace", Role.ADMIN, last_login=signed_in),
        "hedy": person(acme, "hedy", Role.ADMIN, last_login=signed_in),
        "alan": person(acme, "alan", last_login=signed_in),
        "carl": person(acme, "carl", last_login=signed_in, is_active=False),
        "pat": person(acme, "pat"),
    }


def role(sub: str) -> str:
    return User.objects.values_list("role", flat=True).get(sub=sub)


@pytest.mark.parametrize(("actor", "target", "new_role"), [
    ("ada", "grace", Role.MEMBER),  # the owner sets any admin or member
    ("ada", "alan", Role.ADMIN),
    ("grace", "alan", Role.ADMIN),  # an admin makes a member admin
])
def test_it_changes_what_the_table_allows(acme_people, actor, target, new_role):
    role_change(actor=acme_people[actor], person=acme_people[target], role=new_role)

    assert role(target) == new_role
    event = LoginEvent.objects.get(reason="role_changed")
    assert event.kind == EventKind.CONSOLE and event.user.sub == target
    assert event.detail.startswith(f"{acme_people[target].role} -> {new_role}, by {actor}@acme.test")


@pytest.mark.parametrize(("actor", "target", "new_role"), [
    ("ada", "ada", Role.ADMIN),  # nobody changes their own role
    ("grace", "grace", Role.MEMBER),
    ("grace", "hedy", Role.MEMBER),  # an admin does not touch another admin's role
    ("grace", "ada", Role.ADMIN),  # nor the owner's
    ("ada", "alan", Role.OWNER),  # ownership moves only by transfer
    ("ada", "carl", Role.ADMIN),  # a deactivated person is not made admin by hand
    ("alan", "pat", Role.ADMIN),  # a member changes nothing
    ("ada", "alan", "superuser"),
])
def test_it_refuses_what_the_table_refuses_and_changes_nothing(acme_people, actor, target, new_role):
    before = role(target)

    with pytest.raises(RoleChangeRefused):
        role_change(actor=acme_people[actor], person=acme_people[target], role=new_role)

    assert role(target) == before
    assert not LoginEvent.objects.filter(reason="role_changed").exists()


def test_the_same_role_again_is_no_change(acme_people):
    role_change(actor=acme_people["ada"], person=acme_people["carl"], role=Role.MEMBER)

    assert role("carl") == Role.MEMBER
    assert not LoginEvent.objects.filter(reason="role_changed").exists()


def test_it_refuses_another_tenants_person(acme_people, globex):
    bob = person(globex, "bob", last_login=timezone.now())

    with pytest.raises(RoleChangeRefused):
        role_change(actor=acme_people["ada"], person=bob, role=Role.ADMIN)

    assert role("bob") == Role.MEMBER


def test_an_admin_demoted_meanwhile_changes_nothing(acme_people):
    User.objects.filter(sub="grace").update(role=Role.MEMBER)  # the owner made Grace a member a moment ago

    with pytest.raises(RoleChangeRefused):
        role_change(actor=acme_people["grace"], person=acme_people["alan"], role=Role.ADMIN)

    assert role("alan") == Role.MEMBER


def test_a_transfer_makes_the_old_owner_admin_and_records_both_changes(acme_people):
    ownership_transfer(new_owner=acme_people["alan"], actor=acme_people["ada"])

    assert (role("alan"), role("ada")) == (Role.OWNER, Role.ADMIN)
    details = sorted(LoginEvent.objects.filter(reason="role_changed").values_list("user__sub", "detail"))
    assert details == [("ada", "owner -> admin, by ada@acme.test (ownership moved to alan@acme.test)"),
                       ("alan", "member -> owner, by ada@acme.test (ownership transfer)")]


@pytest.mark.parametrize(("target", "why"), [("carl", "is deactivated"), ("pat", "has never signed in")])
def test_a_transfer_needs_an_active_person_who_has_signed_in(acme_people, target, why):
    with pytest.raises(OwnershipTransferError, match=why):
        ownership_transfer(new_owner=acme_people[target], actor=acme_people["ada"])

    assert role("ada") == Role.OWNER
    assert not LoginEvent.objects.filter(reason="role_changed").exists()
