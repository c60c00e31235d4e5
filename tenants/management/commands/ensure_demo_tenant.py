from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from devidp import demo
from inigo_sso.commands import BaseCommand, CommandError, CommandParser
from tenants.models import Tenant
from tenants.services import tenant_create


class Command(BaseCommand):
    help = (
        "Local development only (`make run`): create the demo tenant that signs in with the local identity "
        "provider (devidp), unless it exists. Refuses to run unless DJANGO_DEBUG and SSO_ALLOW_INSECURE_ISSUERS "
        "are on, so it never touches a real deployment."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--issuer", default=demo.DEFAULT_ISSUER, help="the local identity provider's address")

    def handle(self, *args: Any, **options: Any) -> None:
        if not (settings.DEBUG and settings.SSO_ALLOW_INSECURE_ISSUERS):
            raise CommandError(
                "ensure_demo_tenant is for local development only: it needs DJANGO_DEBUG=true and "
                "SSO_ALLOW_INSECURE_ISSUERS=true (make run sets both)."
            )
        issuer = options["issuer"]
        tenant = Tenant.objects.filter(slug=demo.TENANT_SLUG).first()
        if tenant is not None:
            if tenant.issuer != issuer:
                self.stderr.write(
                    f"The demo tenant {tenant.slug} signs in with {tenant.issuer}, not with the local identity "
                    f"provider at {issuer}; left as it is. Delete it in /admin/ to have it created again."
                )
            else:
                self.stdout.write(f"Demo tenant {tenant.slug} ({tenant.name}) signs in with {tenant.issuer}.")
            return
        try:
            tenant = tenant_create(
                slug=demo.TENANT_SLUG,
                name=demo.TENANT_NAME,
                okta_domain=issuer,
                client_id=demo.TENANT_CLIENT_ID,
                client_secret=demo.TENANT_CLIENT_SECRET,
                email_domains=[demo.TENANT_EMAIL_DOMAIN],
            )
        except ValidationError as exc:
            messages = [f"{field}: {'; '.join(errors)}" for field, errors in exc.message_dict.items()]
            raise CommandError("The demo tenant was not created.\n" + "\n".join(messages)) from exc
        self.stdout.write(f"Created the demo tenant {tenant.slug} ({tenant.name}), signing in with {tenant.issuer}.")
