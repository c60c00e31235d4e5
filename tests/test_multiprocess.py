"""Two app servers behind one host name, sharing one PostgreSQL database and one Redis: a login started on one
finishes on the other, discovery and keys are fetched once for both, and a Redis outage degrades the cache, not
the service. Needs PostgreSQL (DATABASE_URL=postgres://...) and a redis-server binary; the test starts its own
Redis on a free port so that stopping it disturbs nothing else on the machine."""

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from faults import cluster as processes
from faults.cluster import HOST
from faults.cluster import wait_for as _wait_for
from tests.conftest import profile
from tests.oidc_provider import ProviderHarness

DATABASE = f"inigo_multiprocess_test_{os.getpid()}"  # several runs on one server must not collide


@dataclass
class Cluster(processes.Cluster):
    provider: ProviderHarness | None = None

    def post_form(
        self, server: int, page: str, session: requests.Session, *, to: str = "", **fields: str
    ) -> requests.Response:
        """GET `page` and POST a form of it to `to` (default: the page itself) with `fields`, as a browser would
        (with the page's CSRF token)."""
        shown = self.get(server, page, session)
        assert shown.status_code == 200, shown.text[:300]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', shown.text)
        assert token, shown.text[:300]
        return session.post(f"http://127.0.0.1:{self.ports[server]}{to or page}", headers={"Host": HOST},
                            data={"csrfmiddlewaretoken": token.group(1), **fields}, allow_redirects=False, timeout=30)

    def login(self, sub: str, *, start: int, finish: int) -> requests.Session:
        browser = requests.Session()
        started = self.get(start, "/oidc/initiate/", browser, iss=self.provider.issuer)
        assert started.status_code == 302, started.text[:300]
        callback = urlsplit(self.provider.authorize(started.headers["Location"], sub))
        assert callback.netloc == HOST
        finished = self.get(finish, f"{callback.path}?{callback.query}", browser)
        assert finished.status_code == 302, finished.text[:500]
        assert finished.headers["Location"] == "/"
        return browser


@contextmanager
def running_cluster(
    provider: ProviderHarness, database: str, *, settings_module: str = "tests.cluster_settings",
    env: dict[str, str] | None = None, stderr: Path | None = None,
) -> Iterator[Cluster]:
    """Two app servers (gunicorn, one worker each) on a database of their own named `database`, sharing a Redis
    started for them, with the tenant acme on `provider`; they serve pages too (tests/cluster_settings.py). Skips
    without PostgreSQL or a redis-server binary. `env` is added to the servers'
    environment; their errors go to the file `stderr` when given."""
    database_url = os.environ.get("DATABASE_URL", "")
    if reason := processes.missing_requirements(database_url):
        pytest.skip(reason)
    with processes.running_cluster(database_url, database, tenants=[("acme", provider.issuer)],
                                   settings_module=settings_module, env=env, stderr=stderr) as running:
        yield Cluster(**vars(running), provider=provider)


@pytest.fixture(scope="module")
def cluster(_acme_provider: ProviderHarness) -> Iterator[Cluster]:
    with running_cluster(_acme_provider, DATABASE) as running:
        yield running


def test_a_login_started_on_one_server_finishes_on_the_other(cluster: Cluster):
    cluster.provider.reset()
    for sub in ("alice", "bob"):
        cluster.provider.set_user(sub, profile(sub))

    alice = cluster.login("alice", start=0, finish=1)
    bob = cluster.login("bob", start=1, finish=0)

    assert cluster.get(0, "/api/me/", alice).json()["role"] == "owner"
    assert cluster.get(1, "/api/me/", alice).json()["email"] == "alice@acme.test"
    assert cluster.get(0, "/api/me/", bob).json()["role"] == "member"
    # Fetched once for the fleet, through the shared Redis cache.
    assert cluster.provider.hits["/.well-known/openid-configuration"] == 1
    assert cluster.provider.hits["/jwks"] == 1
    assert cluster.provider.hits["/oauth2/token"] == 2


def test_without_redis_healthz_says_so_and_logins_still_succeed(cluster: Cluster):
    cluster.provider.set_user("carol", profile("carol"))
    cluster.redis.stop()
    try:
        health = cluster.get(0, "/healthz/", requests.Session())
        assert health.status_code == 200  # sign-ins go on without Redis: degraded, not out of service
        assert health.json() == {"status": "degraded", "database": "ok", "cache": "down"}

        carol = cluster.login("carol", start=0, finish=1)

        assert cluster.get(1, "/api/me/", carol).json()["email"] == "carol@acme.test"
    finally:
        cluster.redis.start()


def test_when_redis_is_back_all_is_well_again(cluster: Cluster):
    cluster.provider.set_user("dave", profile("dave"))
    _wait_for(lambda: cluster.get(1, "/healthz/", requests.Session()).json()["cache"] == "ok", "healthz after Redis")

    dave = cluster.login("dave", start=1, finish=0)

    assert cluster.get(0, "/api/me/", dave).status_code == 200
    assert cluster.get(0, "/healthz/", requests.Session()).json() == {"status": "ok", "database": "ok", "cache": "ok"}
