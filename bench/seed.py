"""Creates the benchmark's tenants in the database named by DATABASE_URL (run with DJANGO_SETTINGS_MODULE=
bench.settings, after `migrate`): the real tenant, whose Okta domain is the local provider, and `--tenants - 1` decoys,
each with an issuer of its own, created in bulk. Tenant.save() derives `issuer`; bulk_create bypasses it, so the
decoys' issuers are set here. ANALYZE afterwards gives the planner the statistics a long-lived table has.

    python -m bench.seed --provider http://127.0.0.1:8123 --tenants 10000
"""

import argparse
import os

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--provider", required=True)
    parser.add_argument("--tenants", type=int, default=1)
    args = parser.parse_args()
    django.setup()

    from django.db import connection

    from tenants.models import Tenant

    decoys = [
        Tenant(
            name=f"Decoy {i:05d}", slug=f"decoy-{i:05d}", okta_domain=f"decoy-{i:05d}.okta.com",
            issuer=f"https://decoy-{i:05d}.okta.com", client_id=f"0oadecoy{i:05d}",
            client_secret=f"decoy-secret-{i:05d}", email_domains=f"decoy-{i:05d}.test",
        )
        for i in range(1, args.tenants)
    ]
    Tenant.objects.bulk_create(decoys, batch_size=2000)
    Tenant.objects.create(
        name="Bench", slug="bench", okta_domain=args.provider, client_id=os.environ["BENCH_CLIENT_ID"],
        client_secret=os.environ["BENCH_CLIENT_SECRET"], email_domains="bench.test",
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"{Tenant.objects.count()} tenants; issuer {Tenant.objects.get(slug='bench').issuer}")


if __name__ == "__main__":
    main()
