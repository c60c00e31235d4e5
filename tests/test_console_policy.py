"""SPEC's table "Who may do what", the rows that exist by now, walked through HTTP: the console (/org/) and the home
page for the people of a tenant, the admin for support staff and superusers. Each line is an actor, an action and a
target, with the answer written out here from SPEC, not read from accounts.policy: a view that forgets to ask the
policy lets an action through that the table refuses, and fails its line.

Acme: owner Ada, admins Grace and Edsger, member Alan, Barbara (deactivated in Okta). Globex: admin Bob, member Gus.
"Self" is the actor themselves."""

import pytest
from django.test import Client

from accounts.models import DeactivatedBy, GroupRole, LoginEvent, Role, TenantGroup, User
from console.settings import token_marker
from scim.models import ProvisioningToken
from tenants.models import ConnectionCheckResult, RoleSource, Tenant
from tests.test_admin_tenants import support_client
from tests.test_admin_users import sign_out_everywhere, transfer
from tests.test_console_people import PEOPLE_URL, console_client, joined, person_url
from tests.test_console_roles import ROLES_URL, pushed

TENANT_PEOPLE = ("ada", "grace", "alan", "bob")
STAFF = ("support", "superuser")


@pytest.fixture
def cast(acme, globex) -> dict[str, User]:
    return {
        "ada": joined(acme, "ada", Role.OWNER), "grace": joined(acme, "grace", Role.ADMIN),
        "edsger": joined(acme, "edsger", Role.ADMIN), "alan": joined(acme, "alan"),
        "barbara": joined(acme, "barbara", is_active=False, deactivated_by=DeactivatedBy.OKTA),
        "bob": joined(globex, "bob", Role.ADMIN), "gus": joined(globex, "gus"),
    }


def client_of(actor: str, cast: dict[str, User]) -> Client:
    if actor == "support":
        return support_client()
    if actor == "superuser":
        client = Client()
        client.force_login(User.objects.create_superuser(username="sue.superuser", password="x" * 20),
                           backend="django.contrib.auth.backends.ModelBackend")
        return client
    return console_client(cast[actor])


def target_of(actor: str, target: str, cast: dict[str, User]) -> User:
    return cast[actor] if target == "self" else cast[target]


# --- the attempts, as a browser makes them: (whether it took effect, the status) --------------------------------
def read_people(client: Client, actor: str, person: User) -> tuple[bool, int]:
    """The people list shows the person (staff: the console is not theirs; they read people in the admin)."""
    response = client.get(PEOPLE_URL)
    return response.status_code == 200 and person in response.context["page"].people, response.status_code


def read_person(client: Client, actor: str, person: User) -> tuple[bool, int]:
    status = client.get(person_url(person)).status_code
    return status == 200, status


def sign_out(client: Client, actor: str, person: User) -> tuple[bool, int]:
    """The console's action=sign_out; staff use the admin's action; a member has only the home page's button."""
    if actor in STAFF:
        status = sign_out_everywhere(client, person).status_code
    elif actor == "alan" and person.sub == "alan":
        status = client.post("/sign-out-everywhere/").status_code
    else:
        status = client.post(person_url(person), {"action": "sign_out"}).status_code
    return signed_out(person), status


def signed_out(person: User) -> bool:
    return User.objects.get(pk=person.pk).session_epoch > person.session_epoch


def change_role(client: Client, actor: str, person: User) -> tuple[bool, int]:
    """The console's action=role, to the role that is a change for the person: a member (deactivated or not) made
    admin, an admin made member, the owner made admin. Staff change roles in the admin (tests/test_admin_policy.py,
    "change a person's role")."""
    new_role = Role.MEMBER if person.role == Role.ADMIN else Role.ADMIN
    status = client.post(person_url(person), {"action": "role", "role": new_role}).status_code
    return User.objects.get(pk=person.pk).role == new_role, status


def transfer_ownership(client: Client, actor: str, person: User) -> tuple[bool, int]:
    """The console's action=transfer; staff use the admin's action."""
    if actor in STAFF:
        status = transfer(client, person).status_code
    else:
        status = client.post(person_url(person), {"action": "transfer", "confirm": "yes"}).status_code
    return person.role != Role.OWNER and User.objects.get(pk=person.pk).role == Role.OWNER, status


