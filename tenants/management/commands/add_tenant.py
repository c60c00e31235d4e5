import getpass
import sys
from typing import Any

from django.core.exceptions import ValidationError

from inigo_sso.commands import BaseCommand, CommandError, CommandParser
from tenants.services import tenant_create


class Command(BaseCommand):
    help = (
        "Add a customer organisation. The client secret is read from standard input, never from the command "
        "line (where it would stay in shell history and process lists)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--okta-domain", required=True, help="e.g. acme.okta.com")
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--email-domain", action="append", default=[], dest="email_domains",
                            help="work email domain for the login page; repeat for several")
        parser.add_argument("--inactive", action="store_true", help="create the tenant switched off")

    def handle(self, *args: Any, **options: Any) -> None:
        secret = getpass.getpass("Client secret: ") if sys.stdin.isatty() else sys.stdin.readline()
        secret = secret.strip()
        if not secret:
            raise CommandError("No client secret on standard input. Example: add_tenant acme ... < secret.txt")
        try:
            tenant = tenant_create(
                slug=options["slug"],
                name=options["name"],
                okta_domain=options["okta_domain"],
                client_id=options["client_id"],
                client_secret=secret,
                email_domains=options["email_domains"],
                is_active=not options["inactive"],
            )
        except ValidationError as exc:
            messages = [f"{field}: {'; '.join(errors)}" for field, errors in exc.message_dict.items()]
            raise CommandError("The tenant was not created.\n" + "\n".join(messages)) from exc
        state = "active" if tenant.is_active else "inactive"
        self.stdout.write(f"Created tenant {tenant.slug} ({state}), issuer {tenant.issuer}.")
