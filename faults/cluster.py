"""The processes of a test on several app servers: free ports on loopback, a Redis of its own, and two gunicorn app
servers on one PostgreSQL database of their own. Shared by tests/test_multiprocess.py (and the tests built on it)
and the fault suite (faults/), which stops and kills these processes on purpose, so each run starts its own."""

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
HOST = "inigo.test"  # what the load balancer forwards as Host to every app server
ENCRYPTION_KEY = "QNeEoRF8-ncL6zWBzuDdb8a4fBC2hvuVjXzXZW64ixM="  # a throwaway key: the databases are dropped after


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check: Callable[[], object], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (requests.RequestException, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} did not come up in {seconds} s")


def missing_requirements(database_url: str) -> str:
    """Why the app servers cannot run here, or '' when they can."""
    if not database_url.startswith(("postgres://", "postgresql://")):
        return "needs PostgreSQL shared by two processes: set DATABASE_URL=postgres://..."
    if not shutil.which("redis-server"):
        return "needs a redis-server binary (Debian package redis-server)"
    return ""


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
        wait_for(lambda: socket.create_connection(("127.0.0.1", self.port), 0.2).close() is None, "redis")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@dataclass
class Cluster:
    ports: tuple[int, ...]
    redis: Redis
    env: dict[str, str]
    servers: list[subprocess.Popen] = field(default_factory=list)  # the gunicorn masters, one per port
    migrated: bool = False

    def add_tenant(self, slug: str, issuer: str) -> None:
        if not self.migrated:
            self.manage("migrate", "--no-input", "-v", "0")
            self.migrated = True
        self.manage("add_tenant", slug, "--name", slug.capitalize(), "--okta-domain", issuer, "--client-id",
                    f"inigo-{slug}", stdin=f"{slug}-secret\n")

    def manage(self, *args: str, stdin: str = "") -> str:
        """A management command against the servers' database; its output."""
        done = subprocess.run([sys.executable, "manage.py", *args], input=stdin, text=True, cwd=ROOT, env=self.env,
                              check=False, timeout=120, capture_output=True)
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed: {done.stderr[-2000:]}")
        return done.stdout

    def get(self, server: int, path: str, session: requests.Session, **params: str) -> requests.Response:
        return session.get(f"http://127.0.0.1:{self.ports[server]}{path}", params=params, headers={"Host": HOST},
                           allow_redirects=False, timeout=30)

    def workers(self, server: int) -> list[int]:
        """The process ids of the gunicorn workers of one app server (the master's children, from /proc)."""
        master = self.servers[server].pid
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                    children.append(int(entry.name))
        return children


def server_env(database_url: str, database: str, redis: Redis, settings_module: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SSO_", "REDIS_"))},
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": urlsplit(database_url)._replace(path=f"/{database}").geturl(),
        "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "multiprocess-test-" + "k" * 40,
        "SSO_ENCRYPTION_KEYS": ENCRYPTION_KEY,
        "DJANGO_HTTPS": "false",
        "SSO_ALLOW_INSECURE_ISSUERS": "true",
        "DJANGO_ALLOWED_HOSTS": HOST,
    }


@contextmanager
def running_cluster(
    database_url: str, database: str, *, tenants: Sequence[tuple[str, str]],
    settings_module: str = "inigo_sso.settings", workers: int = 1, env: dict[str, str] | None = None,
    stderr: Path | None = None,
) -> Iterator[Cluster]:
    """Two app servers (gunicorn, `workers` each) on a database of their own named `database` on the PostgreSQL
    server of `database_url`, sharing a Redis started for them, with `tenants` (slug, issuer) added. `env` is added
    to the servers' environment; their errors go to the file `stderr` when given."""
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {database}")
    redis = Redis(free_port())
    redis.start()
    cluster = Cluster((free_port(), free_port()), redis,
                      {**server_env(database_url, database, redis, settings_module), **(env or {})})
    log = open(stderr, "ab") if stderr else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    try:
        for slug, issuer in tenants:
            cluster.add_tenant(slug, issuer)
        cluster.servers = [
            subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
                 "--workers", str(workers), "inigo_sso.wsgi"],
                cwd=ROOT, env=cluster.env, stdout=subprocess.DEVNULL, stderr=log,
            )
            for port in cluster.ports
        ]
        for port in cluster.ports:
            wait_for(lambda p=port: requests.get(f"http://127.0.0.1:{p}/healthz/", headers={"Host": HOST},
                                                 timeout=2).status_code == 200, f"app server on {port}", 60)
        yield cluster
    finally:
        for process in cluster.servers:
            process.terminate()
        for process in cluster.servers:
            process.wait(15)
        redis.stop()
        if stderr:
            log.close()
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