#            self   owner  admin  member deact. other tenant's person (for Bob: Gus, his own tenant's)
TARGETS = ("self", "ada", "edsger", "alan", "barbara", "gus")
READ = {
    "ada":       (True, True, True, True, True, False),
    "grace":     (True, True, True, True, True, False),
    "alan":      (False, False, False, None, False, False),  # a member: the 403 page
    "bob":       (True, False, False, False, False, True),  # Acme's people are another tenant's to him
    "support":   (None, False, False, False, False, False),  # the console is the customers'; the admin is theirs
    "superuser": (None, False, False, False, False, False),
}  # fmt: skip
SIGN_OUT = {
    "ada":       (True, True, True, True, True, False),  # anyone of her tenant
    "grace":     (True, False, True, True, True, False),  # members, admins and self, not the owner
    "alan":      (True, False, False, None, False, False),  # self (he is the member), from the home page
    "bob":       (True, False, False, False, False, True),
    "support":   (None, True, True, True, True, True),  # every tenant, in the admin
    "superuser": (None, True, True, True, True, True),
}  # fmt: skip

ROLE = {  # the other role: an admin made member, anyone else made admin
    "ada":       (False, False, True, True, False, False),  # any admin or member, not self; nobody deactivated
    "grace":     (False, False, False, True, False, False),  # make a member admin, nothing else
    "alan":      (False, False, False, None, False, False),
    "bob":       (False, False, False, False, False, True),
    "support":   (None, None, None, None, None, None),  # in the admin: tests/test_admin_policy.py
    "superuser": (None, None, None, None, None, None),
}  # fmt: skip
TRANSFER = {
    "ada":       (False, False, True, True, False, False),  # to an active person who has signed in
    "grace":     (False, False, False, False, False, False),
    "alan":      (False, False, False, None, False, False),
    "bob":       (False, False, False, False, False, False),
    "support":   (None, False, False, False, False, False),
    "superuser": (None, False, True, True, False, True),  # also where the owner has left: any tenant
}  # fmt: skip
# What the table allows but the person's state does not: a 409 page, not a 403 (the owner is owner already;
# a deactivated person cannot be the owner).
CONFLICTS = {("ada", "transfer ownership", "self"), ("ada", "transfer ownership", "ada"),
             ("ada", "transfer ownership", "barbara")}

LINES = [
    (actor, action, target, answers[actor][column])
    for action, answers in (("read people", READ), ("read a person", READ), ("sign out everywhere", SIGN_OUT),
                            ("change a role", ROLE), ("transfer ownership", TRANSFER))
    for actor in answers
    for column, target in enumerate(TARGETS)
    if answers[actor][column] is not None
]
ATTEMPTS = {"read people": read_people, "read a person": read_person, "sign out everywhere": sign_out,
            "change a role": change_role, "transfer ownership": transfer_ownership}


@pytest.mark.parametrize(("actor", "action", "target", "expected"), LINES,
                         ids=[f"{a} {b} {c}" for a, b, c, _ in LINES])
def test_each_line_of_the_table_holds_through_http(cast, actor, action, target, expected):
    person = target_of(actor, target, cast)
    client = client_of(actor, cast)

    took_effect, status = ATTEMPTS[action](client, actor, person)

    assert took_effect is expected, f"{actor} {action} {target}: answered {status}"
    assert status < 500
    if expected or actor not in TENANT_PEOPLE:
        return
    if action == "read people":  # a member meets the 403 page; the others see only their own tenant's people
        assert status == (403 if actor == "alan" else 200)
    elif (actor, action, target) in CONFLICTS:
        assert status == 409
    else:  # another tenant's person is a 404 whoever asks; a refusal inside one's own tenant is the 403 page
        assert status == (404 if person.tenant_id != cast[actor].tenant_id else 403), (actor, action, target)
    if action in ("change a role", "transfer ownership"):
        assert not LoginEvent.objects.filter(reason="role_changed").exists()


# --- `role_source`, group mapping: view for the owner and admins, change for the owner -----------------------------
# Not a person's: the target is Acme (its role_source) or IT-Admins, a group Okta pushed to Acme. Support staff and
# superusers do these in the admin (tests/test_admin_policy.py); the console is the customers'.
def view_roles(client: Client, actor: str, group: TenantGroup) -> tuple[bool, int]:
    response = client.get(ROLES_URL)
    return response.status_code == 200 and group in response.context["groups"], response.status_code


def switch_role_source(client: Client, actor: str, group: TenantGroup) -> tuple[bool, int]:
    status = client.post(ROLES_URL, {"action": "role_source", "role_source": RoleSource.OKTA}).status_code
    return Tenant.objects.get(pk=group.tenant_id).role_source == RoleSource.OKTA, status


def map_group(client: Client, actor: str, group: TenantGroup) -> tuple[bool, int]:
    form = {"action": "group_role", "group": group.scim_id, "role": GroupRole.ADMIN}
    status = client.post(ROLES_URL, form).status_code
    return TenantGroup.objects.get(pk=group.pk).role == GroupRole.ADMIN, status


