"""/org/roles/ (SPEC "Roles from Okta", "The customer console"): where Acme's roles come from and the groups Okta
pushed, through HTTP as a browser posts them. Acme: owner Ada, admins Grace, Edsger and Margaret, members Alan and
Linus, Barbara whom Okta deactivated; Okta pushed IT-Admins (Grace, Alan, Linus, Barbara) and Everyone. Globex: admin
Bob, with a group of his own."""

import html

import pytest

from accounts.events import EventKind
from accounts.models import DeactivatedBy, GroupRole, LoginEvent, Role, TenantGroup, User
from tenants.models import RoleSource, Tenant
from tests.conftest import Browser
from tests.oidc_provider import query_of
from tests.test_console_people import console_client, joined
from tests.test_reauth import signed_in_long_ago

ROLES_URL = "/org/roles/"


def pushed(tenant: Tenant, name: str, members: list[User], role: str = GroupRole.NONE) -> TenantGroup:
    group = TenantGroup.objects.create(tenant=tenant, display_name=name, role=role)
    group.members.set(members)
    return group


@pytest.fixture
def acme_roles(acme: Tenant, globex: Tenant) -> dict[str, User]:
    people = {
        "ada": joined(acme, "ada", Role.OWNER), "grace": joined(acme, "grace", Role.ADMIN),
        "edsger": joined(acme, "edsger", Role.ADMIN), "margaret": joined(acme, "margaret", Role.ADMIN),
        "alan": joined(acme, "alan"), "linus": joined(acme, "linus"),
        "barbara": joined(acme, "barbara", is_active=False, deactivated_by=DeactivatedBy.OKTA),
        "bob": joined(globex, "bob", Role.ADMIN),
    }
    pushed(acme, "IT-Admins", [people[name] for name in ("grace", "alan", "linus", "barbara")], GroupRole.ADMIN)
    pushed(acme, "Everyone", [person for name, person in people.items() if name != "bob"])
    pushed(globex, "Globex-Admins", [people["bob"]], GroupRole.ADMIN)
    return people


def group(name: str) -> TenantGroup:
    return TenantGroup.objects.get(display_name=name)


def roles() -> dict[str, str]:
    return dict(User.objects.filter(tenant__slug="acme").values_list("sub", "role"))


def page(response) -> str:
    return html.unescape(response.content.decode())


# --- what the page shows ---------------------------------------------------------------------------------------------
def test_it_shows_where_roles_come_from_and_the_pushed_groups_with_their_sizes(acme_roles):
    response = console_client(acme_roles["ada"]).get(ROLES_URL)

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert [(g.display_name, g.size, g.role) for g in response.context["groups"]] == [
        ("Everyone", 7, GroupRole.NONE), ("IT-Admins", 4, GroupRole.ADMIN)]
    text = page(response)
    assert "<strong>Inigo</strong>" in text and "Take roles from Okta" in text
    assert "Globex-Admins" not in text
    assert 'href="/org/roles/" aria-current="page"' in text  # its line in the console's navigation


def test_an_admin_sees_the_page_without_any_control(acme_roles):
    text = page(console_client(acme_roles["grace"]).get(ROLES_URL, {"role_source": "okta"}))

    assert "IT-Admins" in text and "Only the owner changes where roles come from" in text
    assert "Take roles from Okta" not in text and "<select" not in text and "<form" not in text.split("<main")[-1]


def test_a_member_gets_the_403_page_that_names_the_owner(acme_roles):
    response = console_client(acme_roles["alan"]).get(ROLES_URL)

    assert response.status_code == 403
    assert "The owner is <strong>Ada</strong>" in page(response)


def test_with_no_group_pushed_it_says_how_to_push_one(acme):
    text = page(console_client(joined(acme, "ada", Role.OWNER)).get(ROLES_URL))

    assert "Okta has not pushed any group to Inigo yet" in text and "Push Groups" in text


# --- role_source ------------------------------------------------------------------------------------------------------
def test_switching_to_okta_shows_the_consequence_first_and_changes_nothing_until_confirmed(acme_roles):
    ada = console_client(acme_roles["ada"])
    before = roles()

    preview = ada.get(ROLES_URL, {"role_source": "okta"})

    assert "3 people become admin, 2 admins become members." in page(preview)  # Alan, Linus, Barbara; Edsger, Margaret
    assert 'name="role_source" value="okta"' in page(preview) and ">Take roles from Okta</button>" in page(preview)
    assert roles() == before and Tenant.objects.get(slug="acme").role_source == RoleSource.INIGO

    done = ada.post(ROLES_URL, {"action": "role_source", "role_source": "okta"})

    assert (done.status_code, done["Location"]) == (302, ROLES_URL)
    assert roles() == {"ada": Role.OWNER, "grace": Role.ADMIN, "edsger": Role.MEMBER, "margaret": Role.MEMBER,
                       "alan": Role.ADMIN, "linus": Role.ADMIN, "barbara": Role.ADMIN}
    assert "Roles now come from Okta. 3 people became admin, 2 admins became members." in page(ada.get(ROLES_URL))
    events = LoginEvent.objects.filter(reason="role_changed", kind=EventKind.CONSOLE)
    assert events.count() == 5
    assert events.get(user__sub="edsger").detail == "admin -> member (roles now come from okta), by ada@acme.test"
    assert LoginEvent.objects.get(reason="role_source_changed").user.sub == "ada"


