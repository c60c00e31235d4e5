"""EXPLAIN ANALYZE of the support admin's queries at a realistic size: 10,000 tenants and 2,000,000 login events
(one busy tenant with 10% of them), on the PostgreSQL named by DATABASE_URL (an empty database of its own: this
creates the schema and fills it).

The SQL is what the admin pages really send: each page is requested through Django's test client and its
statements are captured, then each is run again under EXPLAIN (ANALYZE, BUFFERS).

    createdb explain_support
    DATABASE_URL=postgres://root@127.0.0.1:5432/explain_support DJANGO_DEBUG=true \\
        .venv/bin/python -m bench.explain_support > explain.txt
"""

import os
import time

import django

TENANTS = 10_000
EVENTS = 2_000_000
BUSY_SHARE = 0.1  # tenant 1 ("acme") has this share of the events


def seed(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_loginevent")
        if cursor.fetchone()[0] >= EVENTS:
            return
        started = time.monotonic()
        cursor.execute(
            """
            INSERT INTO tenants_tenant (name, slug, okta_domain, issuer, client_id, client_secret, is_active,
                                        email_domains, post_logout_redirect_uri, created_at, updated_at)
            SELECT CASE WHEN i = 1 THEN 'Acme' ELSE 'Tenant ' || i END, CASE WHEN i = 1 THEN 'acme' ELSE 't' || i END,
                   't' || i || '.okta.com', 'https://t' || i || '.okta.com', '0oa' || i, '', true, '', '', now(), now()
            FROM generate_series(1, %s) AS i
            """,
            [TENANTS],
        )
        cursor.execute("SELECT min(id) FROM tenants_tenant")
        first = cursor.fetchone()[0]
        # 90 days of events; 10% failures among ten reasons; one busy tenant.
        cursor.execute(
            """
            INSERT INTO accounts_loginevent (created_at, tenant_id, outcome, reason, email, subject, detail, ip_address,
                                             user_agent, reference)
            SELECT now() - (random() * interval '90 days'),
                   CASE WHEN random() < %s THEN %s ELSE %s + 1 + floor(random() * (%s - 1))::int END,
                   CASE WHEN r < 0.9 THEN 'success' ELSE 'failure' END,
                   CASE WHEN r < 0.9 THEN 'ok' ELSE (ARRAY['user_not_assigned', 'state_missing', 'state_expired',
                        'access_denied', 'id_token_expired', 'client_rejected', 'provider_unreachable',
                        'token_rejected', 'tenant_inactive', 'email_domain_unknown'])[1 + floor(random() * 10)::int]
                   END,
                   'user' || (i %% 50000) || '@t' || (i %% 997) || '.example', '00u' || (i %% 50000), '',
                   ('10.' || (i %% 250) || '.' || (i / 250 %% 250) || '.' || (i %% 7 + 1))::inet, 'Mozilla/5.0',
                   translate(lpad(to_hex(i), 10, 'z'), '0123456789abcdefz', 'WX23456789ABCDEFZ')
            FROM (SELECT i, random() AS r FROM generate_series(1, %s) AS i) AS numbers
            """,
            [BUSY_SHARE, first, first, TENANTS, EVENTS],
        )
        cursor.execute("VACUUM ANALYZE accounts_loginevent")
        cursor.execute("ANALYZE tenants_tenant")
        print(f"-- seeded {TENANTS} tenants and {EVENTS} events in {time.monotonic() - started:.0f} s\n")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inigo_sso.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from accounts.models import LoginEvent, User
    from support.health import tenant_health
    from tenants.models import Tenant

    call_command("migrate", verbosity=0)
    seed(connection)
    setup_test_environment()
    staff = User.objects.filter(username="explain").first() or User.objects.create_superuser("explain")
    client = Client()
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    acme = Tenant.objects.get(slug="acme")
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
        "events: filtered by reason": ("/admin/accounts/loginevent/", {"reason": "client_rejected"}),
        "events: busy tenant's failures": ("/admin/accounts/loginevent/",
                                           {"tenant__id__exact": acme.pk, "outcome__exact": "failure"}),
    }
    for title, (path, params) in pages.items():
        with CaptureQueriesContext(connection) as captured:
            started = time.monotonic()
            response = client.get(path, params)
            elapsed = time.monotonic() - started
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        print(f"-- page {title}: {path} {params}: {len(captured)} statements, {elapsed * 1000:.0f} ms in all\n")
        for query in captured.captured_queries:
            sql = query["sql"]
            if ("accounts_loginevent" in sql or "tenants_tenant" in sql) and sql.startswith("SELECT"):
                explain(f"{title} ({float(query['time']) * 1000:.1f} ms when the page ran it)", sql)


if __name__ == "__main__":
    main()