#                view   switch role_source   map IT-Admins to admin  (status when refused)
ROLE_SOURCE = {
    "ada":   ((True, 200), (True, 302), (True, 302)),
    "grace": ((True, 200), (False, 403), (False, 403)),  # view
    "alan":  ((False, 403), (False, 403), (False, 403)),  # the member's 403 page
    "bob":   ((False, 200), (False, 403), (False, 404)),  # his own tenant's page; Acme's group is not there for him
}  # fmt: skip
ROLE_SOURCE_ATTEMPTS = (view_roles, switch_role_source, map_group)
ROLE_SOURCE_LINES = [(actor, attempt.__name__, *answers[column])
                     for actor, answers in ROLE_SOURCE.items() for column, attempt in enumerate(ROLE_SOURCE_ATTEMPTS)]


@pytest.mark.parametrize(("actor", "action", "expected", "status"), ROLE_SOURCE_LINES,
                         ids=[f"{a} {b}" for a, b, _, _ in ROLE_SOURCE_LINES])
def test_the_role_source_and_mapping_lines_hold_through_http(cast, actor, action, expected, status):
    it_admins = pushed(cast["ada"].tenant, "IT-Admins", [cast["alan"]])
    attempt = next(attempt for attempt in ROLE_SOURCE_ATTEMPTS if attempt.__name__ == action)

    took_effect, answered = attempt(console_client(cast[actor]), actor, it_admins)

    assert (took_effect, answered) == (expected, status)
    if not expected and action != "view_roles":
        assert not LoginEvent.objects.filter(kind="console").exists()


def test_a_member_cannot_sign_out_someone_else_from_the_home_page(cast):
    """The home page's button ends only one's own sessions: it takes no person."""
    console_client(cast["alan"]).post("/sign-out-everywhere/", {"person": cast["grace"].scim_id})

    assert not signed_out(cast["grace"]) and signed_out(cast["alan"])


# --- the rows on a tenant: the console acts on the actor's own (Bob: Globex); staff act on Acme in the admin ----------
def tenant_of(actor: str, cast: dict[str, User]) -> Tenant:
    return cast["ada"].tenant if actor in STAFF else cast[actor].tenant


def check_connection(client: Client, actor: str, tenant: Tenant) -> tuple[bool, int]:
    """The overview's action=check; staff use the tenant page's button."""
    url = f"/admin/tenants/tenant/{tenant.pk}/check-connection/" if actor in STAFF else "/org/"
    status = client.post(url, {"action": "check"}).status_code
    return ConnectionCheckResult.objects.filter(tenant=tenant).exists(), status


def rotate_credentials(client: Client, actor: str, tenant: Tenant) -> tuple[bool, int]:
    """Settings' action=credentials, to a Client ID the test provider lets in with any secret."""
    status = client.post("/org/settings/", {"action": "credentials", "client_id": f"{tenant.slug}-rotated",
                                            "client_secret": "new-secret"}).status_code
    return Tenant.objects.get(pk=tenant.pk).client_id == f"{tenant.slug}-rotated", status


def issue_scim_token(client: Client, actor: str, tenant: Tenant) -> tuple[bool, int]:
    """Settings' action=scim_token; staff use the tenant page's button."""
    url = f"/admin/tenants/tenant/{tenant.pk}/scim-token/" if actor in STAFF else "/org/settings/"
    status = client.post(url, {"action": "scim_token", "replaces": token_marker(None)}).status_code
    return ProvisioningToken.objects.filter(tenant=tenant).exists(), status


#                 ada    grace  alan   bob    support superuser
TENANT_ACTORS = ("ada", "grace", "alan", "bob", "support", "superuser")
TENANT_LINES = {
    "check the connection": (True, True, False, True, True, True),
    "rotate the credentials": (True, True, False, True, None, None),  # staff: a setup link (tests/test_setup.py)
    "issue a SCIM token": (True, False, False, False, False, True),  # the owner only (Bob is an admin)
}  # fmt: skip
TENANT_ATTEMPTS = {"check the connection": check_connection, "rotate the credentials": rotate_credentials,
                   "issue a SCIM token": issue_scim_token}
ON_TENANT = [(actor, action, answers[column]) for action, answers in TENANT_LINES.items()
             for column, actor in enumerate(TENANT_ACTORS) if answers[column] is not None]


@pytest.mark.parametrize(("actor", "action", "expected"), ON_TENANT, ids=[f"{a} {b}" for a, b, _ in ON_TENANT])
def test_each_line_on_a_tenant_holds_through_http(cast, actor, action, expected):
    tenant = tenant_of(actor, cast)

    took_effect, status = TENANT_ATTEMPTS[action](client_of(actor, cast), actor, tenant)

    assert took_effect is expected, f"{actor} {action}: answered {status}"
    assert status < 500
    if not expected:
        assert status == 403, (actor, action, status)
