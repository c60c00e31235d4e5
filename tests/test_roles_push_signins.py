"""First sign-ins of a tenant go on while Okta pushes a 50,000-member group mapped to admin (issue 29, "Big groups"):
the PUT lands on one app server, and people of the same tenant sign in for the first time, four at once, on the
other: new people, and people of the group being pushed (spread over its ids). No answer is a 5xx, and the new
people's p95 stays under 1 s (the group's under 1.5 s here, measured under 1 s: docs/benchmarks.md). A person of
the group whose row the push already holds waits for the push to commit (it is deciding their role; it locks its
people last, in id order, accounts.roles), which is short because a role UPDATE writes no index (accounts 0016:
HOT updates), and nobody else waits behind them. The figures go to docs/benchmarks.md ("Roles from Okta: a
50,000-member push"); the servers' errors are kept in test-artifacts/roles-push-servers.log. Needs PostgreSQL and a
redis-server binary, as tests/test_multiprocess.py. ROLES_PUSH_PEOPLE=3000 makes a quick run."""

import json
import os
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import requests

from faults.cluster import ROOT
from tests.conftest import profile
from tests.oidc_provider import ProviderHarness
from tests.scim_helpers import GROUP_SCHEMA
from tests.test_multiprocess import Cluster, running_cluster
from tests.test_roles_cluster import django_shell, scim
from tests.test_roles_cluster import okta_token as _okta_token

DATABASE = f"inigo_roles_push_test_{os.getpid()}"
PEOPLE = int(os.environ.get("ROLES_PUSH_PEOPLE", "50000"))
SERVER_ERRORS = ROOT / "test-artifacts" / "roles-push-servers.log"
TARGET_P95 = 1.0  # seconds (issue 29)
GROUP_P95_BOUND = 1.5  # seconds: the group's people, whose rows the push holds to its COMMIT (below)
SIGNING_IN = 4  # people signing in at once
SPREAD = 7919  # a prime, so k * SPREAD % PEOPLE visits every person once
NOBODY_WAITS = 3.0  # seconds: far below the push's own time, far above one sign-in on this shared machine


okta_token = _okta_token  # the fixture, for this module's cluster


@pytest.fixture(scope="module")
def cluster(_acme_provider: ProviderHarness) -> Iterator[Cluster]:
    SERVER_ERRORS.parent.mkdir(parents=True, exist_ok=True)
    SERVER_ERRORS.unlink(missing_ok=True)
    # The sign-ins come from one address here, where a tenant's people come from many: no per-IP rate limit.
    with running_cluster(_acme_provider, DATABASE, env={"SSO_RATE_LIMIT": "off"}, stderr=SERVER_ERRORS) as running:
        yield running


def first_sign_in(cluster: Cluster, sub: str, server: int, *, provisioned: int | None = None) -> tuple[float, str]:
    """A person of acme signs in for the first time on `server` (initiate, the provider's page, the callback): a new
    one, or the `provisioned`-th person Okta provisioned (linked by their userName). The seconds it took and what
    went wrong ("" when they ended on the home page)."""
    username = {} if provisioned is None else {"preferred_username": f"person{provisioned}@acme.test"}
    cluster.provider.set_user(sub, profile(sub, **username))
    browser = requests.Session()
    started = time.perf_counter()
    initiated = cluster.get(server, "/oidc/initiate/", browser, iss=cluster.provider.issuer)
    if initiated.status_code != 302:
        return time.perf_counter() - started, f"initiate {initiated.status_code}"
    callback = urlsplit(cluster.provider.authorize(initiated.headers["Location"], sub))
    finished = cluster.get(server, f"{callback.path}?{callback.query}", browser)
    elapsed = time.perf_counter() - started
    if finished.status_code != 302 or finished.headers.get("Location") != "/":
        return elapsed, f"callback {finished.status_code}"
    return elapsed, ""


def push_seeded(cluster: Cluster, okta_token: str) -> tuple[str, dict]:
    """PEOPLE provisioned people, an empty group mapped to admin, role_source okta; the PUT body that fills it."""
    members = django_shell(cluster, "import json; from tests.test_roles_scale import people_seed; "
                                    f"print(json.dumps(people_seed(acme, {PEOPLE})))")
    created = scim(cluster, 0, "POST", "/Groups", okta_token, {"schemas": [GROUP_SCHEMA], "displayName": "Everyone"})
    group_id = created.json()["id"]
    django_shell(cluster, "from accounts.events import EventKind; from accounts.models import TenantGroup; "
                          "from accounts.roles import Reason, group_role_change, role_source_change; "
                          f"group_role_change(group=TenantGroup.objects.get(scim_id='{group_id}'), role='admin', "
                          "reason=Reason(EventKind.CONSOLE, 'test')); role_source_change(tenant=acme, "
                          "role_source='okta', reason=Reason(EventKind.CONSOLE, 'test'))")
    return group_id, {"schemas": [GROUP_SCHEMA], "displayName": "Everyone", "members": json.loads(members)}


