from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from scim.tokens import scim_token_issue
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Issue a new SCIM token for the tenant (Okta provisioning) and print it as the last line, once. Only its "
        "SHA-256 digest is stored; the tenant's earlier token stops working now."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug")

    def handle(self, *args: Any, slug: str, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant with the slug {slug!r}.")
        token = scim_token_issue(tenant=tenant, detail="issued with manage.py scim_token")
        base = reverse("scim:root")
        public = getattr(settings, "SSO_PUBLIC_URL", "") or ""
        self.stdout.write(f"SCIM base URL for {tenant.name}: {public.rstrip('/') + base if public else base}")
        self.stdout.write("In Okta: Provisioning tab, Integration, authentication mode HTTP Header (or Bearer).")
        if not tenant.is_active:
            self.stdout.write(self.style.WARNING("The tenant is inactive: the token works once it is active."))
        self.stdout.write("The token (shown once; the earlier one no longer works):")
        self.stdout.write(token)
