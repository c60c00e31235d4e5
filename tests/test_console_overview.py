"""The console's overview (/org/, SPEC "The customer console"): Acme's owner Ada and admin Grace see the sign-in health
support staff see (activity.health, sign-ins only), the last connection check with "Check now", provisioning's last
call, the breaker when open, and the values for their Inigo app in Okta; member Alan gets the page naming the owner;
Bob, admin of Globex, sees only Globex."""

import pytest
from django.test import override_settings

from accounts.models import LoginEvent, Role
from accounts.services import login_event_record
from console.overview import CHECKS_PER_MINUTE
from okta import breaker
from scim.tokens import scim_token_issue
from tenants.models import ConnectionCheckResult
from tests.test_admin_health import event_at
from tests.test_admin_tenants import support_client
from tests.test_console_people import console_client, joined
from tests.test_scim_tokens import scim_get
from tests.test_setup import working  # noqa: F401 (a fixture)

OVERVIEW_URL = "/org/"


def page_text(response) -> str:
    """The page's words, each run of spaces and line breaks as one space."""
    return " ".join(response.content.decode().split())


@pytest.fixture
def ada(acme):
    return joined(acme, "ada", Role.OWNER)


@pytest.fixture
def grace(acme):
    return joined(acme, "grace", Role.ADMIN)


def test_it_shows_the_same_health_figures_as_support_staffs_panel_sign_ins_only(acme, ada):
    for days_ago, reason in ((0, "ok"), (0, "ok"), (1, "state_missing"), (2, "state_expired")):
        event_at(acme, days_ago, reason)
    login_event_record(None, reason="console_sign_out", tenant=acme, user=ada, detail="by Ada")  # not a sign-in

    response = console_client(ada).get(OVERVIEW_URL)

    assert response.status_code == 200
    health = response.context["health"]
    assert (health.successes, health.failures, health.week_failures) == (2, 2, 2)
    page = page_text(response)
    assert "2 successful, 2 failed" in page
    assert "<svg" in response.content.decode() and "Why sign-ins failed, last 7 days" in page
    assert health.last_failure.reference in page  # the last failure, with the reference to search Events by


def test_the_values_for_their_okta_app_with_copy_buttons(acme, grace):
    page = console_client(grace).get(OVERVIEW_URL).content.decode()

    for value in ("http://testserver/oidc/callback/acme/", "http://testserver/oidc/initiate/acme/",
                  "http://testserver/oidc/global-token-revocation/", "http://testserver/scim/v2/"):
        assert value in page, value
    for label in ("Sign-in redirect URI", "Initiate login URI", "Universal Logout endpoint", "SCIM connector base URL"):
        assert label in page, label
    assert page.count("data-copy=") >= 4


def test_check_now_records_the_tenants_last_check_without_a_recent_sign_in(provider, acme, grace):
    client = console_client(grace, recent=False)  # a check changes nothing: no recent sign-in asked (SPEC)

    response = client.post(OVERVIEW_URL, {"action": "check"}, follow=True)

    check = ConnectionCheckResult.objects.get()
    assert (check.tenant, check.ok) == (acme, True)
    assert response.status_code == 200 and "Connection check passed" in page_text(response)
    assert response.context["health"].last_check == check
    assert provider.token_requests  # the saved Client ID and Secret were proven at the token endpoint


def test_check_now_with_a_secret_okta_refuses_shows_the_problems(provider, working):  # noqa: F811
    working.client_secret = "no-longer-the-secret"
    working.save()

    response = console_client(joined(working, "grace", Role.ADMIN)).post(OVERVIEW_URL, {"action": "check"},
                                                                         follow=True)

    assert not ConnectionCheckResult.objects.get().ok
    page = page_text(response)
    assert "Connection check found problems" in page and "Problems found" in page
    assert "no-longer-the-secret" not in page


@override_settings(OIDC_MAX_CHECKS_PER_PROCESS=1)
def test_a_busy_check_says_busy_and_records_nothing(provider, acme, grace):
    from okta.provider import check_slot

    with check_slot(requests=1):  # every check slot of this server is taken
        response = console_client(grace).post(OVERVIEW_URL, {"action": "check"}, follow=True)

    assert "Inigo is busy" in page_text(response)
    assert not ConnectionCheckResult.objects.exists()
    assert provider.hits["/.well-known/openid-configuration"] == 0


