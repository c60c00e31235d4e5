from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction

from tenants.domains import parse_email_domains
from tenants.fields import EncryptedSecretField
from tenants.issuers import IssuerError, issuer_from_okta_domain


class Tenant(models.Model):
    """A customer organisation and the Okta app it installed from the Okta Integration Network."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=63, unique=True, help_text="Short name used in URLs, e.g. acme.")
    okta_domain = models.CharField(
        max_length=255,
        help_text="As the customer sent it: acme.okta.com, https://acme.okta.com, a custom URL domain, "
        "or an authorization server such as acme.okta.com/oauth2/default.",
    )
    # Derived from okta_domain on every save; what ID tokens must carry as `iss` (OIDC Core 3.1.3.7 step 2).
    issuer = models.CharField(max_length=255, db_index=True, editable=False)
    client_id = models.CharField("Client ID", max_length=255)
    client_secret = EncryptedSecretField(
        "Client secret", blank=True, help_text="Encrypted at rest and never shown again after it is saved."
    )
    is_active = models.BooleanField("active", default=True, db_index=True)
    email_domains = models.TextField(
        blank=True,
        help_text="Work email domains that sign in through this tenant from the login page, comma-separated.",
    )
    post_logout_redirect_uri = models.URLField(
        "post-logout redirect URI",
        blank=True,
        help_text="Optional. When set, signing out of Inigo also signs out of Okta and Okta then sends the "
        "person here. It must be listed in the Okta app's Sign-out redirect URIs.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # One Okta app install is one tenant; the same org may install the app twice (two Client IDs).
            models.UniqueConstraint(fields=["issuer", "client_id"], name="tenant_issuer_client_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    def save(self, *args: object, **kwargs: object) -> None:
        self.issuer = issuer_from_okta_domain(self.okta_domain, allow_insecure=settings.SSO_ALLOW_INSECURE_ISSUERS)
        domains = parse_email_domains(self.email_domains)
        self.email_domains = ",".join(domains)
        with transaction.atomic():
            super().save(*args, **kwargs)
            TenantEmailDomain.objects.filter(tenant=self).exclude(domain__in=domains).delete()
            existing = set(TenantEmailDomain.objects.filter(tenant=self).values_list("domain", flat=True))
            TenantEmailDomain.objects.bulk_create(
                TenantEmailDomain(tenant=self, domain=domain) for domain in domains if domain not in existing
            )

    def clean(self) -> None:
        errors: dict[str, str] = {}
        try:
            self.issuer = issuer_from_okta_domain(
                self.okta_domain, allow_insecure=settings.SSO_ALLOW_INSECURE_ISSUERS
            )
        except IssuerError as exc:
            errors["okta_domain"] = str(exc)
        try:
            domains = parse_email_domains(self.email_domains)
        except ValueError as exc:
            errors["email_domains"] = str(exc)
        else:
            taken = TenantEmailDomain.objects.filter(domain__in=domains).exclude(tenant_id=self.pk)
            for claim in taken.select_related("tenant"):
                errors["email_domains"] = f"{claim.domain} already belongs to {claim.tenant.name}."
        if errors:
            raise ValidationError(errors)

    @property
    def domains(self) -> list[str]:
        return [domain for domain in self.email_domains.split(",") if domain]

    @property
    def has_client_secret(self) -> bool:
        return bool(self.client_secret)


class TenantEmailDomain(models.Model):
    """The index behind SP-initiated login: one email domain belongs to at most one tenant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="email_domain_claims")
    domain = models.CharField(max_length=253, unique=True)

    def __str__(self) -> str:
        return self.domain


class ConnectionCheckResult(models.Model):
    """One run of the connection check (admin button or action, `check_tenant`), kept for the health panel."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="connection_checks")
    checked_at = models.DateTimeField(auto_now_add=True)
    ok = models.BooleanField()
    summary = models.CharField(max_length=300)
    # [{"ok": bool, "message": str}, ...]: the check's findings in its own words (never a secret).
    findings = models.JSONField(default=list)

    class Meta:
        ordering = ["-checked_at"]
        indexes = [models.Index(fields=["tenant", "-checked_at"], name="connectioncheck_tenant_time")]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.checked_at:%Y-%m-%d %H:%M:%S} {'ok' if self.ok else 'problems'}"
