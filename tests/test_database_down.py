"""While PostgreSQL cannot be reached, every page answers 503 and says to try again in a minute, never a 500
(inigo_sso/database_down.py); a connection the server ended costs at most the one request that was using it.

The servers are gunicorn as production runs it (tests.e2e.server_settings), pointed at a closed port, at a port
that accepts connections and never answers (test_tarpit's Tarpit), and at a real PostgreSQL whose backend the test
terminates."""

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import psycopg
import pytest
import requests
from django.db.utils import DatabaseErrorWrapper, OperationalError
from django.test import Client

from accounts.session_store import SessionStore
from faults.cluster import free_port as _free_port
from faults.cluster import wait_for as _wait_for
from inigo_sso import database_down
from inigo_sso.failures import FAILURES
from tests.test_tarpit import Tarpit

ROOT = Path(__file__).resolve().parent.parent
DATABASE = f"inigo_database_down_test_{os.getpid()}"  # several runs on one server must not drop each other's
PASSWORD = "pw-never-logged-7Qx"  # in DATABASE_URL: it must reach no page and no log line
SESSION_COOKIE = {"sessionid": "a" * 32}  # a signed-in person's browser: every request reads the session
WORDS = FAILURES["database_unreachable"]


def driver_error(cause: Exception, driver: object = psycopg) -> Exception:
    """What Django raises for the driver's `cause`: its own class of the same name, chained (DatabaseErrorWrapper,
    as every cursor and connection call is wrapped)."""
    try:
        with DatabaseErrorWrapper(SimpleNamespace(Database=driver, errors_occurred=False)):
            raise cause
    except Exception as error:  # the wrapped error is what this returns
        return error
    raise AssertionError("the wrapper raised nothing")


# --- Which errors are "cannot reach" ---------------------------------------------------------------------------


