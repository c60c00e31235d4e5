"""Two app servers behind one host name, sharing one PostgreSQL database and one Redis: a login started on one
finishes on the other, discovery and keys are fetched once for both, and a Redis outage degrades the cache, not
the service. Needs PostgreSQL (DATABASE_URL=postgres://...) and a redis-server binary; the test starts its own
Redis on a free port so that stopping it disturbs nothing else on the machine."""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import requests

from tests.conftest import profile
from tests.oidc_provider import ProviderHarness

ROOT = Path(__file__).resolve().parent.parent
HOST = "inigo.test"  # what the load balancer forwards as Host to every app server
DATABASE = f"inigo_multiprocess_test_{os.getpid()}"  # several runs on one server must not collide


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(check, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (requests.RequestException, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} did not come up in {seconds} s")


@dataclass
class Redis:
    port: int
    process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _wait_for(lambda: socket.create_connection(("127.0.0.1", self.port), 0.2).close() is None, "redis")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@dataclass
class Cluster:
    ports: tuple[int, int]
    redis: Redis
    provider: ProviderHarness
    env: dict[str, str]
    migrated: bool = False

    def add_tenant(self, slug: str, issuer: str) -> None:
        manage = [sys.executable, "manage.py"]
        if not self.migrated:
            subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=self.env, check=True,
                           timeout=120)
            self.migrated = True
        subprocess.run([*manage, "add_tenant", slug, "--name", slug.capitalize(), "--okta-domain", issuer,
                        "--client-id", f"inigo-{slug}"], input=f"{slug}-secret\n", text=True, cwd=ROOT, env=self.env,
                       check=True, timeout=60, capture_output=True)

    def get(self, server: int, path: str, session: requests.Session, **params: str) -> requests.Response:
        return session.get(f"http://127.0.0.1:{self.ports[server]}{path}", params=params, headers={"Host": HOST},
                           allow_redirects=False, timeout=30)

    def post_form(
        self, server: int, page: str, session: requests.Session, *, to: str = "", **fields: str
    ) -> requests.Response:
        """GET `page` and POST a form of it to `to` (default: the page itself) with `fields`, as a browser would
        (with the page's CSRF token)."""
        shown = self.get(server, page, session)
        assert shown.status_code == 200, shown.text[:300]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', shown.text).group(1)
        return session.post(f"http://127.0.0.1:{self.ports[server]}{to or page}", headers={"Host": HOST},
                            data={"csrfmiddlewaretoken": token, **fields}, allow_redirects=False, timeout=30)

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
    provider: ProviderHarness, database: str, *, settings_module: str = "inigo_sso.settings", pages: bool = False
) -> Iterator[Cluster]:
    """Two app servers (gunicorn, one worker each) on a database of their own named `database`, sharing a Redis
    started for them, with the tenant acme on `provider`. Skips without PostgreSQL or a redis-server binary.
    `pages`: HTML pages too (the production settings need collected static files for them, in a folder of this
    run's own)."""
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        pytest.skip("needs PostgreSQL shared by two processes: set DATABASE_URL=postgres://...")
    if not shutil.which("redis-server"):
        pytest.skip("needs a redis-server binary (Debian package redis-server)")
    server = urlsplit(database_url)
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {database}")
    redis = Redis(_free_port())
    redis.start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SSO_"))},
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": server._replace(path=f"/{database}").geturl(),
        "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "multiprocess-test-" + "k" * 40,
        "SSO_ENCRYPTION_KEYS": "QNeEoRF8-ncL6zWBzuDdb8a4fBC2hvuVjXzXZW64ixM=",
        "DJANGO_HTTPS": "false",
        "SSO_ALLOW_INSECURE_ISSUERS": "true",
        "DJANGO_ALLOWED_HOSTS": HOST,
    }
    if pages:
        env.update(DJANGO_SETTINGS_MODULE="tests.e2e.server_settings", E2E_STATIC_ROOT=tempfile.mkdtemp())
        static_root = env["E2E_STATIC_ROOT"]
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=env,
                       check=True, timeout=120)
    cluster = Cluster((_free_port(), _free_port()), redis, provider, env)
    cluster.add_tenant("acme", provider.issuer)
    servers = [
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "inigo_sso.wsgi"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for port in cluster.ports
    ]
    try:
        for port in cluster.ports:
            _wait_for(lambda p=port: requests.get(f"http://127.0.0.1:{p}/healthz/", headers={"Host": HOST},
                                                  timeout=2).status_code == 200, f"app server on {port}")
        yield cluster
    finally:
        for process in servers:
            process.terminate()
        for process in servers:
            process.wait(15)
        redis.stop()
        if pages:
            shutil.rmtree(static_root, ignore_errors=True)
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


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
