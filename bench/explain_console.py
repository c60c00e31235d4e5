"""EXPLAIN ANALYZE of the console's people page (/org/people/) at 200,000 people in one tenant, with 400,000 sign-ins
(two each, for the "last sign-in" column), seeded by bench/seed.py on the PostgreSQL named by DATABASE_URL (an
empty database of its own: this creates the schema and fills it). Each page is timed warm, as
bench/explain_support.py does: server time (Django's test client, no network), the median of 5 after one
unmeasured request. Exits non-zero when a page takes 300 ms or more (issue 26's target).

    createdb explain_console
    DATABASE_URL=postgres://root@127.0.0.1:5432/explain_console DJANGO_DEBUG=true \\
        .venv/bin/python -m bench.explain_console > explain.txt
"""

import os
import time

import django

PEOPLE = 200_000
SIGN_INS = 2 * PEOPLE
TARGET_MS = 300
# What an admin types and picks: a rare match, a substring of an email, a name that matches everyone, two letters
# (too short for a trigram), nothing at all, and filters that match nobody (they must scan to prove it).
PAGES = {
    "everyone, first page": {},
    "q: part of an email (rare)": {"q": "ser123456@"},
    "q: a number inside many emails": {"q": "1234"},
    "q: a word every name holds": {"q": "USER"},
    "q: two letters (no trigram)": {"q": "r9"},
    "q: two letters matching nobody": {"q": "zq"},
    "q: matches nobody": {"q": "grace.hopper"},
    "role=admin (nobody)": {"role": "admin"},
    "status=inactive (nobody)": {"status": "inactive"},
    "q and role": {"q": "user19", "role": "member"},
    "page 20 (the last one counted)": {"page": "20"},
    "page 200 (the last one shown)": {"page": "200"},
}


def seed(connection) -> None:
    from bench.seed import seed as bulk_seed

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_user")
        if cursor.fetchone()[0] >= PEOPLE:
            return
    started = time.monotonic()
    bulk_seed(tenants=1, users=PEOPLE, login_events=SIGN_INS, tenant_prefix="big")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE accounts_user")
        cursor.execute("VACUUM ANALYZE accounts_loginevent")
    print(f"-- seeded {PEOPLE} people of one tenant and {SIGN_INS} sign-ins in {time.monotonic() - started:.0f} s\n")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inigo_sso.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from accounts.models import User
    from bench.explain_support import server_ms

    call_command("migrate", verbosity=0)
    seed(connection)
    setup_test_environment()
    owner = User.objects.get(is_owner=True)
    client = Client()
    client.force_login(owner, backend="accounts.oidc.backend.TenantOIDCBackend")
    slow = []
    for title, params in PAGES.items():
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/org/people/", params)
        if response.status_code != 200:
            raise SystemExit(f"/org/people/ {params} answered {response.status_code}")
        warm, statements = server_ms(client, "/org/people/", params)
        shown = len(response.context["page"].people)
        print(f"-- page {title}: /org/people/ {params}: {shown} people shown, {statements} statements, "
              f"{warm:.1f} ms warm (server time, median of 5)\n")
        if warm >= TARGET_MS:
            slow.append(title)
        for query in captured.captured_queries:
            sql = query["sql"]
            if "accounts_user" in sql and sql.startswith("SELECT") and ("ORDER BY" in sql or "COUNT" in sql):
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                    plan = "\n".join(row[0] for row in cursor.fetchall())
                print(f"{sql}\n{plan}\n")
    if slow:
        raise SystemExit(f"{TARGET_MS} ms or more: {slow}")


if __name__ == "__main__":
    main()
