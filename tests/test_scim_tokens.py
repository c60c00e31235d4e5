"""SCIM tokens: `manage.py scim_token` and the tenant page's button both show a token once and retire the old one;
only a SHA-256 digest is stored; the page says what to enter in Okta and when provisioning last called."""

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from scim.models import ProvisioningEvent, ProvisioningToken
from tests.scim_helpers import OKTA_AGENT, assert_scim_error
from tests.test_admin_tenants import change_url, support_client


def scim_get(token: str, path: str = "/scim/v2/Users") -> object:
    return Client().get(path, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_USER_AGENT=OKTA_AGENT)


def test_the_command_prints_a_token_as_its_last_line_once_and_stores_only_its_digest(acme):
    out = StringIO()
    call_command("scim_token", "acme", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]

    assert scim_get(token).status_code == 200
    stored = ProvisioningToken.objects.get(tenant=acme)
    assert stored.digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(list(ProvisioningToken.objects.values())) + str(list(ProvisioningEvent.objects.values()))
    assert "/scim/v2/" in out.getvalue()

    again = StringIO()
    call_command("scim_token", "acme", stdout=again)
    assert_scim_error(scim_get(token), 401)
    assert scim_get(again.getvalue().strip().splitlines()[-1]).status_code == 200


def test_the_command_refuses_an_unknown_tenant(db):
    with pytest.raises(CommandError):
        call_command("scim_token", "nope", stdout=StringIO())


def test_the_tenant_page_issues_a_token_once_and_shows_the_okta_values(admin_client, acme):
    page = admin_client.get(change_url(acme)).content.decode()
    assert "http://testserver/scim/v2/" in page and "HTTP Header" in page
    assert "Never: no provisioning token is issued" in page

    issued = admin_client.post(f"/admin/tenants/tenant/{acme.pk}/scim-token/")
    assert issued.status_code == 200
    assert "no-store" in issued["Cache-Control"] or "no-cache" in issued["Cache-Control"]
    token = issued.context["token"]
    assert token in issued.content.decode()
    page = admin_client.get(change_url(acme)).content.decode()
    assert token not in page
    # Issuing clears when it was last used: not "never", which would hide the calls the previous token had.
    assert "Not since the current token was issued" in page and "Never:" not in page

    assert scim_get(token).status_code == 200
    page = admin_client.get(change_url(acme)).content.decode()
    assert "Provisioning last called" in page and "Not since" not in page and "Never:" not in page
    assert admin_client.get(f"/admin/tenants/tenant/{acme.pk}/scim-token/").status_code == 405


def test_last_called_is_written_at_most_once_a_minute(acme):
    out = StringIO()
    call_command("scim_token", "acme", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    scim_get(token)
    first = ProvisioningToken.objects.get().last_used_at
    scim_get(token)
    assert ProvisioningToken.objects.get().last_used_at == first


def test_support_staff_see_what_provisioning_did_filtered_by_tenant(acme, globex):
    call_command("scim_token", "acme", stdout=StringIO())
    call_command("scim_token", "globex", stdout=StringIO())
    support = support_client()
    listed = support.get("/admin/scim/provisioningevent/", {"tenant__id__exact": acme.pk})
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 1


def test_support_staff_see_a_persons_scim_user_name_and_when_they_were_provisioned(acme):
    from accounts.models import User
    from tests.scim_helpers import okta_user, scim_for

    scim_for(acme).post("/Users", okta_user("ada@acme.test", external_id=None))
    user = User.objects.get(tenant=acme)
    page = support_client().get(f"/admin/accounts/user/{user.pk}/change/")
    assert page.status_code == 200
    assert "Provisioning from Okta (SCIM)" in page.content.decode()
    assert "ada@acme.test" in page.content.decode() and user.scim_id in page.content.decode()
