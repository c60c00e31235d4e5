"""The console's people pages (/org/people/, SPEC "The customer console"): owner Ada, admin Grace and member Alan of
Acme, Barbara whom Okta deactivated, Peggy whom Okta's provisioning added and who never signed in; Bob, admin of
Globex, who must never see Acme."""

import html
import time
from datetime import timedelta

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

from accounts import services
from accounts.events import EventKind
from accounts.models import DeactivatedBy, LoginEvent, Role, User
from accounts.oidc.auth_time import AUTH_TIME_KEY
from accounts.services import login_event_record
from tenants.models import RoleSource, Tenant
from tests.conftest import Browser
from tests.test_admin_tenants import support_client
from tests.test_admin_users import person
from tests.test_sessions import assert_signed_out, signed_in

PEOPLE_URL = "/org/people/"


def person_url(user: User) -> str:
    return f"{PEOPLE_URL}{user.scim_id}/"


def joined(tenant: Tenant, sub: str, role: str = Role.MEMBER, *, days_ago: int = 0, **extra: object) -> User:
    """A person who signed in `days_ago` days ago (their date_joined)."""
    when = timezone.now() - timedelta(days=days_ago)
    return person(tenant, sub, role, last_login=when, date_joined=when, **extra)


def console_client(user: User, *, recent: bool = True) -> Client:
    """Signed in as `user`, through Okta a moment ago: the session's auth_time is now (accounts.oidc.reauth);
    `recent=False`: a session without auth_time, which counts as too old for a change."""
    client = Client()
    client.force_login(user, backend="accounts.oidc.backend.TenantOIDCBackend")
    if recent:
        session = client.session
        session[AUTH_TIME_KEY] = int(time.time())
        session.save()
    return client


@pytest.fixture
def acme_people(acme: Tenant, globex: Tenant) -> dict[str, User]:
    peggy = person(acme, "peggy", provisioned_at=timezone.now(), scim_user_name="peggy@acme.test")
    User.objects.filter(pk=peggy.pk).update(sub="", issuer="")  # provisioned without externalId: no identity yet
    return {
        "ada": joined(acme, "ada", Role.OWNER, days_ago=30),
        "grace": joined(acme, "grace", Role.ADMIN, days_ago=20, name="Grace Hopper"),
        "alan": joined(acme, "alan", days_ago=10, name="Alan Turing"),
        "barbara": joined(acme, "barbara", days_ago=5, is_active=False, deactivated_by=DeactivatedBy.OKTA),
        "peggy": User.objects.get(pk=peggy.pk),
        "bob": joined(globex, "bob", Role.ADMIN, days_ago=1),
    }


def names_listed(response) -> list[str]:
    return [user.display_name for user in response.context["page"].people]


# --- the list -----------------------------------------------------------------------------------------------------
def test_it_lists_the_tenants_people_newest_first_with_status_and_who_set_it(acme_people):
    response = console_client(acme_people["grace"]).get(PEOPLE_URL)

    assert response.status_code == 200
    assert names_listed(response) == ["Peggy", "Barbara", "Alan Turing", "Grace Hopper", "Ada"]
    page = response.content.decode()
    assert "Deactivated in Okta" in page and "Provisioned by Okta, not signed in yet" in page
    assert "Bob" not in page  # Globex's
    assert "acme-ada" not in page  # names, never internal usernames
    assert response["Cache-Control"] == "private, no-store" or "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(("query", "expected"), [
    ({"q": "HOPP"}, ["Grace Hopper"]),  # part of a name, any case
    ({"q": "lan@acme"}, ["Alan Turing"]),  # part of an email
    ({"q": "bob"}, []),  # another tenant's person is never found
    ({"role": "admin"}, ["Grace Hopper"]),
    ({"role": "owner"}, ["Ada"]),
    ({"status": "inactive"}, ["Barbara"]),
    ({"status": "active", "role": "member"}, ["Peggy", "Alan Turing"]),
    ({"role": "nonsense", "status": "\u202e", "page": "-3"}, ["Peggy", "Barbara", "Alan Turing", "Grace Hopper",
                                                               "Ada"]),  # unknown filters are left out
])
def test_q_role_and_status_filter_the_list(acme_people, query, expected):
    response = console_client(acme_people["ada"]).get(PEOPLE_URL, query)

    assert response.status_code == 200
    assert names_listed(response) == expected


