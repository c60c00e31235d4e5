from typing import Any

from django.db import transaction
from django.db.models import TextField, Value
from django.db.models.functions import Cast

from inigo_sso.commands import BaseCommand, CommandError
from tenants import crypto
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored client secret under the first key of SSO_ENCRYPTION_KEYS. Rotation: put the new "
        "key first, keep the old ones after it, deploy, run this, then remove the old keys."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        rewritten = 0
        unreadable = []
        with transaction.atomic():
            # The stored ciphertext (cast to plain text, so the field does not decrypt it): a secret no key can
            # decrypt must be reported, not blanked.
            rows = Tenant.objects.select_for_update(no_key=True).annotate(stored=Cast("client_secret", TextField()))
            for pk, slug, ciphertext in rows.values_list("pk", "slug", "stored"):
                if not ciphertext:
                    continue
                try:
                    rotated = crypto.reencrypt(ciphertext)
                except crypto.InvalidToken:
                    unreadable.append(slug)
                    continue
                Tenant.objects.filter(pk=pk).update(client_secret=Value(rotated, output_field=TextField()))
                rewritten += 1
        self.stdout.write(f"Re-encrypted {rewritten} client secret(s) under the first key.")
        if unreadable:
            raise CommandError(
                "No key in SSO_ENCRYPTION_KEYS decrypts the secret of: " + ", ".join(unreadable)
                + ". Put the key that encrypted them back, or enter those secrets again in the admin."
            )
