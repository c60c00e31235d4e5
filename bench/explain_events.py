"""EXPLAIN ANALYZE and warm timings of the customer console's events (activity.events.events_page) at 2,000,000 login
events, 200,000 of them one tenant's, across every kind: bench/seed.py's COPY seeds the events (as
bench/explain_support.py does: 10,000 tenants, 200,000 users, a busy tenant with 10%), then UPDATEs spread the
busy tenant's events over the kinds (a tenth sessions, a hundredth setup steps, a thousandth console changes) and
20,000 provisioning events are added for it, then ANALYZE.

Each figure is the selector's time in Django (no network, no template), warm: the median of 5 after one unmeasured
call, and the whole page's server time (`/org/events/` through Django's test client as the busy tenant's owner:
middleware, session, selector, template); the page's statements are captured and run again under EXPLAIN (ANALYZE,
BUFFERS).

    createdb explain_events
    DATABASE_URL=postgres://root@127.0.0.1:5432/explain_events DJANGO_DEBUG=true \\
        .venv/bin/python -m bench.explain_events > explain.txt
"""

import os
import statistics
import time

import django

from bench.explain_support import BUSY_SHARE, EVENTS, TENANTS, USERS

PROVISIONING_EVENTS = 20_000


def seed(connection) -> None:
    from bench.seed import seed as bulk_seed

    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_loginevent")
        if cursor.fetchone()[0] < EVENTS:
            bulk_seed(tenants=TENANTS, users=USERS, login_events=EVENTS, tenant_prefix="t", busy_share=BUSY_SHARE,
                      failure_share=0.1)
        cursor.execute("SELECT count(*) FROM scim_provisioningevent")
        if cursor.fetchone()[0]:
            return
        cursor.execute("SELECT min(id) FROM tenants_tenant")
        busy = cursor.fetchone()[0]
        # The busy tenant's ids step by 10 (bench.seed gives it every 10th event), so n = id / 10 spreads them.
        spread = {"console": ("(id / 10) %% 1000 = 11", "console_credentials_rotated", "success"),
                  "setup": ("(id / 10) %% 100 = 7", "setup_checks_failed", "failure"),
                  "session": ("(id / 10) %% 10 = 3", "session_revoked", "signed_out")}
        for kind, (when, reason, outcome) in spread.items():
            cursor.execute(f"UPDATE accounts_loginevent SET kind = '{kind}', reason = '{reason}', "  # noqa: S608
                           f"outcome = '{outcome}' WHERE tenant_id = %s AND kind = 'signin' AND {when}", [busy])
        cursor.execute(
            "INSERT INTO scim_provisioningevent (created_at, tenant_id, action, resource_id, user_id, detail, "
            "user_agent) SELECT now() - (n * interval '389 seconds'), %s, 'user_updated', '', NULL, '', "
            "'bench' FROM generate_series(1, %s) AS n", [busy, PROVISIONING_EVENTS])
        cursor.execute("VACUUM ANALYZE accounts_loginevent")
        cursor.execute("VACUUM ANALYZE scim_provisioningevent")
    print(f"-- seeded {TENANTS} tenants, {USERS} users, {EVENTS} login events and {PROVISIONING_EVENTS} provisioning "
          f"events in {time.monotonic() - started:.0f} s\n")


def warm_ms(call, runs: int = 5) -> float:
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inigo_sso.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from accounts.models import LoginEvent, Role, User
    from activity.events import EventFilter, events_page
    from bench.explain_support import server_ms
    from tenants.models import Tenant

    call_command("migrate", verbosity=0)
    seed(connection)
    busy = Tenant.objects.order_by("pk").first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT kind, count(*) FROM accounts_loginevent WHERE tenant_id = %s GROUP BY kind "
                       "ORDER BY kind", [busy.pk])
        print("-- the busy tenant's login events by kind:", dict(cursor.fetchall()), "\n")
    one = LoginEvent.objects.filter(tenant=busy, kind="signin").order_by("created_at").only("reference").first()
    deep = events_page(busy, EventFilter())
    for _ in range(20):  # 21 pages deep: keyset paging costs the same at any depth
        deep = events_page(busy, EventFilter(before=deep.next))
    cases = {
        "every kind, first page": {},
        "every kind, page 22 (keyset)": {"before": deep.next.token()},
        **{f"kind={kind}": {"kind": kind} for kind in ("signin", "session", "setup", "console", "provisioning")},
        "outcome=failure": {"outcome": "failure"},
        "kind=signin&outcome=failure": {"kind": "signin", "outcome": "failure"},
        "q=<reference, lower case> (the oldest sign-in)": {"q": one.reference.lower()},
        "q=<an email>": {"q": "USER0@T-00000.TEST"},
        "q=<a sub>": {"q": "00useed0000000"},
    }
    setup_test_environment()
    owner = User.objects.filter(tenant=busy, is_owner=True).first()
    if owner is None:
        owner = User.objects.filter(tenant=busy).order_by("pk").first()
        User.objects.filter(pk=owner.pk).update(role=Role.OWNER)
    client = Client()
    client.force_login(owner, backend="accounts.oidc.backend.TenantOIDCBackend")
    for title, query in cases.items():
        wanted = EventFilter.from_query(query)
        with CaptureQueriesContext(connection) as captured:
            shown = len(events_page(busy, wanted).lines)
        ms = warm_ms(lambda wanted=wanted: events_page(busy, wanted))
        page_ms, page_statements = server_ms(client, "/org/events/", query)
        print(f"-- {title}: {shown} events, {len(captured)} statements, {ms:.1f} ms warm (median of 5); the page "
              f"/org/events/: {page_ms:.1f} ms server time warm, {page_statements} statements")
        for query_run in captured.captured_queries:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query_run["sql"])
                print(query_run["sql"])
                print("\n".join(row[0] for row in cursor.fetchall()))
        print()


if __name__ == "__main__":
    main()
