"""EXPLAIN ANALYZE of the support admin's queries at a realistic size: 10,000 tenants, 200,000 users and 2,000,000
login events (one busy tenant with 10% of them; EXPLAIN_EVENTS sets another count), seeded by bench/seed.py, on the
PostgreSQL named by DATABASE_URL (an empty database of its own: this creates the schema and fills it). Each page is
timed warm too: server time (Django's test client, no network), the median of 5 after one unmeasured request.

The SQL is what the admin pages really send: each page is requested through Django's test client and its
statements are captured, then each is run again under EXPLAIN (ANALYZE, BUFFERS).

    createdb explain_support
    DATABASE_URL=postgres://root@127.0.0.1:5432/explain_support DJANGO_DEBUG=true \\
        .venv/bin/python -m bench.explain_support > explain.txt
"""

import os
import statistics
import time

import django

TENANTS = 10_000
USERS = 200_000
EVENTS = int(os.environ.get("EXPLAIN_EVENTS", "2000000"))
BUSY_SHARE = 0.1  # tenant 1 ("acme") has this share of the events


def seed(connection) -> None:
    """With bench/seed.py, the one bulk seeder (COPY): the busy tenant is its first."""
    from bench.seed import seed as bulk_seed

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_loginevent")
        if cursor.fetchone()[0] >= EVENTS:
            return
    started = time.monotonic()
    bulk_seed(tenants=TENANTS, users=USERS, login_events=EVENTS, tenant_prefix="t", busy_share=BUSY_SHARE,
              failure_share=0.1)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE accounts_loginevent")
    print(f"-- seeded {TENANTS} tenants, {USERS} users and {EVENTS} events in {time.monotonic() - started:.0f} s\n")


def server_ms(client, path: str, params: dict, runs: int = 5) -> tuple[float, int]:
    """The page's time inside Django (the test client: no network), warm: one unmeasured request fills the caches
    (PostgreSQL's buffers, Django's), then the median of `runs`. Returns (ms, statements)."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    client.get(path, params)
    times = []
    for _ in range(runs):
        reset_queries()  # the request_started signal empties the log: a capture must start from an empty one
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path, params)
            times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
    return statistics.median(times), len(captured)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inigo_sso.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from accounts.models import LoginEvent, User
    from activity.health import tenant_health
    from tenants.models import Tenant

    call_command("migrate", verbosity=0)
    seed(connection)
    setup_test_environment()
    staff = User.objects.filter(username="explain").first() or User.objects.create_superuser("explain")
    client = Client()
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    acme = Tenant.objects.order_by("pk").first()  # the busy one (BUSY_SHARE of the events)
    typical = Tenant.objects.order_by("pk")[1]  # EVENTS / TENANTS of them
    one = LoginEvent.objects.filter(tenant=acme).order_by("-created_at").only("reference", "email", "subject").first()

    def explain(title: str, sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        print(f"-- {title}\n{sql}\n{plan}\n")

    with CaptureQueriesContext(connection) as captured:
        tenant_health(tenant=acme)
    for number, query in enumerate(captured.captured_queries, 1):
        explain(f"health panel of the busy tenant, query {number} of {len(captured)}", query["sql"])

    pages = {
        "tenants list": ("/admin/tenants/tenant/", {}),
        "events: search by reference": ("/admin/accounts/loginevent/", {"q": one.reference.lower()}),
        "events: search by email": ("/admin/accounts/loginevent/", {"q": one.email.upper()}),
        "events: search by subject": ("/admin/accounts/loginevent/", {"q": one.subject}),
        "events: search by IP": ("/admin/accounts/loginevent/", {"q": "10.7.3.2"}),
        "events: one typical tenant's": ("/admin/accounts/loginevent/", {"tenant__id__exact": typical.pk}),
        "events: the busy tenant's": ("/admin/accounts/loginevent/", {"tenant__id__exact": acme.pk}),
        "events: filtered by reason": ("/admin/accounts/loginevent/", {"reason": "client_rejected"}),
        "events: busy tenant's failures": ("/admin/accounts/loginevent/",
                                           {"tenant__id__exact": acme.pk, "outcome__exact": "failure"}),
    }
    for title, (path, params) in pages.items():
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            started = time.monotonic()
            response = client.get(path, params)
            elapsed = time.monotonic() - started
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        warm, statements = server_ms(client, path, params)
        print(f"-- page {title}: {path} {params}: {statements} statements, {elapsed * 1000:.0f} ms cold, "
              f"{warm:.0f} ms warm (server time, median of 5)\n")
        for query in captured.captured_queries:
            sql = query["sql"]
            if ("accounts_loginevent" in sql or "tenants_tenant" in sql) and sql.startswith("SELECT"):
                explain(f"{title} ({float(query['time']) * 1000:.1f} ms when the page ran it)", sql)


if __name__ == "__main__":
    main()
