from typing import Any

from inigo_sso.commands import BaseCommand, CommandError, CommandParser
from okta.connection import connection_check
from tenants.selectors import tenant_by_slug


class Command(BaseCommand):
    help = (
        "Check a tenant's Okta connection: discovery document, issuer, signing keys, token endpoint "
        "authentication and the stored client secret. Exits non-zero when something is wrong."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_by_slug(options["slug"])
        if tenant is None:
            raise CommandError(f"There is no tenant with the slug {options['slug']!r}.")
        report = connection_check(tenant)
        self.stdout.write(f"{tenant.name} ({tenant.slug}), issuer {tenant.issuer}")
        for finding in report.findings:
            if finding.ok:
                self.stdout.write(f"  ok       {finding.message}")
            else:
                self.stdout.write(self.style.ERROR(f"  PROBLEM  {finding.message}"))
        if not report.ok:
            raise CommandError(report.summary)
        self.stdout.write(self.style.SUCCESS(report.summary))