@pytest.mark.parametrize(("cause", "unreachable"), [
    (psycopg.OperationalError("connection failed: Connection refused"), True),
    (psycopg.errors.ConnectionTimeout("connection timeout expired"), True),
    (psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly"), True),
    (psycopg.errors.AdminShutdown("terminating connection due to administrator command"), True),
    (psycopg.errors.CannotConnectNow("the database system is starting up"), True),
    (psycopg.errors.TooManyConnections("sorry, too many clients already"), True),
    (psycopg.errors.ConnectionFailure("connection failure"), True),
    (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"), False),
    (psycopg.errors.DeadlockDetected("deadlock detected"), False),
    (psycopg.errors.UndefinedTable('relation "x" does not exist'), False),
    (psycopg.InterfaceError("the cursor is closed"), False),
])
def test_it_counts_only_a_server_that_cannot_be_used_as_unreachable(cause, unreachable):
    assert database_down.database_unreachable(driver_error(cause)) is unreachable


def test_it_leaves_other_databases_and_other_errors_alone():
    assert not database_down.database_unreachable(driver_error(sqlite3.OperationalError("database is locked"),
                                                                 driver=sqlite3))
    assert not database_down.database_unreachable(OperationalError("raised by hand, from no driver"))
    assert not database_down.database_unreachable(ValueError("not a database error"))


# --- In process: the handler, with the session read failing -----------------------------------------------------


@pytest.fixture
def failing_session_reads(monkeypatch: pytest.MonkeyPatch) -> Callable[[Exception], list[str]]:
    """Every session read raises `error`; returns the log of session reads and writes that were tried."""
    tried: list[str] = []

    def arrange(error: Exception) -> list[str]:
        def load(self: SessionStore) -> dict:
            tried.append("load")
            raise error

        monkeypatch.setattr(SessionStore, "load", load)
        monkeypatch.setattr(SessionStore, "save", lambda self, must_create=False: tried.append("save"))
        return tried

    return arrange


def test_a_page_is_a_503_that_reads_the_session_once_and_writes_nothing(failing_session_reads, caplog):
    tried = failing_session_reads(driver_error(psycopg.OperationalError("connection failed")))
    client = Client(raise_request_exception=False)
    client.cookies.load(SESSION_COOKIE)

    response = client.get("/")

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    page = response.content.decode()
    assert WORDS.title in page and WORDS.action in page
    assert tried == ["load"]  # no second connection attempt on the way out, no session write
    unreachable = [record for record in caplog.records if record.name == "inigo.database"]
    assert [record.getMessage() for record in unreachable] == [
        "database unreachable (OperationalError, SQLSTATE none): answered 503"]
    assert not [record for record in caplog.records if record.name == "django.request"]  # no traceback line


def test_a_programming_error_stays_the_500_page(failing_session_reads):
    failing_session_reads(driver_error(psycopg.errors.UndefinedTable('relation "django_session" does not exist')))
    client = Client(raise_request_exception=False)
    client.cookies.load(SESSION_COOKIE)

    response = client.get("/")

    assert response.status_code == 500
    assert b"Something went wrong" in response.content


# --- gunicorn, as production runs it ----------------------------------------------------------------------------


def postgres_url() -> str:
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        pytest.skip("needs PostgreSQL (the app's engine, and a server to end connections of): "
                    "set DATABASE_URL=postgres://...")
    return database_url


def server_env(database_url: str, static_root: Path, settings: str = "tests.e2e.server_settings") -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SSO_", "REDIS_", "DATABASE_"))},
        "DJANGO_SETTINGS_MODULE": settings,
        "E2E_STATIC_ROOT": str(static_root),
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "database-down-test-" + "k" * 40, "DJANGO_HTTPS": "false",
        "SSO_ENCRYPTION_KEYS": "QNeEoRF8-ncL6zWBzuDdb8a4fBC2hvuVjXzXZW64ixM=", "SSO_ALLOW_INSECURE_ISSUERS": "true",
        "SSO_RATE_LIMIT": "off", "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    }


@pytest.fixture(scope="module")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pages' stylesheet, collected once (production settings serve it from a manifest); needs no database."""
    postgres_url()
    root = tmp_path_factory.mktemp("database-down") / "staticfiles"
    env = server_env(f"postgres://root@127.0.0.1:{_free_port()}/none", root)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=env,
                   check=True, timeout=120)
    return root


@contextmanager
def gunicorn(env: dict[str, str], log: Path, healthy: int, threads: int = 2) -> Iterator[str]:
    """One worker; its address once /healthz/ answers `healthy`."""
    port = _free_port()
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--threads", str(threads), "inigo_sso.wsgi"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_for(lambda: requests.get(f"{base}/healthz/", timeout=10).status_code == healthy, "app server")
            yield base
        finally:
            process.terminate()
            process.wait(15)


def log_events(log: Path, event: str) -> list[dict]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == event]


def assert_database_down_answer(response: requests.Response, shape: str) -> None:
    assert response.status_code == 503, (response.request.url, response.status_code, response.text[:300])
    assert response.headers["Retry-After"] == "60"
    assert PASSWORD not in response.text
    content_type = response.headers["Content-Type"]
    if shape == "page":
        assert content_type.startswith("text/html")
        assert WORDS.title in response.text and WORDS.action in response.text
    elif shape == "scim":  # RFC 7644 section 3.12
        assert content_type.startswith("application/scim+json")
        body = response.json()
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and body["status"] == "503"
        assert WORDS.action in body["detail"]
    elif shape == "health":
        assert response.json()["status"] == "down" and response.json()["database"] == "down"
    else:
        assert content_type.startswith("application/json")
        assert response.json()["error"] == "database_unreachable" and WORDS.action in response.json()["detail"]


# Each path a person, a script, Okta or the load balancer calls, and the shape of the answer it reads.
PATHS = [
    ("get", "/login/", "page"),
    ("get", "/", "page"),
    ("get", "/oidc/initiate/?iss=https://acme.okta.com", "page"),
    ("get", "/oidc/callback/acme/?code=x&state=y", "page"),
    ("get", "/api/me/", "json"),
    ("get", "/scim/v2/Users", "scim"),
    ("post", "/oidc/global-token-revocation/", "json"),
    ("get", "/setup/" + "t" * 43 + "/", "page"),
    ("get", "/healthz/", "health"),
    ("get", "/admin/", "page"),
]