def test_it_pages_by_fifty_and_says_so_when_nobody_matches(acme, acme_people):
    User.objects.bulk_create([
        User(username=f"acme-p{n}", tenant=acme, issuer=acme.issuer, sub=f"p{n}", email=f"p{n}@acme.test",
             role=Role.MEMBER, last_login=timezone.now(), date_joined=timezone.now() - timedelta(days=40, minutes=n))
        for n in range(50)
    ])
    client = console_client(acme_people["ada"])

    first, second = client.get(PEOPLE_URL), client.get(PEOPLE_URL, {"page": "2"})

    assert len(first.context["page"].people) == 50 and first.context["next_url"] == "?page=2"
    assert "1\u201350 of 55 people" in first.content.decode()
    assert [u.email for u in second.context["page"].people][-1] == "p49@acme.test"
    assert second.context["next_url"] == "" and second.context["previous_url"] == "?page=1"
    nobody = client.get(PEOPLE_URL, {"q": "zzzz"}).content.decode()
    assert "No one matches" in nobody and "No one whose name or email contains “zzzz”" in nobody


# --- one person ----------------------------------------------------------------------------------------------------
def test_one_persons_page_shows_their_details_role_and_last_20_events_with_references(acme, acme_people):
    alan = acme_people["alan"]
    for _ in range(21):
        login_event_record(None, reason="ok", tenant=acme, user=alan)
    refused = login_event_record(None, reason="user_not_assigned", tenant=acme, user=alan)

    response = console_client(acme_people["grace"]).get(person_url(alan))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Alan Turing" in page and "alan@acme.test" in page and "everyone starts as a member" in page
    assert len(response.context["events"]) == 20
    assert refused.reference in page and "You are not assigned to Inigo in Okta" in page
    assert 'name="action" value="sign_out"' in page


def test_a_person_okta_added_who_never_signed_in_says_so(acme_people):
    page = console_client(acme_people["ada"]).get(person_url(acme_people["peggy"])).content.decode()

    assert "not signed in yet" in page and "Peggy has not signed in yet." in page


def test_the_owner_is_the_first_to_sign_in_and_an_admin_may_not_sign_the_owner_out(acme_people):
    page = console_client(acme_people["grace"]).get(person_url(acme_people["ada"])).content.decode()

    assert "the first person to sign in" in page
    assert 'value="sign_out"' not in page and "Only the owner can end the owner's sessions." in page


# --- roles and the ownership ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("actor", "target", "offered", "said"), [
    ("ada", "alan", ["Make Alan Turing an admin", "Make Alan Turing the owner"], "sign-in from the last 10 minutes"),
    ("ada", "grace", ["Make Grace Hopper a member", "Make Grace Hopper the owner"], ""),
    ("ada", "ada", [], "Nobody changes their own role. To stop being the owner, make someone else the owner."),
    ("ada", "barbara", [], "a deactivated person cannot be made admin"),
    ("ada", "peggy", ["Make Peggy an admin"], "Peggy has never signed in: they sign in to Inigo once before"),
    ("grace", "alan", ["Make Alan Turing an admin"], ""),
    ("grace", "ada", [], "Ada is the owner: the owner&#x27;s role changes only when they transfer the ownership."),
    ("grace", "grace", [], "Nobody changes their own role."),
])
def test_the_person_page_offers_the_role_and_ownership_controls_the_actor_may_use(acme_people, actor, target,
                                                                                    offered, said):
    page = console_client(acme_people[actor]).get(person_url(acme_people[target])).content.decode()

    buttons = [line.strip().split(">", 1)[1].removesuffix("</button>") for line in page.splitlines()
               if "<button" in line and ('value="role"' in line or "Make " in line)]
    assert buttons == offered
    assert said in page
    assert ("<h2>Ownership</h2>" in page) is (actor == "ada")  # an admin is not offered what only the owner does


