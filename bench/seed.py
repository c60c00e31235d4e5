"""The one bulk seeder, for `make bench` and for the tests that measure plans at scale: tenants, their users and
login events, written with PostgreSQL's COPY (hundreds of thousands of rows a second), then ANALYZE, so the planner
has the statistics a long-lived table has. Nothing here runs inside a timed part.

Each table's rows start from one model instance with every default filled in, so a column added to a model later is
seeded with its default without a change here; only the varying columns are set per row. Tenant.save() derives
`issuer`; COPY bypasses it, so the decoys' issuers are set here.

    python -m bench.seed --provider http://127.0.0.1:8123 --tenants 10000 [--users 200000] [--login-events 2000000]

(run with DJANGO_SETTINGS_MODULE=bench.settings, after `migrate`: the real tenant, whose Okta domain is the local
provider, and `--tenants - 1` decoys, each with an issuer of its own.)
"""

import argparse
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Any

import django


def _copy(model: Any, template: Any, first_id: int, rows: Iterable[dict[str, Any]]) -> int:
    """COPY rows into the model's table: each row is the template's column values with `rows`' changes (by
    attribute name); ids from first_id on. Returns the number of rows."""
    from django.db import connection

    fields = [field for field in model._meta.concrete_fields if not field.generated]  # is_owner: PostgreSQL's own
    columns = [field.column for field in fields]
    base = {field.attname: field.get_db_prep_save(getattr(template, field.attname), connection) for field in fields}
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
        for number, changes in enumerate(rows):
            values = {**base, "id": first_id + number, **changes}
            copy.write_row([values[field.attname] for field in fields])
            count += 1
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{model._meta.db_table}', 'id'), "  # noqa: S608
                       f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")
    return count


