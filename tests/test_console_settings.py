"""The console's settings (/org/settings/, SPEC "The customer console") through HTTP: Acme's owner Ada and admin Grace
replace the Client ID and Client Secret through the setup page's checks, and Ada issues a new SCIM token; each asks
the policy and a recent Okta sign-in, and is a console event naming who did it. The services behind them are
tests/test_console_changes.py's."""

import pytest

from accounts.console_changes import CREDENTIALS_REFUSED, CREDENTIALS_ROTATED, SCIM_TOKEN_ISSUED
from accounts.models import LoginEvent, Role
from console.settings import token_marker
from scim.models import ProvisioningToken
from scim.tokens import scim_token_issue
from tenants.check_limits import FAILED_CHECKS_PER_HOUR
from tests.scim_helpers import assert_scim_error
from tests.test_console_changes import ada, grace, person  # noqa: F401 (fixtures)
from tests.test_console_overview import page_text
from tests.test_console_people import console_client
from tests.test_scim_tokens import scim_get
from tests.test_setup import redirect_uri, sign_in, working  # noqa: F401 (a fixture)

SETTINGS_URL = "/org/settings/"


def issue_token(client, tenant):
    """The page's "Issue a new token" form: it names the token it replaces (console.settings.token_marker)."""
    replaces = token_marker(ProvisioningToken.objects.filter(tenant=tenant).first())
    return client.post(SETTINGS_URL, {"action": "scim_token", "replaces": replaces})


def rotate(client, client_id: str, client_secret: str):
    return client.post(SETTINGS_URL, {"action": "credentials", "client_id": client_id, "client_secret": client_secret})


def test_the_page_shows_the_setup_forms_fields_with_the_okta_domain_fixed(working, grace):  # noqa: F811
    response = console_client(grace).get(SETTINGS_URL)

    page = response.content.decode()
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert f'value="{working.okta_domain}"' in page and "disabled" in page
    assert 'name="client_secret"' in page and working.client_secret not in page
    assert "Only the organisation's owner issues a SCIM token" in page_text(response)  # Grace is an admin


def test_a_wrong_secret_saves_nothing_then_the_right_one_is_saved_and_used(provider, working, grace):  # noqa: F811
    old = (working.client_id, working.client_secret)
    new_id, new_secret = provider.register_client([redirect_uri("acme")])
    client = console_client(grace)

    failed = rotate(client, new_id, "not-the-new-secret")

    assert failed.status_code == 400
    assert "Nothing was saved: Okta did not accept these credentials" in page_text(failed)
    assert "not-the-new-secret" not in failed.content.decode()
    working.refresh_from_db()
    assert (working.client_id, working.client_secret) == old
    assert sign_in(provider, "uma")[0]["Location"] == "/"  # the old values keep working

    passed = rotate(client, new_id, new_secret)

    assert passed.status_code == 302 and passed["Location"] == SETTINGS_URL + "#top"
    assert "passed every check and are saved" in page_text(client.get(SETTINGS_URL))
    working.refresh_from_db()
    assert (working.client_id, working.client_secret) == (new_id, new_secret)
    response, _ = sign_in(provider, "alan")
    assert response["Location"] == "/" and provider.token_requests[-1].authorization.startswith("Basic ")
    assert [event.reason for event in LoginEvent.objects.filter(kind="console").order_by("pk")] == [
        CREDENTIALS_REFUSED, CREDENTIALS_ROTATED]


def test_after_ten_failed_checks_the_page_says_when_to_try_again(provider, working, ada):  # noqa: F811
    new_id, new_secret = provider.register_client([redirect_uri("acme")])
    client = console_client(ada)
    for _ in range(FAILED_CHECKS_PER_HOUR):
        rotate(client, new_id, "wrong")

    limited = rotate(client, new_id, new_secret)

    assert limited.status_code == 429
    assert "too many failed checks" in page_text(limited) and "UTC (in" in page_text(limited)
    working.refresh_from_db()
    assert working.client_id != new_id


