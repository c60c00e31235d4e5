from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.setup import setup_link_issue
from tenants.links import setup_link_url
from tenants.selectors import tenant_by_slug
from tenants.setup import tenant_awaiting_create


class Command(BaseCommand):
    help = (
        "Print a new one-time setup link for a tenant, as the last line (absolute with SSO_PUBLIC_URL, else a "
        "path). Creates the tenant, awaiting setup, when it does not exist (--name is required then). The "
        "tenant's earlier link stops working."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", help="the organisation's name, for a new tenant")
        parser.add_argument("--days", type=int, default=settings.SSO_SETUP_LINK_DAYS,
                            help=f"how long the link works (default {settings.SSO_SETUP_LINK_DAYS} days)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["days"] <= 90:
            raise CommandError("--days must be between 1 and 90.")
        tenant = tenant_by_slug(options["slug"])
        if tenant is None:
            if not options["name"]:
                raise CommandError(
                    f"There is no tenant with the slug {options['slug']!r}. To create it, awaiting setup, give its "
                    "name: setup_link SLUG --name NAME."
                )
            try:
                tenant = tenant_awaiting_create(slug=options["slug"], name=options["name"])
            except ValidationError as exc:
                messages = [f"{field}: {'; '.join(errors)}" for field, errors in exc.message_dict.items()]
                raise CommandError("The tenant was not created.\n" + "\n".join(messages)) from exc
            self.stdout.write(f"Created tenant {tenant.slug} ({tenant.name}), awaiting setup.")
        issued = setup_link_issue(tenant=tenant, created_by="manage.py setup_link", days=options["days"])
        kind = "set up" if tenant.is_awaiting_setup else "replace the Client ID and Secret of"
        self.stdout.write(
            f"Send this link to the customer's Okta administrator, to {kind} {tenant.name}. It works once, until "
            f"{issued.link.expires_at:%Y-%m-%d %H:%M} UTC; any earlier link of this tenant no longer works."
        )
        if not settings.SSO_PUBLIC_URL:
            self.stdout.write("SSO_PUBLIC_URL is not set: put this deployment's address in front of the path.")
        self.stdout.write(setup_link_url(issued.token, origin=settings.SSO_PUBLIC_URL))