def _reference(number: int) -> str:
    """A distinct support reference per seeded event (loginevent_reference_unique), from the references' alphabet:
    the number in base 29, drawn at random by new_reference() elsewhere."""
    from inigo_sso.references import ALPHABET, EVENT_REFERENCE_LENGTH

    letters = []
    for _ in range(EVENT_REFERENCE_LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        letters.append(ALPHABET[digit])
    return "".join(letters)


def _next_id(model: Any) -> int:
    from django.db.models import Max

    return (model.objects.aggregate(top=Max("id"))["top"] or 0) + 1


FAILURE_REASONS = ("user_not_assigned", "state_missing", "state_expired", "access_denied", "id_token_expired",
                   "client_rejected", "provider_unreachable", "token_rejected", "tenant_inactive",
                   "email_domain_unknown")


def seed(*, tenants: int, users: int = 0, login_events: int = 0, tenant_prefix: str = "decoy",
         busy_share: float = 0.0, failure_share: float = 0.0,
         progress: Callable[[str], None] = lambda _line: None) -> list[int]:
    """`tenants` decoy tenants, `users` users spread over them round-robin (the first of each tenant its owner,
    each with a SCIM userName), `login_events` sign-ins spread over those users and the last 90 days: successes,
    but for `failure_share` of them failures among ten reasons; `busy_share` of them go to the first tenant (a busy
    customer), the rest spread evenly. Returns the tenant ids. Needs PostgreSQL."""
    from django.db import DatabaseError, connection, transaction
    from django.utils import timezone

    from accounts.models import LoginEvent, Role, User
    from tenants.models import Tenant

    if connection.vendor != "postgresql":
        raise RuntimeError("bench.seed uses PostgreSQL's COPY; DATABASE_URL must name a PostgreSQL database")
    now = timezone.now()
    first_tenant = _next_id(Tenant)
    tenant_template = Tenant(name="", slug="", okta_domain="", issuer="", client_id="",
                             client_secret="decoy-secret", created_at=now, updated_at=now)  # noqa: S106 (a decoy)

    def tenant_rows() -> Iterator[dict[str, Any]]:
        for i in range(tenants):
            name = f"{tenant_prefix}-{i:05d}"
            yield {"name": f"{tenant_prefix.capitalize()} {i:05d}", "slug": name, "okta_domain": f"{name}.okta.com",
                   "issuer": f"https://{name}.okta.com", "client_id": f"0oa{tenant_prefix}{i:05d}",
                   "email_domains": f"{name}.test"}

    _copy(Tenant, tenant_template, first_tenant, tenant_rows())
    tenant_ids = list(range(first_tenant, first_tenant + tenants))
    progress(f"{tenants} tenants")
    if users and tenants:
        first_user = _next_id(User)
        # "!" is what set_unusable_password() stores the prefix of: nobody signs in with a password.
        user_template = User(username="", password="!", tenant_id=first_tenant, role=Role.MEMBER,  # noqa: S106
                             date_joined=now, last_login=now, updated_at=now, scim_id="")

        def user_rows() -> Iterator[dict[str, Any]]:
            for i in range(users):
                t = i % tenants
                domain = f"{tenant_prefix}-{t:05d}"
                yield {"tenant_id": first_tenant + t, "username": f"seed-{first_user + i}",
                       "issuer": f"https://{domain}.okta.com", "sub": f"00useed{i:07d}",
                       "email": f"user{i}@{domain}.test", "scim_user_name": f"user{i}@{domain}.test",
                       "name": f"User {i}", "first_name": "User", "last_name": str(i),
                       "role": Role.OWNER if i < tenants else Role.MEMBER, "scim_id": str(uuid.uuid4())}

        _copy(User, user_template, first_user, user_rows())
        progress(f"{users} users")
        if login_events:
            event_template = LoginEvent(kind="signin", outcome=LoginEvent.Outcome.SUCCESS, reason="ok", created_at=now,
                                        ip_address="127.0.0.1", user_agent="bench.seed")
            span = int(timedelta(days=90).total_seconds())

            busy_every = round(1 / busy_share) if busy_share else 0
            failure_every = round(1 / failure_share) if failure_share else 0
            first_tenants_users = max(1, users // tenants)

            def event_rows() -> Iterator[dict[str, Any]]:
                for i in range(login_events):
                    if busy_every and i % busy_every == 0:
                        u = ((i * 7919) % first_tenants_users) * tenants  # one of the first tenant's users
                    else:
                        u = (i * 7919) % users  # spread over the users, not in their order
                    t = u % tenants
                    row = {"tenant_id": first_tenant + t, "user_id": first_user + u, "subject": f"00useed{u:07d}",
                           "email": f"user{u}@{tenant_prefix}-{t:05d}.test",
                           "created_at": now - timedelta(seconds=(i * 104729) % span), "reference": _reference(i),
                           "ip_address": f"10.{i % 250}.{i // 250 % 250}.{i % 7 + 1}"}
                    if failure_every and (i * 2654435761 >> 7) % failure_every == 1:  # not in step with busy_every
                        row |= {"outcome": LoginEvent.Outcome.FAILURE,
                                "reason": FAILURE_REASONS[i // failure_every % len(FAILURE_REASONS)]}
                    yield row

            _copy(LoginEvent, event_template, _next_id(LoginEvent), event_rows())
            progress(f"{login_events} login events")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        # The seeded rows' dirty pages written out now, not by a checkpoint during the first measured runs (which
        # slowed every side of the bench, the floor too, by up to half). Needs a superuser or pg_checkpoint.
        try:
            with transaction.atomic():
                cursor.execute("CHECKPOINT")
        except DatabaseError as exc:
            progress(f"no CHECKPOINT after seeding ({exc}); the first runs may meet its writes")
    return tenant_ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--provider", required=True)
    parser.add_argument("--tenants", type=int, default=1, help="tenants in all, the bench tenant included")
    parser.add_argument("--users", type=int, default=0, help="users spread over the decoy tenants")
    parser.add_argument("--login-events", type=int, default=0, help="login events spread over those users")
    args = parser.parse_args()
    django.setup()

    from tenants.models import Tenant

    seed(tenants=args.tenants - 1, users=args.users if args.tenants > 1 else 0, login_events=args.login_events,
         progress=lambda line: print(f"seeded {line}", flush=True))
    Tenant.objects.create(
        name="Bench", slug="bench", okta_domain=args.provider, client_id=os.environ["BENCH_CLIENT_ID"],
        client_secret=os.environ["BENCH_CLIENT_SECRET"], email_domains="bench.test",
    )
    print(f"{Tenant.objects.count()} tenants; issuer {Tenant.objects.get(slug='bench').issuer}")


if __name__ == "__main__":
    main()
