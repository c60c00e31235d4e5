"""A tenant's sign-in health for support staff: the panel on its admin page (30 days as a server-drawn chart,
this week's failure reasons, last success and failure, last connection check, provisioning), compact columns in
the tenants list, stored connection checks, and saving that lands on the tenant's page."""

import io
import re
import socket
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.events import kind_of
from accounts.models import LoginEvent
from activity.health import DAYS, _nice_ceiling, tenant_health, tenants_week_health
from scim.models import ProvisioningToken
from tenants.models import ConnectionCheckResult, Tenant
from tests.test_admin_tenants import ADD_URL, LIST_URL, add_form_data, change_url, errors_of, page_text, support_client


@pytest.fixture
def support(db):
    return support_client()


def event_at(tenant: Tenant, days_ago: float, reason: str = "ok") -> LoginEvent:
    event = LoginEvent.objects.create(tenant=tenant, outcome="success" if reason == "ok" else "failure",
                                      reason=reason, kind=kind_of(reason), email="alice@acme.test")
    LoginEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    event.refresh_from_db()
    return event


def test_it_counts_sign_ins_and_failures_per_day_over_30_days(acme, globex):
    for days_ago in (0, 0, 1, 29):
        event_at(acme, days_ago)
    event_at(acme, 1, "state_missing")
    event_at(acme, 31)  # before the window
    event_at(globex, 0)  # another tenant

    health = tenant_health(tenant=acme)

    assert len(health.days) == DAYS
    assert health.days[-1].day == timezone.localdate()
    assert (health.days[-1].successes, health.days[-1].failures) == (2, 0)
    assert (health.days[-2].successes, health.days[-2].failures) == (1, 1)
    assert health.days[0].successes == 1
    assert (health.successes, health.failures) == (4, 1)


def test_it_names_this_weeks_top_failure_reasons_most_first(acme):
    for _ in range(3):
        event_at(acme, 1, "user_not_assigned")
    event_at(acme, 2, "state_missing")
    event_at(acme, 10, "client_rejected")  # not this week

    health = tenant_health(tenant=acme)

    assert [(item.reason, item.count) for item in health.top_reasons] == [("user_not_assigned", 3),
                                                                           ("state_missing", 1)]
    assert health.top_reasons[0].title == "You are not assigned to Inigo in Okta"


def test_it_shows_the_last_success_and_failure_even_when_older_than_30_days(acme):
    success = event_at(acme, 40)
    failure = event_at(acme, 35, "state_missing")

    health = tenant_health(tenant=acme)

    assert (health.last_success, health.last_failure) == (success, failure)
    assert health.last_check is None
    assert health.provisioning_token is None


def test_it_reads_when_provisioning_last_called_where_scim_sets_it(acme):
    called = timezone.now() - timedelta(hours=3)
    ProvisioningToken.objects.create(tenant=acme, digest="d" * 64, issued_at=called, last_used_at=called)

    assert tenant_health(tenant=acme).provisioning_token.last_used_at == called


def test_the_panel_makes_the_same_six_queries_for_ten_events_or_three_hundred(acme):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            tenant_health(tenant=acme)
        return len(captured)

    for days_ago in range(10):
        event_at(acme, days_ago)
    few = queries()
    LoginEvent.objects.bulk_create(
        LoginEvent(kind="signin", tenant=acme, outcome="failure", reason="user_not_assigned") for _ in range(300)
    )

    assert few == queries() == 6  # the 30 days, last success, failure, setup step, check, provisioning


def test_the_tenant_page_draws_the_chart_as_svg_in_the_page(support, acme):
    event_at(acme, 0)
    event_at(acme, 3, "user_not_assigned")

    page = page_text(support.get(change_url(acme)))

    assert "Sign-in health" in page
    assert page.count('class="bar-ok"') == 1 and page.count('class="bar-failed"') == 1
    assert '<svg viewBox="0 0 720 180"' in page
    assert "<script" not in page.split("Sign-in health")[1].split("</section>")[0]
    assert "user_not_assigned" in page
    assert "Provisioning last called" in page


def test_the_tenant_page_queries_stay_bounded_as_events_grow(support, acme):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert support.get(change_url(acme)).status_code == 200
        return len(captured)

    event_at(acme, 0)
    queries()  # warm up
    before = queries()
    LoginEvent.objects.bulk_create(
        LoginEvent(kind="signin", tenant=acme, outcome="success", reason="ok") for _ in range(500)
    )
    assert queries() == before


