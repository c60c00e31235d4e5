"""What the support admin's browser tests look at, written into the test server's own database (run there with
`manage.py shell -c`): a staff account in the Support group, 30 days of sign-ins for the demo organisation, more
organisations for the tenants list, and stored connection checks."""

import random
from datetime import timedelta

from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.events import kind_of
from accounts.models import LoginEvent, Role, User
from devidp import demo
from tenants.models import ConnectionCheckResult, Tenant

STAFF_USERNAME = "sam.support"
STAFF_PASSWORD = "correct horse battery staple"  # a throwaway test server's staff account
OTHER_TENANTS = [
    ("Acme Incorporated", "acme"), ("Globex Corporation International Holdings", "globex"),
    ("Initech", "initech"), ("Umbrella Pharmaceuticals", "umbrella"), ("Stark Industries", "stark"),
    ("Wayne Enterprises", "wayne"), ("Hooli", "hooli"), ("Vandelay Industries (Import/Export)", "vandelay-industries"),
]
FAILURE_MIX = ["user_not_assigned"] * 5 + ["state_missing"] * 3 + ["id_token_expired", "client_rejected"]


def seed() -> None:
    rng = random.Random(15)  # the same picture on every run
    staff = User.objects.create_user(username=STAFF_USERNAME, password=STAFF_PASSWORD, is_staff=True,
                                     first_name="Sam", last_name="Support")
    staff.groups.add(Group.objects.get(name="Support"))

    demo_tenant = Tenant.objects.get(slug=demo.TENANT_SLUG)
    tenants = [demo_tenant]
    for number, (name, slug) in enumerate(OTHER_TENANTS):
        tenant = Tenant.objects.create(
            name=name, slug=slug, okta_domain=f"{slug}.okta.com", client_id=f"0oa{number}b2c3d4E5F6g7H8i9",
            client_secret="seeded", email_domains=f"{slug}.example",
        )
        User.objects.create(username=f"seed-{slug}", tenant=tenant, issuer=tenant.issuer, sub=f"00u{slug}",
                            email=f"owner@{slug}.example", name=f"Owner of {name}", role=Role.OWNER)
        tenants.append(tenant)

    # login_event_record stamps created_at now; these are history.
    LoginEvent._meta.get_field("created_at").auto_now_add = False
    now = timezone.now()
    events = []
    for tenant in tenants:
        busy = 60 if tenant == demo_tenant else rng.randint(3, 25)
        for days_ago in range(30):
            weekday = (now - timedelta(days=days_ago)).weekday()
            quiet = weekday >= 5
            for _ in range(rng.randint(busy // 3, busy) // (4 if quiet else 1)):
                events.append(_event(rng, tenant, now, days_ago, "ok"))
            failures = rng.choice([0, 0, 1, 2, 3]) + (6 if tenant == demo_tenant and days_ago in (2, 3) else 0)
            for _ in range(failures):
                events.append(_event(rng, tenant, now, days_ago, rng.choice(FAILURE_MIX)))
    LoginEvent.objects.bulk_create(events, batch_size=500)

    ConnectionCheckResult.objects.create(
        tenant=demo_tenant, ok=True, summary=f"Connection check for {demo_tenant}: no problems found.",
        findings=[{"ok": True, "message": "Okta publishes 1 RS256 signing key(s)."}],
    )
    ConnectionCheckResult.objects.create(
        tenant=tenants[2], ok=False, summary="Connection check for Globex: 1 problem found.",
        findings=[{"ok": False, "message": "Inigo cannot reach Okta at https://globex.okta.com."}],
    )


def _event(rng: random.Random, tenant: Tenant, now, days_ago: int, reason: str) -> LoginEvent:
    person = rng.choice(["ada", "grace", "alan", "katherine", "dorothy", "mary"])
    ok = reason == "ok"
    return LoginEvent(
        tenant=tenant, outcome="success" if ok else "failure", reason=reason, kind=kind_of(reason),
        email=f"{person}@{tenant.slug}.example" if ok or reason == "user_not_assigned" else "",
        subject=f"00u{person}{tenant.pk}",
        ip_address=f"203.0.113.{rng.randint(1, 254)}", user_agent="Mozilla/5.0",
        created_at=now - timedelta(days=days_ago, seconds=rng.randint(0, 20 * 3600)),
    )
