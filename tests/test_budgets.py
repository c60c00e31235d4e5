"""What one login may cost, as counts that hold on any machine (the times are `make bench`'s, docs/benchmarks.md):
one outbound request once the provider's documents are cached, a fixed number of SQL statements in the callback,
and a tenant lookup by issuer that an index answers, whether there is one tenant or ten thousand.

SQL is counted as the statements that reach the database in production: pytest-django runs each test inside a
transaction, so every transaction.atomic() of the app becomes a SAVEPOINT / RELEASE SAVEPOINT pair here that a
production request (autocommit, where it is a BEGIN / COMMIT) does not send as a statement; those are left out, as
`make bench` leaves them out. A budget is what the callback ran when it was set: a test that fails means a change
added queries to every login; raise the budget only on purpose.
"""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import LoginEvent, User
from tenants.models import Tenant
from tests.conftest import Browser, profile
from tests.oidc_provider import ProviderHarness
from tests.test_provider_requests import outbound

# Callback of a returning login: the session read, the tenant of the state entry, the session saved while the
# token request is on its way (the state entry is single use), the user read, then the sign-in's transaction: the
# session row read again and deleted in one statement (a new key at sign-in; accounts/session_store.py), the login
# event and the new session row inserted; no last_login UPDATE (it marks a person's first sign-in only, written by
# that sign-in's own INSERT; the last one is read from the login events, accounts/signins.py). A first login adds
# the tenant row lock, a second read of the user, the owner check and the insert; a changed profile adds one UPDATE.
CALLBACK_QUERIES_FIRST_LOGIN = 11
CALLBACK_QUERIES_RETURNING_LOGIN = 7
CALLBACK_QUERIES_RETURNING_LOGIN_PROFILE_CHANGED = 8
TENANTS_AT_SCALE = 10_000

_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT", "ROLLBACK")


def statements(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries if not query["sql"].startswith(_TRANSACTION_CONTROL)]


def callback_statements(browser: Browser, provider: ProviderHarness, sub: str, claims: dict[str, Any]) -> list[str]:
    """One login as `sub` from the Okta tile, with the SQL of its callback request alone."""
    provider.set_user(sub, claims)  # also zeroes the provider's counters
    started = browser.start("/oidc/initiate/", {"iss": provider.issuer})
    assert started.status_code == 302
    callback_url = provider.authorize(started["Location"], sub)
    with CaptureQueriesContext(connection) as queries:
        response = browser.client.get(callback_url)
    ran = statements(queries)  # now: the next request's request_started signal empties the query log
    assert response.status_code == 302, response.content[:300]
    assert browser.me().json()["email"] == claims["email"]
    return ran


@pytest.fixture
def warm(client: Client, browser: Browser, provider: ProviderHarness, acme: Tenant) -> Browser:
    """The provider's discovery document and keys are in the cache, as they are after the first login anywhere."""
    browser.login(provider, "warm-up")
    client.logout()
    return browser


def test_a_warm_login_makes_one_outbound_request_for_new_and_returning_people(client, warm: Browser, provider):
    # As tests/test_provider_requests.py::test_a_warm_login_makes_exactly_one_outbound_request counts them (the
    # provider's own counters), for each kind of login `make bench` runs: a first login and a returning one.
    callback_statements(warm, provider, "alice", profile("alice"))  # a new person: created
    assert outbound(provider) == {"/oauth2/token": 1}
    client.logout()

    callback_statements(warm, provider, "alice", profile("alice"))  # the same person again: found
    assert outbound(provider) == {"/oauth2/token": 1}


def test_the_callback_of_a_first_login_stays_within_its_query_budget(warm: Browser, provider):
    assert len(callback_statements(warm, provider, "alice", profile("alice"))) <= CALLBACK_QUERIES_FIRST_LOGIN


@pytest.mark.parametrize(("claims", "budget"), [
    (profile("alice"), CALLBACK_QUERIES_RETURNING_LOGIN),
    (profile("alice", name="Alice Renamed"), CALLBACK_QUERIES_RETURNING_LOGIN_PROFILE_CHANGED),
], ids=["profile-unchanged", "profile-changed"])
def test_the_callback_of_a_returning_login_stays_within_its_query_budget(client, warm: Browser, provider, claims,
                                                                         budget):
    callback_statements(warm, provider, "alice", profile("alice"))
    client.logout()

    assert len(callback_statements(warm, provider, "alice", claims)) <= budget


