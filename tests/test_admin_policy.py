"""Who may do what (SPEC's table), walked through the admin over HTTP as Sam of the Support group and as a superuser,
one row of the table at a time; and the console's columns of accounts.policy as a pure table.

Acme is set up (owner Alice, admin Bob, member Carol); Hooli awaits setup. Each row tries its action the way a
browser would and says whether it took effect; the expected answers are SPEC's, written out here, not read from
the policy under test."""

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.utils import timezone

from accounts import policy
from accounts.models import Role, User
from accounts.policy import Action, RoleChange
from tenants.models import ConnectionCheckResult, SetupLink, Tenant, TenantEmailDomain
from tests.conftest import ACME_SECRET
from tests.test_admin_tenants import (
    ADD_URL,
    LIST_URL,
    add_form_data,
    change_form_data,
    change_url,
    post_confirmed,
    support_client,
)
from tests.test_admin_users import EVENTS_URL, USERS_URL, person, sign_out_everywhere, transfer

NEW_SECRET = "rotated-client-secret-Lm40tQ7eW2"
HOOLI_SECRET = "hooli-client-secret-Ba62nC5xK8"

World = SimpleNamespace


@pytest.fixture
def world(acme: Tenant, provider, other_provider, public_dns) -> World:
    return World(
        acme=acme, provider=provider, other_provider=other_provider,
        hooli=Tenant.objects.create(name="Hooli", slug="hooli", is_active=False),
        alice=person(acme, "alice", Role.OWNER), bob=person(acme, "bob", Role.ADMIN),
        carol=person(acme, "carol", last_login=timezone.now()),  # has signed in: a transfer needs it
        kim=User.objects.create_user(username="kim.staff", is_staff=True),
    )


def _fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def _save_tenant(client: Client, tenant: Tenant, **changes: str) -> None:
    data = change_form_data(client.get(change_url(tenant)))
    data.update(changes)
    post_confirmed(client, change_url(tenant), data)


def _save_person(client: Client, user: User, **changes: str) -> None:
    data = change_form_data(client.get(change_url(user)))
    data.update(changes)
    client.post(change_url(user), data)


# --- each row: try it, say whether it took effect ------------------------------------------------------------------
def read(client: Client, world: World) -> bool:
    pages = [LIST_URL, change_url(world.acme), USERS_URL, change_url(world.carol), EVENTS_URL]
    return all(client.get(url).status_code == 200 for url in pages)


def create_tenant(client: Client, world: World) -> bool:
    client.post(ADD_URL, add_form_data(name="Initech", slug="initech", okta_domain="initech.okta.com",
                                       client_id="inigo-initech", email_domains=""))
    return Tenant.objects.filter(slug="initech").exists()


def create_setup_link(client: Client, world: World) -> bool:
    return client.post(f"/admin/tenants/tenant/{world.hooli.pk}/setup-link/").status_code == 200 and (
        SetupLink.objects.filter(tenant=world.hooli).exists())


def check_connection(client: Client, world: World) -> bool:
    client.post(f"/admin/tenants/tenant/{world.acme.pk}/check-connection/")
    return ConnectionCheckResult.objects.filter(tenant=world.acme, ok=True).exists()


def fill_in_awaiting_setup(client: Client, world: World) -> bool:
    _save_tenant(client, world.hooli, okta_domain="https://login.hooli.com", client_id="inigo-hooli",
                 client_secret=HOOLI_SECRET)
    return _fresh(world.hooli).issuer == "https://login.hooli.com"


def change_okta_domain(client: Client, world: World) -> bool:
    _save_tenant(client, world.acme, okta_domain=world.other_provider.issuer)
    return _fresh(world.acme).issuer == world.other_provider.issuer


def rotate_credentials(client: Client, world: World) -> bool:
    _save_tenant(client, world.acme, client_id="inigo-acme-2", client_secret=NEW_SECRET)
    acme = _fresh(world.acme)
    return (acme.client_id, acme.client_secret) == ("inigo-acme-2", NEW_SECRET)


def issue_scim_token(client: Client, world: World) -> bool:
    response = client.post(f"/admin/tenants/tenant/{world.acme.pk}/scim-token/")
    assert response.status_code in (200, 403)  # refused is a 403, never a 500 or a page that looks done
    return response.status_code == 200


def change_role(client: Client, world: World) -> bool:
    _save_person(client, world.carol, role=Role.ADMIN)
    return _fresh(world.carol).role == Role.ADMIN


def transfer_ownership(client: Client, world: World) -> bool:
    transfer(client, world.carol)
    return _fresh(world.carol).role == Role.OWNER


