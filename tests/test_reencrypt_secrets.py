"""Key rotation of SSO_ENCRYPTION_KEYS: reencrypt_secrets moves every secret to the first key."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from tenants.models import Tenant

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def stored_secret(slug: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM tenants_tenant WHERE slug = %s", [slug])
        return cursor.fetchone()[0]


def test_it_reencrypts_every_secret_under_the_first_key(db):
    with override_settings(SSO_ENCRYPTION_KEYS=[OLD_KEY]):
        for slug in ("acme", "globex"):
            Tenant.objects.create(name=slug, slug=slug, okta_domain=f"{slug}.okta.com", client_id=slug,
                                  client_secret=f"secret-of-{slug}")
        Tenant.objects.create(name="none", slug="none", okta_domain="none.okta.com", client_id="n")

    out = io.StringIO()
    with override_settings(SSO_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        call_command("reencrypt_secrets", stdout=out)

    assert "Re-encrypted 2 client secret(s)" in out.getvalue()
    new_only = Fernet(NEW_KEY.encode())
    assert new_only.decrypt(stored_secret("acme").encode()) == b"secret-of-acme"
    with override_settings(SSO_ENCRYPTION_KEYS=[NEW_KEY]):  # the old key can now be removed
        assert Tenant.objects.get(slug="globex").client_secret == "secret-of-globex"
        assert Tenant.objects.get(slug="none").client_secret == ""


def test_it_names_secrets_no_key_can_decrypt_and_leaves_them_alone(db):
    with override_settings(SSO_ENCRYPTION_KEYS=[OLD_KEY]):
        Tenant.objects.create(name="Acme", slug="acme", okta_domain="acme.okta.com", client_id="a", client_secret="s")
    before = stored_secret("acme")

    with override_settings(SSO_ENCRYPTION_KEYS=[NEW_KEY]), pytest.raises(CommandError, match="acme"):
        call_command("reencrypt_secrets", stdout=io.StringIO())

    assert stored_secret("acme") == before