TENANT_TIME_INDEX = re.compile(r"using loginevent_tenant_(kind_)?time ")


def test_the_health_queries_use_the_tenant_time_index_on_postgresql(postgres, acme):
    event_at(acme, 0)
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # a tiny table: make the planner say which index it can use
        try:
            queryset = (LoginEvent.objects.filter(tenant=acme, created_at__gte=timezone.now() - timedelta(days=30))
                        .values("reason").order_by())
            # Either index of (tenant, ..., created_at) reads a range: the one with the kind (the console's events) is
            # as good for a tiny table, and better for the health panel's kind=signin.
            assert TENANT_TIME_INDEX.search(queryset.explain())
            last = LoginEvent.objects.filter(tenant=acme, outcome="success").order_by("-created_at")[:1]
            assert TENANT_TIME_INDEX.search(last.explain())
        finally:
            cursor.execute("SET enable_seqscan = on")


def test_the_chart_scale_is_a_round_number():
    assert [_nice_ceiling(value) for value in (0, 4, 7, 57, 61, 101, 950)] == [4, 4, 8, 60, 80, 200, 1000]


# --- the tenants list --------------------------------------------------------------------------------------------
def test_the_list_shows_each_tenants_week_and_last_check(support, acme, globex):
    event_at(acme, 1)
    event_at(acme, 2, "state_missing")
    event_at(acme, 9, "state_missing")  # older than a week
    ConnectionCheckResult.objects.create(tenant=globex, ok=False, summary="1 problem found.")

    response = support.get(LIST_URL)

    rows = {tenant.slug: tenant for tenant in response.context["cl"].result_list}
    assert (rows["acme"].week_health.successes, rows["acme"].week_health.failures) == (1, 1)
    assert (rows["globex"].week_health.successes, rows["globex"].week_health.failures) == (0, 0)
    assert rows["globex"].last_check_ok is False and rows["acme"].last_check_at is None
    page = page_text(response)
    assert "1 failed" in page and "problems" in page and "never" in page


def test_the_week_columns_are_one_grouped_query_for_the_whole_page(acme, globex):
    for tenant in (acme, globex):
        event_at(tenant, 1)
    with CaptureQueriesContext(connection) as captured:
        week = tenants_week_health(tenant_ids=[acme.pk, globex.pk])

    assert len(captured) == 1
    assert "GROUP BY" in captured[0]["sql"]
    assert set(week) == {acme.pk, globex.pk}


# --- connection checks are kept ------------------------------------------------------------------------------------
def test_check_connection_on_the_tenant_page_stores_the_result_and_the_panel_shows_it(support, provider, acme):
    response = support.post(f"/admin/tenants/tenant/{acme.pk}/check-connection/", follow=True)

    check = ConnectionCheckResult.objects.get()
    assert (check.tenant, check.ok) == (acme, True)
    answers = f"Okta answers at {provider.issuer}/.well-known/openid-configuration."
    assert check.findings[0] == {"ok": True, "message": answers}
    assert "no problems" in page_text(response)


def test_the_check_action_stores_one_result_per_tenant(support, provider, acme, globex):
    support.post(LIST_URL, {"action": "check_connection", "_selected_action": [acme.pk, globex.pk]})

    assert sorted(ConnectionCheckResult.objects.values_list("tenant__slug", "ok")) == [("acme", True),
                                                                                       ("globex", True)]


def test_check_tenant_stores_its_result(provider, acme):
    call_command("check_tenant", "acme", stdout=io.StringIO())

    assert ConnectionCheckResult.objects.get().ok is True


# --- saving ------------------------------------------------------------------------------------------------------
def test_saving_lands_on_the_tenants_page(support, provider):
    response = support.post(ADD_URL, add_form_data(okta_domain=provider.issuer))

    tenant = Tenant.objects.get()
    assert response.status_code == 302
    assert response["Location"] == change_url(tenant)
    again = support.post(change_url(tenant), {**add_form_data(okta_domain=provider.issuer), "client_secret": ""})
    assert again["Location"] == change_url(tenant)


@override_settings(DEBUG=True, SSO_ALLOW_INSECURE_ISSUERS=True)
def test_a_typod_okta_domain_is_caught_on_save_in_development_too(support, monkeypatch):
    def nowhere(host: Any, *args: Any, **kwargs: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nowhere)

    response = support.post(ADD_URL, add_form_data(okta_domain="acme.okta.cmo"))

    [error] = errors_of(response)["okta_domain"]
    assert "acme.okta.cmo" in error
    assert not Tenant.objects.exists()