def sign_out(client: Client, world: World) -> bool:
    sign_out_everywhere(client, world.carol)
    return _fresh(world.carol).session_epoch > world.carol.session_epoch


def deactivate(client: Client, world: World) -> bool:
    data = change_form_data(client.get(change_url(world.carol)))
    data.pop("is_active")
    client.post(change_url(world.carol), data)
    return not _fresh(world.carol).is_active


def add_email_domain(client: Client, world: World) -> bool:
    _save_tenant(client, world.acme, email_domains="acme.test,acme-labs.test")
    return TenantEmailDomain.objects.filter(tenant=world.acme, domain="acme-labs.test").exists()


def manage_staff_account(client: Client, world: World) -> bool:
    data = change_form_data(client.get(change_url(world.kim)))
    data.pop("date_joined", None)  # a split date and time widget: two fields
    data.update(username="kim.staff", first_name="Kim", date_joined_0="2026-01-05", date_joined_1="09:00:00")
    client.post(change_url(world.kim), data)
    return _fresh(world.kim).first_name == "Kim"


Attempt = Callable[[Client, World], bool]

#                                                                    Support  superuser  recorded in the admin log
ROWS: list[tuple[str, Attempt, bool, bool, bool]] = [
    ("read tenants, people, events, health",       read,                   True,   True,  False),
    ("create a tenant",                            create_tenant,          True,   True,  True),
    ("create a setup link",                        create_setup_link,      True,   True,  False),
    ("check a connection",                         check_connection,       True,   True,  False),
    ("fill in a tenant awaiting setup",            fill_in_awaiting_setup, True,   True,  True),
    ("change a set-up tenant's Okta domain",       change_okta_domain,     False,  True,  True),
    ("rotate Client ID and Secret (same issuer)",  rotate_credentials,     True,   True,  True),
    ("issue a SCIM token",                         issue_scim_token,       False,  True,  True),
    ("change a person's role",                     change_role,            False,  True,  True),
    ("transfer ownership",                         transfer_ownership,     False,  True,  True),
    ("sign out everywhere",                        sign_out,               True,   True,  True),
    ("deactivate a person in Inigo",               deactivate,             True,   True,  True),
    ("email domains: add (verified)",              add_email_domain,       True,   True,  True),
    ("staff accounts (README, not the table)",     manage_staff_account,   False,  True,  False),
]  # fmt: skip


@pytest.fixture(params=["support", "superuser"])
def staff(request, db) -> tuple[str, Client, User]:
    if request.param == "support":
        client = support_client()
        return "support", client, User.objects.get(username="sam.support")
    admin = User.objects.create_superuser(username="ada.admin", password="x" * 20)
    client = Client()
    client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    return "superuser", client, admin


@pytest.mark.parametrize(("row", "attempt", "support", "superuser", "recorded"), ROWS, ids=[row[0] for row in ROWS])
def test_each_row_of_the_table_holds_in_the_admin(staff, world, row, attempt, support, superuser, recorded):
    column, client, actor = staff

    took_effect = attempt(client, world)

    assert took_effect is {"support": support, "superuser": superuser}[column], f"{row} as {column}"
    entries = LogEntry.objects.filter(user=actor)
    if took_effect and recorded:
        assert entries.exists(), f"{row}: no admin log entry names {actor}"
    logged = " ".join(f"{entry.change_message} {entry.object_repr}" for entry in LogEntry.objects.all())
    for secret in (ACME_SECRET, NEW_SECRET, HOOLI_SECRET):
        assert secret not in logged


def test_support_staff_see_a_set_up_tenants_domain_and_no_scim_token_button(world):
    support = support_client()

    response = support.get(change_url(world.acme))

    form = response.context["adminform"].form
    assert "okta_domain" not in form.fields and "client_secret" in form.fields
    page = response.content.decode()
    assert world.provider.issuer in page
    assert 'form="scim-token-form"' not in page
    assert ACME_SECRET not in page


def test_the_transfer_action_is_not_offered_to_support_staff(world):
    response = support_client().get(USERS_URL)

    assert "transfer_ownership" not in response.content.decode()
    assert "sign_out_everywhere" in response.content.decode()


def test_a_superuser_cannot_make_a_deactivated_person_admin(admin_client, world):
    User.objects.filter(pk=world.carol.pk).update(is_active=False)

    data = change_form_data(admin_client.get(change_url(world.carol)))
    data["role"] = Role.ADMIN
    response = admin_client.post(change_url(world.carol), data)

    assert "reactivate them first" in response.content.decode()
    assert _fresh(world.carol).role == Role.MEMBER