def p95(seconds: list[float]) -> float:
    return statistics.quantiles(seconds, n=20, method="inclusive")[-1] if len(seconds) > 1 else seconds[0]


def figures(seconds: list[float]) -> str:
    if not seconds:
        return "none"
    return (f"{len(seconds)}, p50 {statistics.median(seconds) * 1000:.0f} ms, p95 {p95(seconds) * 1000:.0f} ms, "
            f"max {max(seconds) * 1000:.0f} ms")


@dataclass
class SignIns:
    """First sign-ins on server 1 from SIGNING_IN browsers while `pushing` lives: new people, and people of the
    group being pushed (whose role the push changes), in turn. (seconds, what went wrong, one of the group?)"""

    cluster: Cluster
    pushing: threading.Thread
    done: list[tuple[float, str, bool]] = field(default_factory=list)

    def run(self) -> None:
        browsers = [threading.Thread(target=self._browser, args=(b,)) for b in range(SIGNING_IN)]
        for browser in browsers:
            browser.start()
        for browser in browsers:
            browser.join()

    def _browser(self, browser: int) -> None:
        n = 0
        while self.pushing.is_alive():
            n += 1
            grouped = n % 2 == 1
            # Spread over the group, not its last rows: the push locks its people in id order, a chunk at a time
            # (accounts.roles), so the first ids are held longest.
            linked = ((n // 2) * SIGNING_IN + browser) * SPREAD % PEOPLE if grouped else None
            self.done.append((*first_sign_in(self.cluster, f"new{browser}-{n}", 1, provisioned=linked), grouped))


def test_first_sign_ins_go_on_during_a_50000_member_push(cluster, okta_token, capsys):
    cluster.provider.reset()
    first_sign_in(cluster, "ada", 1)  # the owner, before anything
    group_id, body = push_seeded(cluster, okta_token)
    before = [first_sign_in(cluster, f"before{n}", 1) for n in range(20)]
    answer: dict[str, object] = {}

    def put() -> None:
        started = time.perf_counter()
        response = scim(cluster, 0, "PUT", f"/Groups/{group_id}", okta_token, body)
        answer.update(status=response.status_code, seconds=time.perf_counter() - started, text=response.text[:300])

    pushing = threading.Thread(target=put)
    pushing.start()
    during = SignIns(cluster, pushing)
    during.run()
    pushing.join()

    errors = SERVER_ERRORS.read_text(errors="replace")
    assert answer["status"] == 200, answer
    failures = [what for _, what in before if what] + [what for _, what, _ in during.done if what]
    assert not failures, f"{failures}\n{errors[-3000:]}"
    assert "Traceback" not in errors, errors[-3000:]
    assert int(django_shell(cluster, "from accounts.models import User; print(User.objects.filter(tenant=acme, "
                                     "role='admin').count())")) == PEOPLE
    times = [seconds for seconds, _, _ in during.done]
    outside = [seconds for seconds, _, grouped in during.done if not grouped]
    with capsys.disabled():
        print(f"\n{PEOPLE}-member PUT on server 0: {answer['seconds']:.1f} s. First sign-ins on server 1 "
              f"({SIGNING_IN} at once) meanwhile: {figures(times)}; of them, new people: "
              f"{figures(outside)}; people of the group: "
              f"{figures([s for s, _, in_group in during.done if in_group])}. Before the push, one at a time: "
              f"{figures([s for s, _ in before])}")
    # A person of the group waits for the push to commit (it is deciding their role); nobody else waits for them:
    # before accounts.locks.PeopleBusy, the others waited behind them for the tenant's lock, 10 to 18 s here.
    assert p95(outside) < TARGET_P95, figures(outside)
    assert max(outside) < NOBODY_WAITS, figures(outside)
    # The wait of a person of the group is the push's last role UPDATEs and its COMMIT: p95 1.7 to 2.6 s while each
    # UPDATE wrote all 14 indexes of accounts_user; since they are HOT, 467 to 891 ms in five runs (the target, 1 s,
    # is reported in docs/benchmarks.md). The bound here fails a return to the old UPDATEs without failing CI on
    # this shared machine's spread.
    grouped = [seconds for seconds, _, in_group in during.done if in_group]
    assert p95(grouped) < GROUP_P95_BOUND, figures(grouped)
