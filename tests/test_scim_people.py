"""One person, one user, whichever came first (provisioning or sign-in), and the owner rule with provisioning:
real sign-ins through the in-process OpenID Provider."""

import pytest

from accounts.models import Role, User
from tests.conftest import profile
from tests.scim_helpers import deactivate, okta_user, scim_for


@pytest.fixture
def okta(acme):
    return scim_for(acme)


def test_a_provisioned_person_with_external_id_is_the_same_user_at_sign_in(okta, browser, provider, acme):
    ada = okta.post("/Users", okta_user("ada@acme.test", external_id="ada-sub")).json()

    response = browser.login(provider, "ada-sub", claims=profile("ada-sub", preferred_username="ada@acme.test"))

    assert response.status_code == 302
    user = User.objects.get(tenant=acme)  # one user, not two
    assert user.scim_id == ada["id"]
    assert user.last_login is not None
    assert user.role == Role.OWNER  # the tenant's first sign-in, although provisioned first
    assert browser.me().json()["role"] == "owner"


def test_without_external_id_the_first_sign_in_links_by_preferred_username(okta, browser, provider, acme):
    ada = okta.post("/Users", okta_user("Ada@Acme.test", external_id=None)).json()
    assert User.objects.get(tenant=acme).sub == ""

    browser.login(provider, "00uada", claims=profile("ada", preferred_username="ada@acme.TEST"))

    user = User.objects.get(tenant=acme)
    assert (user.scim_id, user.sub, user.issuer) == (ada["id"], "00uada", acme.issuer)
    assert okta.get(f"/Users/{ada['id']}").json()["externalId"] == "00uada"


def test_it_never_links_by_email(okta, browser, provider, acme):
    okta.post("/Users", okta_user("ada@acme.test", external_id=None))

    browser.login(provider, "00uother", claims=profile("ada", preferred_username="someone.else@acme.test"))

    assert User.objects.filter(tenant=acme, email="ada@acme.test").count() == 2
    assert User.objects.get(tenant=acme, sub="").last_login is None


def test_a_post_for_someone_who_already_signed_in_adopts_that_user(okta, browser, provider, acme):
    browser.login(provider, "00ugrace", claims=profile("grace", preferred_username="grace@acme.test"))
    signed_in = User.objects.get(tenant=acme)
    assert signed_in.scim_user_name == "grace@acme.test"  # Okta's userName lookup finds people who signed in
    found = okta.get("/Users", {"filter": 'userName eq "GRACE@acme.test"'}).json()
    assert found["totalResults"] == 1 and found["Resources"][0]["externalId"] == "00ugrace"

    adopted = okta.post("/Users", okta_user("grace@acme.test", external_id="00ugrace", given="Grace"))

    assert adopted.status_code == 201
    assert adopted.json()["id"] == signed_in.scim_id
    assert User.objects.filter(tenant=acme).count() == 1
    assert User.objects.get(tenant=acme).role == Role.OWNER
    assert okta.post("/Users", okta_user("grace@acme.test", external_id="00ugrace")).status_code == 409


def test_provisioned_people_are_members_and_the_first_sign_in_is_the_owner(okta, browser, provider, acme, client):
    for name in ("ada", "bob", "cyd"):
        okta.post("/Users", okta_user(f"{name}@acme.test", external_id=f"00u{name}"))
    assert set(User.objects.filter(tenant=acme).values_list("role", flat=True)) == {Role.MEMBER}

    browser.login(provider, "00ubob", claims=profile("bob", preferred_username="bob@acme.test"))
    client.logout()
    browser.login(provider, "00uada", claims=profile("ada", preferred_username="ada@acme.test"))
    client.logout()
    browser.login(provider, "00unew", claims=profile("new", preferred_username="new@acme.test"))

    roles = dict(User.objects.filter(tenant=acme).values_list("sub", "role"))
    assert roles == {"00uada": Role.MEMBER, "00ubob": Role.OWNER, "00ucyd": Role.MEMBER, "00unew": Role.MEMBER}


def test_a_deactivated_provisioned_person_cannot_sign_in_or_take_ownership(okta, browser, provider, acme):
    ada = okta.post("/Users", okta_user("ada@acme.test", external_id="00uada")).json()
    okta.patch(f"/Users/{ada['id']}", deactivate())

    browser.login(provider, "00uada", claims=profile("ada", preferred_username="ada@acme.test"))

    assert browser.me().status_code == 401
    assert not User.objects.filter(tenant=acme, role=Role.OWNER).exists()


def test_deactivation_over_scim_ends_a_live_session(okta, browser, provider, acme):
    browser.login(provider, "00uada", claims=profile("ada", preferred_username="ada@acme.test"))
    assert browser.me().status_code == 200
    ada = okta.get("/Users", {"filter": 'userName eq "ada@acme.test"'}).json()["Resources"][0]

    assert okta.patch(f"/Users/{ada['id']}", deactivate()).status_code == 200

    assert browser.me().status_code == 401


def test_the_user_constraints_admit_provisioned_people_and_stay_strict_for_others(acme):
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    User.objects.create(tenant=acme, username="p1", role=Role.MEMBER, provisioned_at=timezone.now())
    User.objects.create(tenant=acme, username="p2", role=Role.MEMBER, provisioned_at=timezone.now())
    for bad in (
        {"username": "x1", "role": Role.MEMBER},  # not provisioned: needs an identity
        {"username": "x2", "role": Role.MEMBER, "provisioned_at": timezone.now(), "last_login": timezone.now()},
        {"username": "x3", "role": Role.MEMBER, "provisioned_at": timezone.now(), "sub": "s"},  # sub without issuer
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            User.objects.create(tenant=acme, **bad)
    User.objects.create(tenant=acme, username="u1", role=Role.MEMBER, issuer=acme.issuer, sub="s1",
                        scim_user_name="Same@acme.test")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(tenant=acme, username="u2", role=Role.MEMBER, issuer=acme.issuer, sub="s2",
                            scim_user_name="same@ACME.test")


def test_the_owner_sees_people_provisioned_but_not_signed_in_and_the_groups(okta, browser, provider, acme):
    from tests.scim_helpers import GROUP_SCHEMA

    cyd = okta.post("/Users", okta_user("cyd@acme.test", external_id="00ucyd", given="Cyd", family="Charisse"))
    okta.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Dancers",
                         "members": [{"value": cyd.json()["id"]}]})
    browser.login(provider, "00uowner", claims=profile("owner", preferred_username="owner@acme.test"))

    page = browser.client.get("/").content.decode()

    assert "Added by Okta, not signed in yet" in page
    assert "cyd@acme.test" in page.split("Added by Okta, not signed in yet")[1]
    assert "Dancers" in page