def test_a_role_change_says_what_changed_and_is_in_force_at_the_next_request(provider, acme):
    ada, alan = signed_in(provider, "ada"), signed_in(provider, "alan")
    alan_user = User.objects.get(sub="alan")

    response = ada.client.post(person_url(alan_user), {"action": "role", "role": "admin"}, follow=True)

    assert "Alan Tester is now an admin: in force at their next click" in response.content.decode()
    assert alan.me().json()["role"] == "admin"  # no new sign-in
    assert alan.client.get(PEOPLE_URL).status_code == 200


@pytest.mark.parametrize("form", [{"action": "role"}, {"action": "role", "role": "owner"},
                                  {"action": "role", "role": "superuser"}])
def test_a_role_that_is_not_admin_or_member_is_a_400_that_changes_nothing(acme_people, form):
    response = console_client(acme_people["ada"]).post(person_url(acme_people["alan"]), form)

    assert response.status_code == 400
    assert User.objects.get(pk=acme_people["alan"].pk).role == Role.MEMBER


def test_a_transfer_to_someone_who_never_signed_in_is_a_409_that_says_why(acme_people):
    response = console_client(acme_people["ada"]).post(person_url(acme_people["peggy"]), {"action": "transfer"})

    assert response.status_code == 409
    assert "Peggy has never signed in" in response.content.decode()
    assert User.objects.get(pk=acme_people["ada"].pk).role == Role.OWNER


def test_a_transfer_asks_the_owner_to_confirm_what_they_become_and_refuses_without_it(acme_people):
    ada = console_client(acme_people["ada"])
    page = ada.get(person_url(acme_people["alan"])).content.decode()

    unconfirmed = ada.post(person_url(acme_people["alan"]), {"action": "transfer"})

    assert 'name="confirm" value="yes" required' in page
    assert "I understand that I stop being the owner and become an admin" in page
    assert unconfirmed.status_code == 400
    assert "tick the box that says what you become" in unconfirmed.content.decode()
    assert User.objects.get(pk=acme_people["ada"].pk).role == Role.OWNER


def test_a_confirmed_transfer_says_the_former_owner_is_an_admin_under_inigo(acme_people):
    response = console_client(acme_people["ada"]).post(person_url(acme_people["alan"]),
                                                       {"action": "transfer", "confirm": "yes"}, follow=True)

    assert response.redirect_chain[-1][0] == person_url(acme_people["alan"])
    assert "Alan Turing is now the owner of Acme, and you are an admin." in response.content.decode()
    assert User.objects.get(pk=acme_people["ada"].pk).role == Role.ADMIN