def bulk_create_decoys(count: int) -> None:
    """`count` more active tenants, each with an issuer of its own. bulk_create skips Tenant.save(), which derives
    `issuer` from `okta_domain`, so it is set here."""
    Tenant.objects.bulk_create(
        [
            Tenant(name=f"Decoy {i:05d}", slug=f"decoy-{i:05d}", okta_domain=f"decoy-{i:05d}.okta.com",
                   issuer=f"https://decoy-{i:05d}.okta.com", client_id=f"0oadecoy{i:05d}")
            for i in range(count)
        ],
        batch_size=2_000,
    )


def initiate_statements(client: Client, provider: ProviderHarness) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/oidc/initiate/", {"iss": provider.issuer})
    assert response.status_code == 302
    return statements(queries)


def test_an_initiate_runs_the_same_queries_among_ten_thousand_tenants(client, provider, acme):
    initiate_statements(client, provider)  # the discovery document is cached from here on
    alone = initiate_statements(client, provider)

    bulk_create_decoys(TENANTS_AT_SCALE - 1)
    crowded = initiate_statements(client, provider)

    assert Tenant.objects.count() == TENANTS_AT_SCALE
    assert len(crowded) == len(alone)
    assert any('"tenants_tenant"."issuer" =' in sql for sql in crowded)


def test_the_issuer_lookup_uses_an_index_on_postgresql(db):
    if connection.vendor != "postgresql":
        pytest.skip(f"EXPLAIN of the issuer lookup is checked on PostgreSQL; this run uses {connection.vendor}. "
                    "Set DATABASE_URL=postgres://...")
    bulk_create_decoys(TENANTS_AT_SCALE)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tenants_tenant")  # the statistics a table of that size has had time to gather
        constraints = connection.introspection.get_constraints(cursor, Tenant._meta.db_table)
    issuer_indexes = {name for name, c in constraints.items() if c["index"] and c["columns"][:1] == ["issuer"]}

    plan = Tenant.objects.filter(issuer="https://decoy-05000.okta.com", is_active=True).explain()

    assert issuer_indexes
    assert "Seq Scan" not in plan, plan
    assert any(name in plan for name in issuer_indexes), plan


def test_a_signed_in_request_reads_the_user_and_tenant_in_one_query(client, warm: Browser, provider,
                                                                     django_assert_num_queries):
    warm.login(provider, "alice")

    with django_assert_num_queries(2):  # the session, then the user joined with the tenant
        assert client.get("/api/me/").json()["tenant"] == "acme"


@pytest.mark.django_db(transaction=True)
def test_a_returning_login_commits_twice_in_its_callback(postgres, client, provider, acme):
    """Each write transaction is one WAL flush a login waits for. The callback commits the state entry's removal
    before the token exchange (a state is single use, RFC 6749 10.12) and then the sign-in in one
    transaction: the old session row out, the new one in, its login event. Seen as the messages sent, in
    autocommit as in production, and as the transaction id the new rows carry."""
    browser = Browser(client)
    browser.login(provider, "alice")  # a first login; discovery and keys cached
    client.logout()
    provider.set_user("alice", profile("alice"))
    callback_url = provider.authorize(browser.start("/oidc/initiate/", {"iss": provider.issuer})["Location"], "alice")

    messages: list[list[str]] = []
    raw_sql: list[str] = []

    def record(execute, sql, params, many, context):
        messages.append([statement.split()[0] for statement in sql.split("; ")])
        raw_sql.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        response = client.get(callback_url)

    assert response.status_code == 302
    assert browser.me().json()["email"] == "alice@acme.test"
    # The new session row and its login event were written by one transaction (the id PostgreSQL gave it).
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmin::text FROM django_session WHERE session_key = %s", [session_key])
        (session_xmin,) = cursor.fetchone()
        cursor.execute("SELECT xmin::text FROM accounts_loginevent WHERE user_id = %s AND reason = 'ok' "
                       "ORDER BY id DESC LIMIT 1", [User.objects.get(sub="alice").pk])
        (event_xmin,) = cursor.fetchone()
    assert session_xmin == event_xmin
    # The state removal is one message, its UPDATE the message's own transaction: no BEGIN and COMMIT round trips
    # around it, and committed asynchronously (SET LOCAL synchronous_commit: SessionStore.removal_commits_
    # asynchronously). The sign-in's DELETE and two INSERTs share one transaction, in two messages
    # (accounts.hot_path.SignIn), whose COMMIT waits for the disk, the removal's WAL included.
    writes = [words for words in messages if {"UPDATE", "INSERT", "DELETE"} & set(words)]
    assert writes == [["SET", "UPDATE"], ["BEGIN", "DELETE"], ["INSERT", "INSERT", "COMMIT"]]
    assert sum("synchronous_commit" in sql for sql in raw_sql) == 1
    assert "synchronous_commit TO off; UPDATE" in next(sql for sql in raw_sql if "UPDATE" in sql)
    assert LoginEvent.objects.filter(user__sub="alice", reason="ok").count() == 2