def test_provisionings_last_call_and_an_open_breaker(acme, ada):
    scim_get(scim_token_issue(tenant=acme))
    breaker._open(acme.issuer, failures=3, the_rule=breaker.Rule())
    try:
        page = page_text(console_client(ada).get(OVERVIEW_URL))
    finally:
        breaker.forget(acme.issuer)

    assert "Never:" not in page and "Not since the current token" not in page and "(to the minute)" in page
    assert "Inigo is not sending sign-ins to your Okta for now" in page and "after 3 failed requests" in page


def test_the_failure_reasons_say_when_they_are_only_the_most_frequent(acme, ada):
    reasons = ["user_not_assigned", "state_missing", "state_expired", "access_denied", "issuer_mismatch",
               "provider_error", "user_inactive"]
    for reason in reasons:
        event_at(acme, 1, reason)
    tied = page_text(console_client(ada).get(OVERVIEW_URL))  # seven reasons, once each: the cut falls in a tie
    for reason in reasons[:5]:
        event_at(acme, 1, reason)
    ranked = page_text(console_client(ada).get(OVERVIEW_URL))  # the five shown failed twice, the other two once

    assert "The 5 most frequent; 2 other reasons failed as often or less often." in tied
    assert "The 5 most frequent; 2 other reasons failed less often." in ranked


def test_after_the_pause_the_overview_says_the_next_sign_in_is_the_test_not_for_now(acme, ada):
    # The opening is kept up to a day (okta.breaker.OPENED_TTL); once its cool-down is over nothing is refused
    # any more: the next sign-in goes to the Okta as the probe.
    breaker._open(acme.issuer, failures=3, the_rule=breaker.Rule(cooldown_seconds=0))
    try:
        page = page_text(console_client(ada).get(OVERVIEW_URL))
        support_page = page_text(support_client().get(f"/admin/tenants/tenant/{acme.pk}/change/"))
    finally:
        breaker.forget(acme.issuer)

    assert "not sending sign-ins to your Okta for now" not in page
    assert "The next sign-in goes to your Okta as a test" in page and "after 3 failed requests" in page
    assert "Okta is refused sign-ins for now" not in support_page and "The next sign-in tests this Okta" in support_page


def test_a_member_gets_the_page_naming_the_owner_and_checks_nothing(acme, ada):
    alan = joined(acme, "alan")

    read = console_client(alan).get(OVERVIEW_URL)
    check = console_client(alan).post(OVERVIEW_URL, {"action": "check"})

    assert (read.status_code, check.status_code) == (403, 403)
    assert "Ada" in page_text(read)
    assert not ConnectionCheckResult.objects.exists()


def test_bob_of_globex_sees_globex_only(acme, globex):
    event_at(acme, 0, "state_missing")
    bob = joined(globex, "bob", Role.ADMIN)

    response = console_client(bob).get(OVERVIEW_URL)

    assert response.context["health"].failures == 0
    assert "/oidc/callback/globex/" in response.content.decode()
    assert "/oidc/callback/acme/" not in response.content.decode()


def test_an_unknown_action_is_a_400_page(acme, grace):
    response = console_client(grace).post(OVERVIEW_URL, {"action": "explode"})

    assert response.status_code == 400 and "did not recognise" in page_text(response)
    assert not LoginEvent.objects.filter(kind="console").exists()


def test_the_navigation_starts_with_the_overview(acme, grace):
    nav = [entry.label for entry in console_client(grace).get(OVERVIEW_URL).context["console_nav"]]

    assert nav == ["Overview", "People", "Events", "Settings", "Email domains", "Roles"]


def test_check_now_runs_six_times_a_minute_per_organisation(provider, acme, grace):
    client = console_client(grace)
    assert CHECKS_PER_MINUTE == 6  # the README says six
    for _ in range(6):
        client.post(OVERVIEW_URL, {"action": "check"})
    checks = ConnectionCheckResult.objects.count()

    response = client.post(OVERVIEW_URL, {"action": "check"}, follow=True)

    assert "asked for 6 connection checks in the last minute" in page_text(response)
    assert ConnectionCheckResult.objects.count() == checks == 6  # the seventh neither ran nor was kept