def test_a_transfer_by_someone_who_was_not_the_owner_names_no_role_of_theirs(acme_people, monkeypatch):
    # Today only the owner transfers (accounts.policy.TABLE). A table that let admins transfer too must still answer
    # with a page, not a 500, and say nothing of a role the admin did not change.
    from accounts import policy

    row = policy.TABLE[policy.Action.OWNERSHIP_TRANSFER]
    monkeypatch.setitem(policy.TABLE, policy.Action.OWNERSHIP_TRANSFER, row._replace(admin=policy.own_tenant))

    response = console_client(acme_people["grace"]).post(person_url(acme_people["alan"]),
                                                          {"action": "transfer", "confirm": "yes"}, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == person_url(acme_people["alan"])
    page = response.content.decode()
    assert "Alan Turing is now the owner of Acme." in page and "and you are" not in page
    assert User.objects.get(pk=acme_people["grace"].pk).role == Role.ADMIN
    assert User.objects.get(pk=acme_people["ada"].pk).role == Role.ADMIN  # the former owner, demoted as usual


def test_under_roles_from_okta_the_owner_is_told_before_and_after_that_they_become_a_member(acme, acme_people):
    # Ada is in no group mapped to admin and has no admin entitlement: under `okta` she is a member once she hands
    # the ownership on (accounts.roles.role_after_ownership). The page must not promise "admin".
    Tenant.objects.filter(pk=acme.pk).update(role_source=RoleSource.OKTA)
    ada = console_client(acme_people["ada"])

    page = ada.get(person_url(acme_people["alan"])).content.decode()
    response = ada.post(person_url(acme_people["alan"]), {"action": "transfer", "confirm": "yes"}, follow=True)

    assert "you become a member, because roles come from Okta and Okta does not make you an admin" in page
    assert "become an admin" not in page
    assert response.redirect_chain[-1][0] == "/"  # the console is no longer hers
    assert "Alan Turing is now the owner of Acme, and you are a member." in response.content.decode()
    assert User.objects.get(pk=acme_people["ada"].pk).role == Role.MEMBER


def test_under_roles_from_okta_the_pages_name_both_ways_to_admin_and_never_send_the_owner_to_okta(acme, acme_people):
    Tenant.objects.filter(pk=acme.pk).update(role_source=RoleSource.OKTA)
    ada = console_client(acme_people["ada"])

    own, alans, roles = (html.unescape(ada.get(url).content.decode())
                         for url in (person_url(acme_people["ada"]), person_url(acme_people["alan"]), "/org/roles/"))

    assert "the owner stays owner whatever Okta says" in own and "Change it in Okta" not in own
    assert "a group mapped to admin, or Inigo's Admin role assigned in Okta, makes a person an admin" in alans
    assert "or while Okta assigns them Inigo's Admin role, else member" in roles


def test_a_group_named_like_a_transfer_does_not_pass_for_one(acme, acme_people):
    login_event_record(None, tenant=acme, user=acme_people["ada"], reason="role_changed", kind=EventKind.PROVISIONING,
                       detail="member -> admin (added to group Ops -> owner), by Okta (provisioning)")

    page = html.unescape(console_client(acme_people["ada"]).get(person_url(acme_people["ada"])).content.decode())

    assert "the first person to sign in" in page and "made the owner by a transfer" not in page


def test_where_a_role_came_from_names_a_transfer_and_okta_s_admin_role(acme, acme_people):
    ada = console_client(acme_people["ada"])
    ada.post(person_url(acme_people["alan"]), {"action": "transfer", "confirm": "yes"})
    Tenant.objects.filter(pk=acme.pk).update(role_source=RoleSource.OKTA)
    User.objects.filter(pk=acme_people["grace"].pk).update(scim_roles=["admin"])  # Okta's Admin role, no group
    alan = console_client(User.objects.get(pk=acme_people["alan"].pk))

    alans, graces = (html.unescape(alan.get(person_url(acme_people[name])).content.decode())
                     for name in ("alan", "grace"))

    assert "made the owner by a transfer on" in alans and "the first person to sign in" not in alans
    assert "from Okta: given Okta's Admin role" in graces and "in a pushed group" not in graces


def test_a_transfer_after_a_change_by_support_is_named_as_what_gave_the_role(acme_people):
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.contenttypes.models import ContentType

    alan = acme_people["alan"]
    LogEntry.objects.create(  # support made Alan an admin once, a week ago
        user=acme_people["ada"], content_type=ContentType.objects.get_for_model(User), object_id=str(alan.pk),
        object_repr=str(alan), action_flag=CHANGE, change_message='[{"changed": {"fields": ["Role"]}}]',
        action_time=timezone.now() - timedelta(days=7))
    console_client(acme_people["ada"]).post(person_url(alan), {"action": "transfer", "confirm": "yes"})

    page = html.unescape(console_client(User.objects.get(pk=alan.pk)).get(person_url(alan)).content.decode())

    assert "made the owner by a transfer on" in page and "set by Inigo support" not in page


def test_a_person_support_deletes_while_their_page_is_read_ends_on_a_page_not_a_500(acme, acme_people, monkeypatch):
    from console import selectors

    Tenant.objects.filter(pk=acme.pk).update(role_source=RoleSource.OKTA)
    from_okta = selectors.roles_from_okta

    def deleted_meanwhile(person):
        User.objects.filter(pk=person.pk).delete()  # support staff, between two reads of the page
        return from_okta(person)

    monkeypatch.setattr(selectors, "roles_from_okta", deleted_meanwhile)

    assert console_client(acme_people["ada"]).get(person_url(acme_people["alan"])).status_code == 200


def test_a_person_deactivated_by_neither_okta_nor_support_is_not_said_to_be_support_s(acme, acme_people):
    hedy = joined(acme, "hedy-off", is_active=False)  # deactivated by code that names no one (deactivated_by '')

    page = html.unescape(console_client(acme_people["ada"]).get(person_url(hedy)).content.decode())

    assert "is deactivated, and cannot sign in again until Okta or Inigo support reactivates them." in page
    assert "deactivated by Inigo support" not in page and "deactivated in Okta" not in page


# --- who reaches it ------------------------------------------------------------------------------------------------
def test_another_tenants_id_answers_404_on_every_page_and_post(acme_people):
    bob = console_client(acme_people["bob"])
    ada = console_client(acme_people["ada"])

    for client, stranger in ((bob, acme_people["alan"]), (ada, acme_people["bob"])):
        assert client.get(person_url(stranger)).status_code == 404
        assert client.post(person_url(stranger), {"action": "sign_out"}).status_code == 404
    assert ada.get(f"{PEOPLE_URL}{acme_people['alan'].pk}/").status_code == 404  # a row number is no id
    assert not LoginEvent.objects.filter(kind=EventKind.CONSOLE).exists()


def test_a_member_gets_the_403_page_that_names_the_owner(acme_people):
    alan = console_client(acme_people["alan"])

    for url in ("/org/", PEOPLE_URL, person_url(acme_people["grace"])):
        response = alan.get(url)
        assert response.status_code == 403
        assert "The owner is <strong>Ada</strong> (ada@acme.test)" in response.content.decode()


@pytest.mark.parametrize(("how", "said"), [
    ("okta", "Admins of Acme come from your Okta: ask your Okta administrator to add you to a group"),
    ("owner deactivated", "(ada@acme.test), who is deactivated. One of your organisation's admins can make you"),
])
def test_the_members_403_page_says_who_can_make_them_admin_when_the_owner_cannot(acme, acme_people, how, said):
    if how == "okta":
        Tenant.objects.filter(pk=acme.pk).update(role_source=RoleSource.OKTA)
    else:
        User.objects.filter(pk=acme_people["ada"].pk).update(is_active=False, deactivated_by=DeactivatedBy.OKTA)

    page = " ".join(html.unescape(console_client(acme_people["alan"]).get(PEOPLE_URL).content.decode()).split())

    assert said in page and "The owner is <strong>Ada</strong> (ada@acme.test)" in page  # SPEC: it names the owner
    assert "Ask them, or one of your organisation's admins" not in page


def test_the_person_page_of_someone_deactivated_does_not_say_they_can_sign_in_again(acme_people):
    ada = console_client(acme_people["ada"])

    page = html.unescape(ada.get(person_url(acme_people["barbara"])).content.decode())
    signed_out = ada.post(person_url(acme_people["barbara"]), {"action": "sign_out"}, follow=True)

    assert "they can sign in again through Okta" not in page
    assert "Barbara was deactivated in Okta, and cannot sign in again until Okta reactivates them." in page
    assert "Barbara is signed out everywhere: each of their sessions ends at its next request, and they stay " \
           "deactivated." in html.unescape(signed_out.content.decode())


def test_someone_signed_out_goes_to_login_and_staff_to_the_admin(acme_people):
    assert Client().get(PEOPLE_URL)["Location"] == "/login/"
    response = support_client().get(PEOPLE_URL)
    assert response.status_code == 403 and "support admin" in response.content.decode()


def test_an_unknown_action_is_a_400_that_changes_nothing(acme_people):
    response = console_client(acme_people["ada"]).post(person_url(acme_people["alan"]), {"action": "delete"})

    assert response.status_code == 400
    assert User.objects.get(pk=acme_people["alan"].pk).session_epoch == 0


# --- Sign out everywhere -------------------------------------------------------------------------------------------
def test_sign_out_everywhere_ends_their_sessions_and_is_a_console_event_naming_who(provider, acme):
    ada, alan = signed_in(provider, "ada"), signed_in(provider, "alan")
    alan_phone = signed_in(provider, "alan")
    alan_user = User.objects.get(sub="alan")

    response = ada.client.post(person_url(alan_user), {"action": "sign_out"}, follow=True)

    assert response.status_code == 200 and "Alan Tester is signed out everywhere" in response.content.decode()
    event = LoginEvent.objects.get(reason="console_sign_out")
    assert (event.kind, event.user, event.tenant) == (EventKind.CONSOLE, alan_user, acme)
    assert event.detail == "Sign out everywhere, by Ada Tester (ada@acme.test, owner)"
    for browser in (alan, alan_phone):
        assert_signed_out(browser, "session_ended_by_admin")
    assert ada.me().status_code == 200
    assert LoginEvent.objects.filter(reason="session_ended_by_admin").count() == 2  # one per browser


def test_a_sign_out_asks_the_policy_again_on_the_person_as_they_are_now(acme_people):
    # Grace (admin) opened Alan's page while he was a member; before her click, Ada made Alan the owner. Only the
    # owner ends the owner's sessions: the service asks again under Alan's lock and changes nothing.
    alan = acme_people["alan"]
    epoch = alan.session_epoch
    services.ownership_transfer(new_owner=alan)

    with pytest.raises(services.SignOutRefused):
        services.person_sign_out(actor=acme_people["grace"], person=alan, request=RequestFactory().post("/"))

    assert User.objects.get(pk=alan.pk).session_epoch == epoch
    assert not LoginEvent.objects.filter(reason="console_sign_out").exists()


def test_signing_yourself_out_in_the_console_keeps_this_browser(provider, acme):
    ada_laptop, ada_phone = signed_in(provider, "ada"), signed_in(provider, "ada")
    ada = User.objects.get(sub="ada")

    ada_laptop.client.post(person_url(ada), {"action": "sign_out"})

    assert ada_laptop.me().status_code == 200
    assert_signed_out(ada_phone, "session_ended_by_admin")


def test_sign_out_of_all_devices_on_the_home_page_is_for_everyone_and_keeps_this_browser(provider, acme):
    signed_in(provider, "ada")  # the owner; Alan is a member
    alan_laptop, alan_phone = signed_in(provider, "alan"), signed_in(provider, "alan")

    home = alan_laptop.client.get("/").content.decode()
    response = alan_laptop.client.post("/sign-out-everywhere/", follow=True)

    assert "Sign out of all devices" in home and "Open the console" not in home
    assert response.status_code == 200 and "This one stays signed in" in response.content.decode()
    assert alan_laptop.me().json()["email"] == "alan@acme.test"
    response = alan_phone.client.get("/", follow=True)
    assert "You were signed out of all devices" in response.content.decode()
    assert alan_phone.me().status_code == 401
    events = LoginEvent.objects.filter(reason="session_ended_by_self")
    assert events.count() == 2 and events.filter(detail__startswith="Sign out of all devices").count() == 1


def test_the_home_page_opens_the_console_for_the_owner_and_admins(acme_people):
    for who in ("ada", "grace"):
        assert 'href="/org/"' in console_client(acme_people[who]).get("/").content.decode()
    assert Browser(Client()).client.post("/sign-out-everywhere/")["Location"].startswith("/login/")


def _console_hint(user: User) -> str:
    page = console_client(user).get("/").content.decode()
    hint = page.split('href="/org/"', 1)[1].split('<span class="hint">', 1)[1].split("</span>", 1)[0]
    return " ".join(hint.split())


@pytest.mark.parametrize("role_source", ["inigo", "okta"])
def test_the_home_page_says_what_the_console_lets_each_reader_do(acme_people, role_source):
    """The hint next to "Open the console" names what this reader may do there (accounts.policy.TABLE): the owner
    issues the SCIM token and chooses where roles come from; an admin does neither, and makes members admins only
    while roles are set in Inigo; under roles from Okta nobody changes a role by hand."""
    Tenant.objects.filter(pk=acme_people["ada"].tenant_id).update(role_source=role_source)
    owner, admin = _console_hint(acme_people["ada"]), _console_hint(acme_people["grace"])

    assert "SCIM token, where roles come from, and your email domains" in owner
    assert ("the roles Okta gives them" in owner) == (role_source == "okta")
    assert ("their roles" in owner) == (role_source == "inigo")
    assert "The SCIM token and where roles come from are the owner's to change." in admin
    assert "signing anyone but the owner out everywhere, the Okta credentials, and your email domains" in admin
    assert ("making members admins" in admin) == (role_source == "inigo")
