"""Who may do what in the admin: staff only, the Support group's permissions, people from Okta (never staff, roles,
ownership transfer) and read-only login events."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from accounts.models import LoginEvent, Role, User
from accounts.services import OwnershipTransferError, ownership_transfer
from tenants.models import RoleSource, Tenant
from tests.conftest import Browser
from tests.test_admin_tenants import change_form_data, change_url, page_text, support_client, support_group

USERS_URL = "/admin/accounts/user/"
EVENTS_URL = "/admin/accounts/loginevent/"


def person(tenant: Tenant, sub: str, role: str = Role.MEMBER, **extra: object) -> User:
    return User.objects.create(username=f"{tenant.slug}-{sub}", tenant=tenant, issuer=tenant.issuer, sub=sub,
                               email=f"{sub}@{tenant.slug}.test", role=role, **{"name": sub.capitalize(), **extra})


@pytest.fixture
def support(db: None) -> Client:
    return support_client()


@pytest.fixture
def people(acme: Tenant) -> dict[str, User]:
    signed_in = timezone.now()  # people who signed in (a transfer needs that)
    return {
        "alice": person(acme, "alice", Role.OWNER, last_login=signed_in),
        "bob": person(acme, "bob", Role.ADMIN, last_login=signed_in),
        "carol": person(acme, "carol", last_login=signed_in),
    }


def owners(tenant: Tenant) -> list[str]:
    return list(User.objects.filter(tenant=tenant, role=Role.OWNER).values_list("sub", flat=True))


def messages_in(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def transfer(client: Client, *users: User):
    return client.post(USERS_URL, {"action": "transfer_ownership", "_selected_action": [u.pk for u in users]},
                       follow=True)


# --- who reaches the admin ----------------------------------------------------------------------------------------
def test_it_creates_the_support_group_with_only_its_permissions(db):
    codenames = {f"{p.content_type.app_label}.{p.codename}" for p in support_group().permissions.all()}

    assert codenames == {
        "tenants.view_tenant", "tenants.add_tenant", "tenants.change_tenant",
        "accounts.view_user", "accounts.change_user", "accounts.view_loginevent", "scim.view_provisioningevent",
    }
    assert Group.objects.filter(name="Support").count() == 1


def test_anonymous_visitors_are_sent_to_the_admin_login(client, db):
    response = client.get("/admin/tenants/tenant/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_person_signed_in_through_okta_gets_no_admin_access(client, browser: Browser, provider, acme):
    assert browser.login(provider, "alice").status_code == 302
    assert browser.me().json()["role"] == "owner"

    for url in ("/admin/", "/admin/tenants/tenant/", USERS_URL):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url
    assert User.objects.get(sub="alice").is_staff is False


def test_support_staff_reach_tenants_people_and_login_events_but_delete_nothing(support, acme, people):
    for url in ("/admin/", "/admin/tenants/tenant/", change_url(acme), USERS_URL, change_url(people["bob"]),
                EVENTS_URL):
        assert support.get(url).status_code == 200, url
    assert support.get(f"/admin/tenants/tenant/{acme.pk}/delete/").status_code == 403
    assert support.get(f"/admin/accounts/user/{people['bob'].pk}/delete/").status_code == 403
    assert support.get("/admin/accounts/user/add/").status_code == 403
    assert support.get("/admin/auth/group/").status_code == 403


def test_a_staff_user_outside_the_support_group_sees_nothing(db, acme):
    nobody = User.objects.create_user(username="new.hire", password="correct horse battery staple", is_staff=True)
    client = Client()
    client.force_login(nobody, backend="django.contrib.auth.backends.ModelBackend")

    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/tenants/tenant/").status_code == 403


# --- staff accounts are the superusers' business -------------------------------------------------------------------
def test_support_staff_cannot_raise_their_own_or_anyone_elses_permissions(support, db):
    me = User.objects.get(username="sam.support")
    data = change_form_data(support.get(change_url(me)))
    data.update(is_superuser="on")

    response = support.post(change_url(me), data)

    assert response.status_code == 403
    me.refresh_from_db()
    assert me.is_superuser is False
    assert support.get(f"/admin/accounts/user/{me.pk}/password/").status_code == 403


def test_a_superuser_adds_a_staff_account(admin_client, db):
    response = admin_client.post("/admin/accounts/user/add/", {
        "username": "new.support", "usable_password": "true", "password1": "a long enough passphrase 42",
        "password2": "a long enough passphrase 42",
    })

    assert response.status_code == 302
    staff = User.objects.get(username="new.support")
    assert (staff.tenant, staff.role, staff.sub) == (None, "", "")


# --- people from Okta ---------------------------------------------------------------------------------------------
def test_it_refuses_to_make_a_person_from_okta_staff_and_says_why(support, people):
    bob = people["bob"]
    data = change_form_data(support.get(change_url(bob)))
    data["is_staff"] = "on"

    response = support.post(change_url(bob), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["is_staff"] == [
        "People who sign in through Okta can never be staff: the admin is for Inigo support only. To give this "
        "person admin access, a superuser creates a separate staff account with a password."
    ]
    bob.refresh_from_db()
    assert bob.is_staff is False


def test_it_changes_the_role_of_a_person_and_nothing_okta_owns(admin_client, people):
    carol = people["carol"]
    data = change_form_data(admin_client.get(change_url(carol)))
    data.update(role=Role.ADMIN, email="mallory@evil.test", sub="alice")

    response = admin_client.post(change_url(carol), data)

    assert response.status_code == 302
    carol.refresh_from_db()
    assert (carol.role, carol.email, carol.sub) == (Role.ADMIN, "carol@acme.test", "carol")


def test_editing_a_role_cannot_make_a_second_owner(admin_client, people):
    carol = people["carol"]
    data = change_form_data(admin_client.get(change_url(carol)))
    data["role"] = Role.OWNER

    response = admin_client.post(change_url(carol), data)

    [error] = response.context["adminform"].form.errors["role"]
    assert "Transfer ownership" in error
    assert owners(carol.tenant) == ["alice"]


def test_editing_the_owners_role_keeps_them_owner(support, people):
    alice = people["alice"]
    data = change_form_data(support.get(change_url(alice)))
    assert "role" not in data  # shown, disabled: use the transfer instead
    data["role"] = Role.MEMBER

    response = support.post(change_url(alice), data)

    assert response.status_code == 302
    assert owners(alice.tenant) == ["alice"]


def test_a_person_from_okta_has_no_password_page(support, people):
    response = support.get(f"/admin/accounts/user/{people['bob'].pk}/password/", follow=True)

    assert response.redirect_chain == [(change_url(people["bob"]), 302)]
    assert "People who sign in through Okta have no password in Inigo" in page_text(response)


def test_the_user_list_filters_by_tenant_and_role_and_searches_by_email(support, people, globex):
    person(globex, "gina", Role.OWNER)

    def listed(**params: object) -> list[str]:
        return sorted(user.sub for user in support.get(USERS_URL, params).context["cl"].result_list)

    assert listed(tenant__id__exact=globex.pk) == ["gina"]
    assert listed(tenant__id__exact=people["alice"].tenant_id, role__exact=Role.ADMIN) == ["bob"]
    assert listed(q="carol@acme") == ["carol"]


# --- ownership transfer -------------------------------------------------------------------------------------------
def test_it_transfers_ownership_and_keeps_exactly_one_owner(admin_client, people):
    response = transfer(admin_client, people["carol"])

    assert "carol@acme.test is now the owner of Acme; alice@acme.test is now an admin." in messages_in(response)
    assert owners(people["carol"].tenant) == ["carol"]
    assert User.objects.get(sub="alice").role == Role.ADMIN
    logged = {entry.object_repr: entry.get_change_message() for entry in LogEntry.objects.all()}
    assert logged == {
        "carol@acme.test": "Made owner of Acme (ownership transferred).",
        "alice@acme.test": "Changed role from owner to admin (ownership moved to carol@acme.test).",
    }


def test_under_roles_from_okta_the_transfer_says_the_former_owner_is_now_a_member(admin_client, people):
    # Alice is in no group mapped to admin and has no admin entitlement: under `okta` she is a member once she hands
    # the ownership on (accounts.roles.role_after_ownership), and the message and the log say so.
    Tenant.objects.filter(pk=people["alice"].tenant_id).update(role_source=RoleSource.OKTA)

    response = transfer(admin_client, people["carol"])

    assert "carol@acme.test is now the owner of Acme; alice@acme.test is now a member." in messages_in(response)
    assert User.objects.get(sub="alice").role == Role.MEMBER
    assert LogEntry.objects.get(object_repr="alice@acme.test").get_change_message() == (
        "Changed role from owner to member (ownership moved to carol@acme.test).")


def test_a_console_transfer_just_before_support_s_names_the_owner_it_really_demoted(admin_client, people):
    # Alice hands the ownership to Bob from the console while support's page still shows her as owner; support then
    # makes Carol the owner. The message and the log name Bob, whom the transfer found under its lock.
    from support import user_admin

    transfer_ownership = user_admin.ownership_transfer

    def console_transfer_first(**kwargs):
        transfer_ownership(new_owner=User.objects.get(sub="bob"), actor=User.objects.get(sub="alice"))
        return transfer_ownership(**kwargs)

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(user_admin, "ownership_transfer", console_transfer_first)
        response = transfer(admin_client, people["carol"])

    assert messages_in(response) == ["carol@acme.test is now the owner of Acme; bob@acme.test is now an admin."]
    assert owners(people["carol"].tenant) == ["carol"]
    assert LogEntry.objects.get(object_repr="bob@acme.test").get_change_message() == (
        "Changed role from owner to admin (ownership moved to carol@acme.test).")
    assert not LogEntry.objects.filter(object_repr="alice@acme.test").exists()


def test_the_new_owner_sees_the_members_page(client, browser: Browser, provider, acme, admin_client):
    browser.login(provider, "alice")
    client.logout()
    browser.login(provider, "bob")

    transfer(admin_client, User.objects.get(sub="bob"))

    assert browser.me().json()["role"] == "owner"
    assert b"Members of Acme" in client.get("/").content


@pytest.mark.parametrize(("selected", "message"), [
    (["bob", "carol"], "Select exactly one person: the new owner. The current owner becomes an admin (when roles come "
                       "from Okta: what Okta gives them)."),
    (["alice"], "alice@acme.test is already the owner of Acme."),
])
def test_it_refuses_a_transfer_to_the_wrong_selection_in_plain_words(admin_client, people, selected, message):
    response = transfer(admin_client, *[people[name] for name in selected])

    assert message in messages_in(response)
    assert owners(people["alice"].tenant) == ["alice"]


def test_it_refuses_a_transfer_to_a_staff_account_or_a_deactivated_person(admin_client, support, people):
    staff = User.objects.get(username="sam.support")
    people["carol"].is_active = False
    people["carol"].save()

    assert "sam.support is a staff account, not a member of a customer organisation." in messages_in(
        transfer(admin_client, staff)
    )
    assert "carol@acme.test is deactivated; reactivate them before making them the owner." in messages_in(
        transfer(admin_client, people["carol"])
    )
    assert owners(people["alice"].tenant) == ["alice"]


def test_ownership_transfer_works_for_a_tenant_without_an_owner(people):
    User.objects.filter(sub="alice").delete()

    ownership_transfer(new_owner=people["bob"])

    assert owners(people["bob"].tenant) == ["bob"]
    assert people["bob"].role == Role.OWNER


def test_ownership_transfer_rereads_the_role_it_was_handed(people):
    stale = User.objects.get(sub="carol")
    User.objects.filter(sub="alice").update(role=Role.MEMBER)
    User.objects.filter(sub="carol").update(role=Role.OWNER)  # someone else transferred it meanwhile

    with pytest.raises(OwnershipTransferError, match="already the owner"):
        ownership_transfer(new_owner=stale)

    assert owners(stale.tenant) == ["carol"]


# --- login events -------------------------------------------------------------------------------------------------
@pytest.fixture
def events(acme: Tenant, globex: Tenant) -> list[LoginEvent]:
    made = [
        LoginEvent.objects.create(kind="signin", tenant=acme, outcome="success", reason="ok", email="alice@acme.test"),
        LoginEvent.objects.create(kind="signin", tenant=acme, outcome="failure", reason="user_not_assigned",
                                  subject="00u9xyz"),
        LoginEvent.objects.create(kind="signin", tenant=globex, outcome="failure", reason="state_missing",
                                  email="gina@globex.test"),
    ]
    LoginEvent.objects.filter(pk=made[2].pk).update(created_at=timezone.now() - timedelta(days=10))
    return made


def test_login_events_are_listed_with_time_tenant_who_outcome_and_reason(support, events):
    page = page_text(support.get(EVENTS_URL))

    assert "alice@acme.test" in page
    assert "00u9xyz" in page  # no email: the subject stands in
    assert "user_not_assigned" in page


def test_login_events_filter_by_tenant_outcome_and_date_and_search_by_email(support, events, globex):
    def listed(**params: object) -> list[str]:
        return sorted(event.reason for event in support.get(EVENTS_URL, params).context["cl"].result_list)

    assert listed(tenant__id__exact=globex.pk) == ["state_missing"]
    assert listed(outcome__exact="failure") == ["state_missing", "user_not_assigned"]
    since = str((timezone.now() - timedelta(days=7)).replace(hour=0, minute=0, second=0, microsecond=0))
    assert listed(created_at__gte=since) == ["ok", "user_not_assigned"]
    assert listed(q="Gina@globex.test") == ["state_missing"]  # exact, any case


def test_login_events_cannot_be_added_changed_or_deleted_even_by_a_superuser(admin_client, events):
    event = events[0]

    assert admin_client.get(f"{EVENTS_URL}add/").status_code == 403
    assert admin_client.post(change_url(event), {"reason": "forged"}).status_code == 403
    assert admin_client.get(f"{EVENTS_URL}{event.pk}/delete/").status_code == 403
    event.refresh_from_db()
    assert event.reason == "ok"
    assert admin_client.get(change_url(event)).status_code == 200  # read-only view


# --- ending sessions ----------------------------------------------------------------------------------------------
def sign_out_everywhere(client: Client, *users: User):
    return client.post(USERS_URL, {"action": "sign_out_everywhere", "_selected_action": [u.pk for u in users]},
                       follow=True)


def test_sign_out_everywhere_ends_every_session_of_the_selected_people_only(support, provider, acme):
    from tests.test_sessions import signed_in

    alice_laptop, alice_phone, bob = signed_in(provider, "alice"), signed_in(provider, "alice"), signed_in(
        provider, "bob")
    alice = User.objects.get(sub="alice")

    response = sign_out_everywhere(support, alice)

    assert any(message.startswith("Signed out everywhere: alice@acme.test.") for message in messages_in(response))
    assert alice_laptop.me().json()["reason"] == "session_revoked"
    assert alice_phone.me().status_code == 401
    assert bob.me().status_code == 200
    event = LoginEvent.objects.get(reason="session_revoked", detail__startswith="Sign out everywhere")
    assert (event.user, event.outcome, event.detail) == (alice, LoginEvent.Outcome.SIGNED_OUT,
                                                         "Sign out everywhere, by sam.support")
    assert LogEntry.objects.filter(object_id=str(alice.pk), change_message__contains="Signed out").exists()


def test_sign_out_everywhere_works_for_staff_accounts(support, db):
    other = support_client("kim.support")
    kim = User.objects.get(username="kim.support")
    assert other.get("/admin/").status_code == 200

    sign_out_everywhere(support, kim)

    assert other.get("/admin/").status_code == 302
    assert support.get("/admin/").status_code == 200


def test_support_staff_cannot_sign_out_a_superuser(support, admin_client, admin_user):
    response = sign_out_everywhere(support, admin_user)

    assert any("Only a superuser" in message for message in messages_in(response))
    assert admin_client.get("/admin/").status_code == 200
    assert not LoginEvent.objects.filter(reason="session_revoked").exists()


def test_deactivating_a_person_in_admin_says_their_sessions_ended_and_ends_them(support, provider, acme):
    from tests.test_sessions import signed_in

    alice = signed_in(provider, "alice")
    person = User.objects.get(sub="alice")
    data = change_form_data(support.get(change_url(person)))
    data.pop("is_active")

    response = support.post(change_url(person), data, follow=True)

    assert any("is deactivated: every session of theirs has ended" in m for m in messages_in(response))
    assert alice.me().json()["reason"] == "session_user_inactive"