def test_a_pasted_value_with_spaces_is_refused_before_okta_is_asked(provider, working, grace):  # noqa: F811
    response = rotate(console_client(grace), "inigo acme", "a secret")

    assert response.status_code == 400 and "without spaces" in page_text(response)
    assert provider.token_requests == []
    assert not LoginEvent.objects.filter(kind="console").exists()


def test_a_new_scim_token_is_shown_once_and_the_old_one_answers_401_at_once(working, ada):  # noqa: F811
    old = scim_token_issue(tenant=working)
    client = console_client(ada)

    response = issue_token(client, working)

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    token = response.context["new_token"]
    assert token in response.content.decode()
    assert "Provisioning from Okta stops until this token is in Okta" in page_text(response)
    assert scim_get(token).status_code == 200
    assert_scim_error(scim_get(old), 401)
    assert token not in client.get(SETTINGS_URL).content.decode()
    event = LoginEvent.objects.get(reason=SCIM_TOKEN_ISSUED)
    assert event.user == ada and token not in event.detail


def test_the_first_scim_token_says_provisioning_starts_not_that_a_previous_token_stopped(working, ada):  # noqa: F811
    client = console_client(ada)
    before = page_text(client.get(SETTINGS_URL))

    response = issue_token(client, working)

    assert "Not since" not in before and "Never: no provisioning token is issued" in before
    assert "Provisioning from Okta starts once you paste the token in Okta" in before
    assert "replaces the current one" not in before
    assert "Provisioning from Okta starts once this token is in Okta" in page_text(response)
    assert "previous token" not in page_text(response)
    # Issued, not yet used by Okta: not "never", which a reissued token would make false for the calls before it.
    assert "Not since the current token was issued" in page_text(client.get(SETTINGS_URL))


def test_a_reload_of_the_new_token_page_issues_no_other_token(working, ada):  # noqa: F811
    scim_token_issue(tenant=working)
    client = console_client(ada)
    form = {"action": "scim_token", "replaces": token_marker(ProvisioningToken.objects.get(tenant=working))}
    token = client.post(SETTINGS_URL, form).context["new_token"]

    resent = client.post(SETTINGS_URL, form)  # what a reload of that answer sends

    assert resent.status_code == 409 and "Nothing was changed: this request was sent before" in page_text(resent)
    assert scim_get(token).status_code == 200
    assert LoginEvent.objects.filter(reason=SCIM_TOKEN_ISSUED).count() == 1


def test_an_admin_issues_no_scim_token(working, grace):  # noqa: F811
    old = scim_token_issue(tenant=working)

    response = issue_token(console_client(grace), working)

    assert response.status_code == 403
    assert scim_get(old).status_code == 200


@pytest.mark.parametrize("action", ["credentials", "scim_token"])
def test_each_change_needs_a_recent_sign_in_and_changes_nothing_without_one(provider, working, ada, action):  # noqa: F811
    old = scim_token_issue(tenant=working)
    new_id, new_secret = provider.register_client([redirect_uri("acme")])

    response = console_client(ada, recent=False).post(SETTINGS_URL, {
        "action": action, "client_id": new_id, "client_secret": new_secret,
        "replaces": token_marker(ProvisioningToken.objects.get(tenant=working))})

    assert response.status_code == 302 and "prompt=login" in response["Location"]
    working.refresh_from_db()
    assert working.client_id != new_id and scim_get(old).status_code == 200
    assert not LoginEvent.objects.filter(kind="console").exists()


def test_a_member_changes_nothing(provider, working):  # noqa: F811
    alan = person(working, "alan", Role.MEMBER)
    new_id, new_secret = provider.register_client([redirect_uri("acme")])

    response = rotate(console_client(alan), new_id, new_secret)

    assert response.status_code == 403
    working.refresh_from_db()
    assert working.client_id != new_id
