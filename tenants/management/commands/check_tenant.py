from typing import Any

from django.conf import settings

from inigo_sso.commands import BaseCommand, CommandError, CommandParser
from tenants.selectors import tenant_by_slug
from tenants.services import connection_check_record, tenant_connection_check


class Command(BaseCommand):
    help = (
        "Check a tenant's Okta connection: discovery document, issuer, signing keys, token endpoint "
        "authentication, and the Client ID and Client Secret proven at Okta's token endpoint. Exits non-zero "
        "when something is wrong."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_by_slug(options["slug"])
        if tenant is None:
            raise CommandError(f"There is no tenant with the slug {options['slug']!r}.")
        report = tenant_connection_check(tenant, origin=settings.SSO_PUBLIC_URL)
        connection_check_record(tenant=tenant, report=report)  # the tenant's health panel shows the last one
        self.stdout.write(f"{tenant.name} ({tenant.slug}), issuer {tenant.issuer or '(awaiting setup)'}")
        for finding in report.findings:
            if finding.ok:
                self.stdout.write(f"  ok       {finding.message}")
            else:
                self.stdout.write(self.style.ERROR(f"  PROBLEM  {finding.message}"))
        if not report.ok:
            raise CommandError(report.summary)
        self.stdout.write(self.style.SUCCESS(report.summary))
