"""The breaker of each issuer (okta/breaker.py): one slow answer costs one sign-in, a run of failures opens the
breaker, which refuses at once, probes after its cool-down and closes; connection checks never move it.

In-process against real providers (oidc-provider-mock) on loopback, one of which is stopped and served again on the
same port, as an Okta org that goes down and comes back; then the same on two gunicorn servers sharing Redis."""

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager

import pytest
import requests
from django.test import override_settings

from accounts.models import LoginEvent
from faults.cluster import HOST
from faults.cluster import free_port as _free_port
from okta import breaker, http
from okta import provider as okta_provider
from okta.connection import connection_check
from tenants.models import Tenant
from tenants.services import tenant_connection_check
from tests.conftest import Browser
from tests.oidc_provider import ProviderHarness
from tests.test_multiprocess import running_cluster

RULE = breaker.Rule()
SHORT_COOLDOWN = {**breaker.Rule().__dict__, "cooldown_seconds": 0.5}


# --- the rule, as a table --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("requests_", "failures", "streak", "opens"), [
    (1, 1, 1, False),  # one slow answer among any number: that sign-in only
    (2, 2, 2, False),
    (3, 3, 3, True),  # three in a row
    (4, 2, 0, False),  # half, but fewer than five requests: not evidence yet
    (5, 3, 1, True),  # more than half of five
    (6, 3, 0, True),  # exactly half of six
    (7, 3, 1, False),
    (1000, 2, 2, False),  # a busy tenant's two timeouts
])
def test_it_opens_on_evidence_only(requests_, failures, streak, opens):
    assert breaker.trips(RULE, requests=requests_, failures=failures, streak=streak) is opens


def test_its_state_follows_the_cool_down():
    now = time.time()
    assert breaker.state(breaker.Reading("x"), now) is breaker.State.CLOSED
    opened = breaker.Reading("x", opened_at=now, opened_failures=3, retry_at=now + 30)
    assert breaker.state(opened, now + 29) is breaker.State.OPEN
    assert breaker.state(opened, now + 30) is breaker.State.HALF_OPEN