def test_switching_back_to_inigo_keeps_everyones_role(acme_roles):
    ada = console_client(acme_roles["ada"])
    ada.post(ROLES_URL, {"action": "role_source", "role_source": "okta"})
    under_okta = roles()

    done = ada.post(ROLES_URL, {"action": "role_source", "role_source": "inigo"})

    assert done.status_code == 302 and roles() == under_okta
    assert Tenant.objects.get(slug="acme").role_source == RoleSource.INIGO
    assert "everyone keeps the role they have" in page(ada.get(ROLES_URL))


# --- the mapping ------------------------------------------------------------------------------------------------------
def test_a_mapping_change_shows_what_it_would_do_before_it_is_saved(acme_roles):
    ada = console_client(acme_roles["ada"])
    ada.post(ROLES_URL, {"action": "role_source", "role_source": "okta"})
    it_admins = group("IT-Admins")

    preview = ada.get(ROLES_URL, {"group": it_admins.scim_id, "role": ""})

    assert "Map IT-Admins to no role?" in page(preview)
    assert "4 admins become members." in page(preview)  # Grace, Alan, Linus, and Barbara (deactivated, still admin)
    assert group("IT-Admins").role == GroupRole.ADMIN

    done = ada.post(ROLES_URL, {"action": "group_role", "group": it_admins.scim_id, "role": ""})

    assert done.status_code == 302 and group("IT-Admins").role == GroupRole.NONE
    assert roles() == {**dict.fromkeys(("grace", "edsger", "margaret", "alan", "linus", "barbara"), Role.MEMBER),
                       "ada": Role.OWNER}
    assert "IT-Admins is mapped to no role." in page(ada.get(ROLES_URL))
    assert LoginEvent.objects.get(reason="group_role_changed").detail.startswith("group IT-Admins mapped to no role")


def test_under_inigo_a_mapping_is_kept_and_changes_nobody(acme_roles):
    ada = console_client(acme_roles["ada"])
    everyone = group("Everyone")

    preview = page(ada.get(ROLES_URL, {"group": everyone.scim_id, "role": "admin"}))
    ada.post(ROLES_URL, {"action": "group_role", "group": everyone.scim_id, "role": "admin"})

    assert "Nobody's role changes." in preview and "changes nobody's role until roles come from Okta" in preview
    assert group("Everyone").role == GroupRole.ADMIN and roles()["alan"] == Role.MEMBER


# --- refusals ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("form", [
    {"action": "role_source", "role_source": "okta"},
    {"action": "role_source", "role_source": "inigo"},
    {"action": "group_role", "group": "<IT-Admins>", "role": ""},
])
def test_an_admin_may_not_change_them_a_403_that_changes_nothing(acme_roles, form):
    form = {**form, "group": group("IT-Admins").scim_id} if "group" in form else form
    before = roles()

    response = console_client(acme_roles["grace"]).post(ROLES_URL, form)

    assert response.status_code == 403 and "Nothing was changed" in page(response)
    assert roles() == before and group("IT-Admins").role == GroupRole.ADMIN
    assert not LoginEvent.objects.filter(kind=EventKind.CONSOLE).exists()


def test_another_tenants_group_id_answers_404_on_the_preview_and_the_post(acme_roles):
    globex_group, acme_group = group("Globex-Admins"), group("IT-Admins")

    for person, stranger in (("ada", globex_group), ("grace", globex_group), ("bob", acme_group)):
        client = console_client(acme_roles[person])
        form = {"action": "group_role", "group": stranger.scim_id, "role": ""}
        assert client.get(ROLES_URL, {"group": stranger.scim_id, "role": ""}).status_code == 404
        assert client.post(ROLES_URL, form).status_code == 404
    assert group("Globex-Admins").role == GroupRole.ADMIN and group("IT-Admins").role == GroupRole.ADMIN


@pytest.mark.parametrize("form", [
    {"action": "nonsense"}, {"action": "role_source", "role_source": "owner"}, {"action": "role_source"},
    {"action": "group_role", "group": "<IT-Admins>", "role": "owner"},
])
def test_a_form_it_does_not_know_is_a_400_that_changes_nothing(acme_roles, form):
    form = {**form, "group": group("IT-Admins").scim_id} if "group" in form else form

    response = console_client(acme_roles["ada"]).post(ROLES_URL, form)

    assert response.status_code == 400
    assert Tenant.objects.get(slug="acme").role_source == RoleSource.INIGO
    assert group("IT-Admins").role == GroupRole.ADMIN


def test_a_stale_sign_in_goes_through_okta_first_with_nothing_changed(acme_roles, provider):
    client = console_client(acme_roles["ada"])
    signed_in_long_ago(Browser(client))

    for form in ({"action": "role_source", "role_source": "okta"},
                 {"action": "group_role", "group": group("Everyone").scim_id, "role": "admin"}):
        to_okta = client.post(ROLES_URL, form)
        assert to_okta.status_code == 302 and to_okta["Location"].startswith(provider.issuer)
        assert query_of(to_okta["Location"])["prompt"] == "login"
    assert Tenant.objects.get(slug="acme").role_source == RoleSource.INIGO
    assert group("Everyone").role == GroupRole.NONE
