"""The health check of a persistent database connection (inigo_sso/postgresql/base.py): no round trip on a healthy
connection, and a connection the server closed is replaced before a request uses it, never a 500."""

import time

import psycopg
import pytest
from django.db import connection
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)  # the connection under test is the one requests use


@pytest.fixture
def on_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL (its backend); this run uses {connection.vendor}. Set DATABASE_URL=postgres://...")


def server_side(sql: str, *params: object) -> object:
    """One statement on a connection of its own, as an administrator would run it."""
    settings = connection.settings_dict
    with psycopg.connect(dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"],
                         port=settings["PORT"] or 5432, autocommit=True) as admin:
        return admin.execute(sql, params).fetchone()


def last_statement_of(pid: int) -> str:
    return str(server_side("SELECT query FROM pg_stat_activity WHERE pid = %s", pid)[0])  # type: ignore[index]


def test_a_healthy_connection_is_checked_without_a_statement(on_postgres):
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with connection.connection.cursor() as cursor:
        cursor.execute("SELECT 'before the check'")

    assert connection.is_usable()
    assert last_statement_of(pid) == "SELECT 'before the check'"


def test_a_connection_the_server_ended_is_unusable_and_replaced(client: Client, on_postgres):
    connection.ensure_connection()
    ended = connection.connection.info.backend_pid
    server_side("SELECT pg_terminate_backend(%s)", ended)
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:  # the server's FATAL message is on its way
        time.sleep(0.01)

    assert not connection.is_usable()
    connection.health_check_done = False  # as at the start of a request (request_started)
    response = client.get("/healthz/")  # its first statement runs on the checked connection

    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert connection.connection.info.backend_pid != ended


def test_a_connection_inside_a_failed_transaction_is_unusable(on_postgres):
    connection.ensure_connection()
    raw = connection.connection
    raw.autocommit = False
    with pytest.raises(psycopg.errors.DivisionByZero):
        raw.execute("SELECT 1 / 0")

    assert not connection.is_usable()
    raw.rollback()
    raw.autocommit = True
    assert connection.is_usable()