@pytest.fixture(scope="module")
def refused_server(static_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The app with its database on a port where nothing listens: every connection attempt is refused."""
    database_url = f"postgres://root:{PASSWORD}@127.0.0.1:{_free_port()}/inigo"
    log = tmp_path_factory.mktemp("refused") / "gunicorn.log"
    with gunicorn(server_env(database_url, static_root), log, healthy=503) as base:
        yield base, log


def test_every_path_answers_503_in_its_callers_shape_while_the_database_refuses(refused_server):
    base, log = refused_server
    started = len(log_events(log, "database_unreachable"))
    for method, path, shape in PATHS:
        response = requests.request(method, f"{base}{path}", cookies=SESSION_COOKIE, allow_redirects=False,
                                    headers={"Authorization": "Bearer some-scim-token"}, timeout=10)
        assert_database_down_answer(response, shape)

    # One line per request, naming the error and no connection string; no traceback, no second attempt.
    _wait_for(lambda: len(log_events(log, "database_unreachable")) - started >= len(PATHS), "log lines", 5)
    time.sleep(0.2)
    assert len(log_events(log, "database_unreachable")) - started == len(PATHS)
    text = log.read_text()
    assert PASSWORD not in text and "Traceback" not in text and '"status": 500' not in text


def test_the_load_balancer_sees_503_from_healthz_without_a_session(refused_server):
    base, _log = refused_server

    response = requests.get(f"{base}/healthz/", timeout=10)

    assert_database_down_answer(response, "health")
    assert response.json()["cache"] == "ok"  # the view's own answer, naming each part (SPEC)


def test_a_database_that_never_answers_is_a_503_within_the_connect_timeout(static_root, tmp_path):
    postgres_url()
    tarpit = Tarpit()  # accepts the connection and never sends a byte: a host gone silent
    try:
        database_url = f"postgres://root:{PASSWORD}@127.0.0.1:{tarpit.listener.getsockname()[1]}/inigo"
        with gunicorn(server_env(database_url, static_root), tmp_path / "gunicorn.log", healthy=503) as base:
            began = time.monotonic()
            response = requests.get(f"{base}/", cookies=SESSION_COOKIE, timeout=30)
            waited = time.monotonic() - began
    finally:
        tarpit.close()

    assert_database_down_answer(response, "page")
    assert waited < 6, f"the page took {waited:.1f} s"  # connect_timeout 3 s (settings), not the kernel's minutes
    print(f"\na silent database host: the 503 page after {waited:.2f} s")


# --- A connection the server ends -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    admin_url = postgres_url()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    url = urlsplit(admin_url)._replace(path=f"/{DATABASE}").geturl()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "inigo_sso.settings", "DATABASE_URL": url,
           "DJANGO_DEBUG": "true"}
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True,
                   timeout=180)
    try:
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def terminate_app_connections(database_url: str) -> list[int]:
    """pg_terminate_backend on every connection to the app's database but this one, as a restart or an
    administrator would end them."""
    with psycopg.connect(database_url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        for (pid,) in rows:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    return [pid for (pid,) in rows]


@pytest.mark.parametrize(("settings", "first_answer"), [
    # Production: Django's SELECT 1 finds the ended connection before the request uses it; nobody notices.
    ("tests.e2e.server_settings", 401),
    # Without that check the request that meets the ended connection fails, with the 503, never a 500.
    ("tests.no_health_check_settings", 503),
])
def test_an_ended_connection_costs_at_most_the_request_that_used_it(database_url, static_root, tmp_path, settings,
                                                                     first_answer):
    env = server_env(database_url, static_root, settings)
    scim = {"Authorization": "Bearer not-a-token-of-any-tenant"}  # the token lookup is a statement; 401
    with gunicorn(env, tmp_path / "gunicorn.log", healthy=200, threads=1) as base:
        assert requests.get(f"{base}/scim/v2/Users", headers=scim, timeout=10).status_code == 401
        ended = terminate_app_connections(database_url)
        time.sleep(0.2)  # the server's goodbye reaches the app's socket
        answers = [requests.get(f"{base}/scim/v2/Users", headers=scim, timeout=10) for _ in range(3)]

    assert len(ended) == 1  # one worker, one thread: the connection the requests use
    assert [answer.status_code for answer in answers] == [first_answer, 401, 401]
    if first_answer == 503:
        assert_database_down_answer(answers[0], "scim")