# --- an Okta that goes down and comes back ---------------------------------------------------------------------------
class Flaky:
    """A real provider on a fixed port that the test stops (connections refused) and serves again."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.harness = ProviderHarness()
        self._serving: AbstractContextManager[ProviderHarness] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        self._serving = self.harness.serve(self.port)
        self._serving.__enter__()
        self.harness.hits.clear()

    def down(self) -> None:
        if self._serving is not None:
            self._serving.__exit__(None, None, None)
            self._serving = None


@pytest.fixture
def flaky(db: None) -> Iterator[Flaky]:
    okta = Flaky()
    Tenant.objects.create(name="Flaky", slug="flaky", okta_domain=okta.issuer, client_id="inigo-flaky",
                          client_secret="flaky-secret")
    try:
        yield okta
    finally:
        okta.down()


def start(client, slug: str = "flaky"):
    began = time.perf_counter()
    response = client.get("/oidc/authenticate/", {"tenant": slug})
    return response, time.perf_counter() - began


def test_after_one_token_timeout_the_next_sign_in_succeeds(browser: Browser, provider, acme):
    provider.token_delays = [1.0]  # one slow answer of Okta's token endpoint

    with override_settings(OIDC_TIMEOUT=(1, 0.3)):
        slow = browser.login(provider, "alice")
        assert slow.status_code == 502 and b"Okta cannot be reached" in slow.content
        again = browser.login(provider, "alice")

    assert again.status_code == 302 and again["Location"] == "/"
    assert browser.me().json()["email"] == "alice@acme.test"
    assert breaker.state(breaker.read(provider.issuer), time.time()) is breaker.State.CLOSED


@override_settings(OIDC_BREAKER=SHORT_COOLDOWN)
def test_a_run_of_failures_opens_it_refuses_at_once_then_a_probe_closes_it(client, flaky: Flaky):
    for _ in range(RULE.consecutive_failures):
        failed, _took = start(client)
        assert failed.status_code == 502
    flaky.up()  # back, but the breaker does not know it until its cool-down is over

    refused, took = start(client)

    assert refused.status_code == 502 and b"Okta cannot be reached" in refused.content
    assert took < 0.1, f"refused in {took * 1000:.0f} ms"
    assert flaky.harness.hits["/.well-known/openid-configuration"] == 0  # nothing went out
    assert "breaker opened after 3 failures" in LoginEvent.objects.latest("pk").detail

    time.sleep(SHORT_COOLDOWN["cooldown_seconds"])
    probe, _took = start(client)

    assert probe.status_code == 302  # the probe's answer closed it
    assert flaky.harness.hits["/.well-known/openid-configuration"] == 1
    assert breaker.read(flaky.issuer) == breaker.Reading(flaky.issuer)  # closed, nothing counted


@override_settings(OIDC_BREAKER=SHORT_COOLDOWN)
def test_a_failed_probe_opens_it_again(client, flaky: Flaky):
    for _ in range(RULE.consecutive_failures):
        start(client)
    first = breaker.read(flaky.issuer)
    time.sleep(SHORT_COOLDOWN["cooldown_seconds"])

    probe, _took = start(client)  # still down
    refused, took = start(client)

    again = breaker.read(flaky.issuer)
    assert probe.status_code == refused.status_code == 502
    assert again.opened_at > first.opened_at and again.opened_failures == first.opened_failures + 1
    assert breaker.state(again, time.time()) is breaker.State.OPEN and took < 0.1


def test_a_provider_that_answers_badly_but_fast_is_no_stall(client, provider, acme):
    provider.discovery_rewrite = lambda document: {**document, "issuer": "https://elsewhere.example"}

    for _ in range(RULE.consecutive_failures + 2):
        refused, _took = start(client, "acme")
        assert refused.status_code == 502  # discovery_issuer_mismatch, asked again each time

    assert provider.hits["/.well-known/openid-configuration"] == RULE.consecutive_failures + 2
    assert breaker.state(breaker.read(provider.issuer), time.time()) is breaker.State.CLOSED


# --- connection checks never move it ---------------------------------------------------------------------------------
def test_failing_checks_one_short_of_the_threshold_and_a_failed_sign_in_leave_it_closed(client, flaky: Flaky):
    tenant = Tenant.objects.get(slug="flaky")
    for _ in range(RULE.consecutive_failures - 1):
        report = tenant_connection_check(tenant, origin="http://testserver")
        assert not report.ok and report.busy_retry_in is None

    failed, _took = start(client)

    reading = breaker.read(flaky.issuer)
    assert failed.status_code == 502
    assert (reading.streak, reading.failures) == (1, 1)  # only the sign-in counted
    assert breaker.state(reading, time.time()) is breaker.State.CLOSED


def test_a_passing_check_leaves_an_open_breaker_open(client, flaky: Flaky):
    for _ in range(RULE.consecutive_failures):
        start(client)
    flaky.up()

    report = tenant_connection_check(Tenant.objects.get(slug="flaky"), origin="http://testserver")

    assert report.ok, [finding.message for finding in report.findings]  # sent while open: Okta is back
    assert breaker.state(breaker.read(flaky.issuer), time.time()) is breaker.State.OPEN
    refused, took = start(client)
    assert refused.status_code == 502 and took < 0.1


@override_settings(OIDC_MAX_CHECKS_PER_PROCESS=1)
def test_a_check_refused_for_a_busy_slot_says_busy_not_unreachable(provider, acme):
    with okta_provider.check_slot(requests=4):  # this server's one check slot is taken
        report = connection_check(acme, client_secret="s", redirect_uri="http://testserver/oidc/callback/acme/")

    assert report.busy_retry_in is not None and 1 <= report.busy_retry_in <= 4 * http.request_seconds()
    assert "Inigo is busy" in report.summary and f"try again in {report.busy_retry_in} s" in report.summary
    assert not any("cannot reach" in finding.message for finding in report.findings)
    assert provider.hits["/.well-known/openid-configuration"] == 0


# --- on two app servers sharing Redis --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster_with_flaky(_acme_provider: ProviderHarness) -> Iterator[tuple[object, Flaky]]:
    okta = Flaky()
    database = f"inigo_breaker_test_{_free_port()}"
    with running_cluster(_acme_provider, database, settings_module="tests.breaker_server_settings") as cluster:
        cluster.add_tenant("flaky", okta.issuer)
        try:
            yield cluster, okta
        finally:
            okta.down()


def test_on_two_servers_failures_on_one_open_it_for_both_and_a_probe_closes_it(cluster_with_flaky):
    cluster, flaky = cluster_with_flaky
    browser = requests.Session()

    def start_on(server: int) -> tuple[int, float]:
        began = time.perf_counter()
        response = cluster.get(server, "/oidc/authenticate/", browser, tenant="flaky")
        return response.status_code, time.perf_counter() - began

    failures = [start_on(0)[0] for _ in range(RULE.consecutive_failures)]
    flaky.up()
    refused, took = start_on(1)  # the other server learns it from the shared cache

    assert failures == [502] * RULE.consecutive_failures
    assert refused == 502 and took < 0.1, f"refused in {took * 1000:.0f} ms"
    assert flaky.harness.hits["/.well-known/openid-configuration"] == 0

    time.sleep(2)  # tests.breaker_server_settings: a cool-down of 2 s
    probe, _took = start_on(1)
    after = [start_on(server)[0] for server in (0, 1)]

    assert probe == 302 and after == [302, 302]
    assert flaky.harness.hits["/.well-known/openid-configuration"] == 1  # one probe, then the shared cache
    print(f"\nrefused on the other server in {took * 1000:.1f} ms; host {HOST}")