def test_a_warm_callback_reads_the_shared_cache_once(client, warm: Browser, provider, monkeypatch):
    """The provider's metadata, its failure mark and its keys come from the shared cache (Redis in production) in
    one round trip per callback: the view's iss check and the token's signature check share it."""
    from okta import provider as okta_provider

    provider.set_user("alice", profile("alice"))
    callback_url = provider.authorize(warm.start("/oidc/initiate/", {"iss": provider.issuer})["Location"], "alice")
    shared = okta_provider.cache
    reads: list[str] = []

    class CountingCache:
        def __getattr__(self, name: str) -> Any:
            if name in ("get", "get_many", "has_key"):
                reads.append(name)
            return getattr(shared, name)

    monkeypatch.setattr(okta_provider, "cache", CountingCache())
    response = client.get(callback_url)

    assert response.status_code == 302
    assert reads == ["get_many"]


@contextmanager
def postgres_round_trips() -> Iterator[list[str]]:
    """The round trips the default connection makes to PostgreSQL inside the block, from libpq's own protocol
    trace (PQtrace): each time the client, after sending, waits for what the server sends back. Listed by the
    first message sent in each (Query, Parse...), with the statement's first word where the trace shows it."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        trips: list[str] = []
        try:
            yield trips
        finally:
            pgconn.untrace()
        trace.seek(0)
        sending = False
        for line in trace:
            direction, _length, message, *rest = [*line.rstrip("\n").split("\t"), ""]
            words = " ".join(rest).split()
            if direction == "F" and not sending:
                sending = True
                statement = next((w.strip('";').upper() for w in words if w.strip('";').isalpha()), "")
                trips.append(f"{message} {statement}".strip())
            elif direction == "B":
                sending = False


@pytest.mark.django_db(transaction=True)
def test_a_returning_callback_makes_five_round_trips_to_postgresql(postgres, client, provider, acme):
    """Each round trip to PostgreSQL is on the person's wait: in production the database is a network hop away,
    and at c=1 its backend has slept through the token exchange. The statements of the query budget above, sent
    as few messages as their order allows (accounts.hot_path): the session with the tenant the URL names, the state
    entry's removal as its message's own transaction (no BEGIN and COMMIT round trips), the person, and the
    sign-in's transaction in two. (Django's CONN_HEALTH_CHECKS adds one SELECT 1 per request on a kept connection
    in production; the test client's request does not.)"""
    browser = Browser(client)
    browser.login(provider, "alice")
    client.logout()
    provider.set_user("alice", profile("alice"))
    callback_url = provider.authorize(browser.start("/oidc/initiate/", {"iss": provider.issuer})["Location"], "alice")

    with postgres_round_trips() as trips:
        response = client.get(callback_url)

    assert response.status_code == 302
    assert browser.me().json()["email"] == "alice@acme.test"
    assert trips == [
        "Query SELECT",  # the session, with its state entry; and the tenant of the callback's URL
        "Query SET",  # the state entry's removal (SET LOCAL synchronous_commit; UPDATE), before the token request
        "Query SELECT",  # the person
        "Query BEGIN",  # the sign-in: BEGIN with the old row read and deleted,
        "Query INSERT",  # then the login event, the new row and COMMIT
    ]
