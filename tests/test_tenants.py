"""Tenants: what customers paste becomes an issuer, secrets are encrypted at rest, add_tenant."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from tenants import crypto
from tenants.issuers import IssuerError, is_okta_domain, issuer_from_okta_domain
from tenants.models import Tenant
from tenants.selectors import tenant_for_email


@pytest.mark.parametrize(("pasted", "issuer"), [
    ("acme.okta.com", "https://acme.okta.com"),
    ("  https://acme.okta.com/ ", "https://acme.okta.com"),
    ("HTTPS://Acme.Okta.com", "https://acme.okta.com"),
    ("login.acme.com", "https://login.acme.com"),
    ("https://acme.okta.com/oauth2/default", "https://acme.okta.com/oauth2/default"),
    ("acme.okta.com/oauth2/aus1a2b3c4D5e6F7g8h9/", "https://acme.okta.com/oauth2/aus1a2b3c4D5e6F7g8h9"),
    ("https://acme.oktapreview.com:8443", "https://acme.oktapreview.com:8443"),
])
def test_it_derives_the_issuer_from_what_customers_paste(pasted, issuer):
    assert issuer_from_okta_domain(pasted, allow_insecure=False) == issuer


@pytest.mark.parametrize(("pasted", "message"), [
    ("", "Enter the customer's Okta domain"),
    ("https://acme.okta.com/app/UserHome", "points to a page"),
    ("https://acme.okta.com/?x=1", "query string"),
    ("https://acme.okta.com/#top", "fragment"),
    ("http://acme.okta.com", "https://"),
    ("ftp://acme.okta.com", "https://"),
    ("https://user:pw@acme.okta.com", "user name or password"),
    ("https://acme_okta!.com", "valid host name"),
    ("https://acme.okta.com:99999", "not a valid web address"),
])
def test_it_refuses_what_is_not_an_issuer(pasted, message):
    with pytest.raises(IssuerError, match=message):
        issuer_from_okta_domain(pasted, allow_insecure=False)


def test_it_allows_http_loopback_issuers_only_when_insecure_issuers_are_allowed():
    assert issuer_from_okta_domain("http://127.0.0.1:9400/", allow_insecure=True) == "http://127.0.0.1:9400"


@pytest.mark.parametrize(("issuer", "okta"), [
    ("https://acme.okta.com", True), ("https://acme.oktapreview.com", True), ("https://acme.okta-emea.com", True),
    ("https://acme.okta-gov.com", True), ("https://acme.okta.mil", True), ("https://ACME.OKTA.COM", True),
    ("https://acme.okta.com/oauth2/default", True), ("https://eu.acme.okta.com:443", True),
    ("https://okta.com", False), ("https://login.acme.example", False), ("https://acme.okta.com.evil.example", False),
    ("https://evilokta.com", False), ("https://acme-okta.com", False), ("https://acme.okta.co", False),
    ("http://127.0.0.1:9400", False), ("", False),
])
def test_only_oktas_own_domains_are_okta_domains(issuer, okta):
    assert is_okta_domain(issuer) is okta


def test_the_client_secret_is_encrypted_in_the_database(db):
    tenant = Tenant.objects.create(name="Acme", slug="acme", okta_domain="acme.okta.com", client_id="c",
                                   client_secret="plain-secret-value")

    with connection.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM tenants_tenant WHERE id = %s", [tenant.pk])
        [stored] = cursor.fetchone()
    assert "plain-secret-value" not in stored
    assert crypto.decrypt(stored) == "plain-secret-value"
    assert Tenant.objects.get().client_secret == "plain-secret-value"


def test_secrets_stay_readable_through_key_rotation(db, settings):
    old_key = settings.SSO_ENCRYPTION_KEYS[0]
    Tenant.objects.create(name="Acme", slug="acme", okta_domain="acme.okta.com", client_id="c", client_secret="s1")
    new_key = "6gkG4Q9VzNbkp0ZPS8hq5dcmxG9c8sJmCeBnsTLSm6E="

    with override_settings(SSO_ENCRYPTION_KEYS=[new_key, old_key]):
        assert Tenant.objects.get().client_secret == "s1"


def test_email_domains_route_work_emails_to_their_tenant(db):
    acme = Tenant.objects.create(name="Acme", slug="acme", okta_domain="acme.okta.com", client_id="c",
                                 email_domains="Acme.com, @acme.co.uk")

    assert acme.email_domains == "acme.com,acme.co.uk"
    assert tenant_for_email("jane@ACME.com") == acme
    assert tenant_for_email("jane@acme.co.uk") == acme
    assert tenant_for_email("jane@other.com") is None
    assert tenant_for_email("not-an-email") is None
    acme.email_domains = "acme.co.uk"
    acme.save()
    assert tenant_for_email("jane@acme.com") is None


def test_an_email_domain_belongs_to_one_tenant(db):
    Tenant.objects.create(name="Acme", slug="acme", okta_domain="acme.okta.com", client_id="c",
                          email_domains="acme.com")
    other = Tenant(name="Other", slug="other", okta_domain="other.okta.com", client_id="d", email_domains="acme.com")

    with pytest.raises(ValidationError, match=r"acme\.com already belongs to Acme"):
        other.full_clean()


def test_add_tenant_reads_the_secret_from_standard_input(db, monkeypatch, public_dns):
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret-from-stdin\n"))
    out = io.StringIO()

    call_command("add_tenant", "acme", "--name", "Acme", "--okta-domain", "https://acme.okta.com/",
                 "--client-id", "0oa1", "--email-domain", "acme.com", "--inactive", stdout=out)

    tenant = Tenant.objects.get()
    assert (tenant.issuer, tenant.client_secret, tenant.is_active, tenant.domains) == (
        "https://acme.okta.com", "s3cret-from-stdin", False, ["acme.com"])
    assert "s3cret" not in out.getvalue()


def test_add_tenant_refuses_a_bad_domain_in_plain_words(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("s\n"))

    with pytest.raises(CommandError, match="points to a page"):
        call_command("add_tenant", "acme", "--name", "Acme", "--okta-domain", "acme.okta.com/app/x",
                     "--client-id", "0oa1")
    assert not Tenant.objects.exists()


def test_add_tenant_refuses_an_empty_secret(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))

    with pytest.raises(CommandError, match="No client secret"):
        call_command("add_tenant", "acme", "--name", "Acme", "--okta-domain", "acme.okta.com", "--client-id", "x")


def test_saving_a_tenant_keeps_a_secret_no_current_key_decrypts(db, settings):
    from cryptography.fernet import Fernet

    tenant = Tenant.objects.create(name="Acme", slug="acme", okta_domain="acme.okta.com", client_id="c",
                                   client_secret="s1")
    with override_settings(SSO_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        unreadable = Tenant.objects.get(pk=tenant.pk)
        assert unreadable.client_secret == "" and not unreadable.has_client_secret
        unreadable.name = "Acme Inc."
        unreadable.save()

    assert Tenant.objects.get(pk=tenant.pk).client_secret == "s1"  # the original key reads it still


def test_add_tenant_refuses_an_internal_address(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("s\n"))

    with override_settings(SSO_ALLOWED_INTERNAL_NETWORKS=[]), pytest.raises(CommandError, match="internal address"):
        call_command("add_tenant", "acme", "--name", "Acme", "--okta-domain", "127.0.0.1", "--client-id", "x")
    assert not Tenant.objects.exists()


def test_dumpdata_exports_the_secret_encrypted_and_loaddata_reads_it_back(db, tmp_path):
    Tenant.objects.create(name="Acme", slug="acme", okta_domain="acme.okta.com", client_id="c",
                          client_secret="plain-secret-value")
    dump = tmp_path / "tenants.json"

    call_command("dumpdata", "tenants.tenant", output=str(dump))
    Tenant.objects.all().delete()
    call_command("loaddata", str(dump), verbosity=0)

    assert "plain-secret-value" not in dump.read_text()
    assert '"client_secret": "fernet:' in dump.read_text()
    assert Tenant.objects.get().client_secret == "plain-secret-value"