# --- the console's columns, as a pure table ---------------------------------------------------------------------
def _people() -> dict[str, User]:
    acme, globex = Tenant(pk=1, name="Acme"), Tenant(pk=2, name="Globex")

    def someone(pk: int, tenant: Tenant, role: str, **extra: object) -> User:
        return User(pk=pk, tenant=tenant, role=role, **extra)

    return {
        "ada": someone(1, acme, Role.OWNER), "grace": someone(2, acme, Role.ADMIN),
        "alan": someone(3, acme, Role.MEMBER), "edsger": someone(4, acme, Role.ADMIN),
        "barbara": someone(5, acme, Role.MEMBER, is_active=False), "bob": someone(6, globex, Role.ADMIN),
    }


CONSOLE = [
    # actor, action, target (a person, or (person, new role)), allowed
    ("ada", Action.ROLE_CHANGE, ("alan", Role.ADMIN), True),  # owner: any admin or member
    ("ada", Action.ROLE_CHANGE, ("grace", Role.MEMBER), True),
    ("ada", Action.ROLE_CHANGE, ("ada", Role.ADMIN), False),  # nobody changes their own role
    ("ada", Action.ROLE_CHANGE, ("barbara", Role.ADMIN), False),  # deactivated: never admin by hand
    ("ada", Action.ROLE_CHANGE, ("alan", Role.OWNER), False),  # ownership moves only by transfer
    ("grace", Action.ROLE_CHANGE, ("alan", Role.ADMIN), True),  # admin: make a member admin
    ("grace", Action.ROLE_CHANGE, ("edsger", Role.MEMBER), False),  # not an admin's role
    ("grace", Action.ROLE_CHANGE, ("ada", Role.ADMIN), False),  # not the owner's
    ("grace", Action.ROLE_CHANGE, ("grace", Role.MEMBER), False),  # not their own
    ("bob", Action.ROLE_CHANGE, ("alan", Role.ADMIN), False),  # Globex's admin never acts on Acme
    ("alan", Action.ROLE_CHANGE, ("barbara", Role.MEMBER), False),  # members: nothing
    ("ada", Action.OWNERSHIP_TRANSFER, "grace", True),
    ("grace", Action.OWNERSHIP_TRANSFER, "alan", False),
    ("ada", Action.SCIM_TOKEN_ISSUE, "acme", True),
    ("grace", Action.SCIM_TOKEN_ISSUE, "acme", False),
    ("grace", Action.CREDENTIALS_ROTATE, "acme", True),
    ("bob", Action.CREDENTIALS_ROTATE, "acme", False),
    ("ada", Action.ISSUER_CHANGE, "acme", False),
    ("grace", Action.SIGN_OUT, "edsger", True),  # members, admins and self
    ("grace", Action.SIGN_OUT, "ada", False),  # not the owner
    ("ada", Action.SIGN_OUT, "grace", True),
    ("alan", Action.SIGN_OUT, "alan", True),  # self, from the home page
    ("alan", Action.SIGN_OUT, "grace", False),
    ("ada", Action.DEACTIVATE, "alan", False),  # Okta decides
    ("alan", Action.READ, "acme", False),
    ("bob", Action.READ, "acme", False),
    ("grace", Action.ROLE_SOURCE_CHANGE, "acme", False),
    ("ada", Action.ROLE_SOURCE_CHANGE, "acme", True),
]


@pytest.mark.parametrize(("actor", "action", "target", "expected"), CONSOLE)
def test_the_console_columns_read_like_the_table(actor, action, target, expected):
    people = _people()
    if target == "acme":
        subject = people["ada"].tenant
    elif isinstance(target, tuple):
        subject = RoleChange(people[target[0]], target[1])
    else:
        subject = people[target]

    assert policy.allowed(people[actor], action, subject) is expected


def test_roles_from_okta_are_set_by_nobody_by_hand():
    people = _people()
    people["alan"].tenant.role_source = policy.ROLE_SOURCE_OKTA

    assert not policy.allowed(people["ada"], Action.ROLE_CHANGE, RoleChange(people["alan"], Role.ADMIN))


def test_nobody_outside_the_table_may_do_anything(db):
    staff = User.objects.create_user(username="no.group", is_staff=True)
    switched_off = User.objects.create_superuser(username="gone", password="x" * 20, is_active=False)

    for actor in (staff, switched_off, None):
        assert not any(policy.allowed(actor, action) for action in Action)
