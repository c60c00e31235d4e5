import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from okta import provider
from tenants.domains import DomainError, challenge_name, challenge_value, parse_email_domains, unicode_domain
from tenants.fields import EncryptedSecretField, StoredSecret
from tenants.issuers import IssuerError, issuer_from_okta_domain


def new_domain_token() -> str:
    return secrets.token_urlsafe(24)


class RoleSource(models.TextChoices):
    """Where the admins of a tenant come from (SPEC "Roles from Okta"): set by hand in Inigo, or from Okta."""

    INIGO = "inigo", "Inigo (set by hand)"
    OKTA = "okta", "Okta (groups mapped to admin, Okta's Admin role)"


class Tenant(models.Model):
    """A customer organisation and the Okta app it installed from the Okta Integration Network."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=63, unique=True, help_text="Short name used in URLs, e.g. acme.")
    okta_domain = models.CharField(
        max_length=255,
        blank=True,
        help_text="As the customer sent it: acme.okta.com, https://acme.okta.com, a custom URL domain, "
        "or an authorization server such as acme.okta.com/oauth2/default. Empty while the tenant awaits setup.",
    )
    # Derived from okta_domain on every save; what ID tokens must carry as `iss` (OIDC Core 3.1.3.7 step 2).
    issuer = models.CharField(max_length=255, db_index=True, editable=False)
    client_id = models.CharField("Client ID", max_length=255, blank=True)
    client_secret = EncryptedSecretField(
        "Client secret", blank=True, help_text="Encrypted at rest and never shown again after it is saved."
    )
    is_active = models.BooleanField("active", default=True, db_index=True)
    email_domains = models.TextField(
        blank=True,
        help_text="Work email domains that sign in through this tenant from the login page, comma-separated. "
        "Verified at once: you vouch for them. Domains the customer adds on /org/domains/ are not listed here.",
    )
    post_logout_redirect_uri = models.URLField(
        "post-logout redirect URI",
        blank=True,
        help_text="Optional. When set, signing out of Inigo also signs out of Okta and Okta then sends the "
        "person here. It must be listed in the Okta app's Sign-out redirect URIs.",
    )
    session_recheck_minutes = models.PositiveIntegerField(
        "re-check with Okta every (minutes)",
        default=0,
        help_text="0: off. Otherwise a signed-in person's page visit is sent through Okta (prompt=none) once "
        "this many minutes have passed since the last check, and their session ends when Okta no longer "
        "signs them in.",
    )
    # Changed only through accounts.roles.role_source_change, which settles everyone's role in the same transaction.
    role_source = models.CharField(
        "roles come from", max_length=8, choices=RoleSource.choices, default=RoleSource.INIGO,
        help_text="Inigo: the owner and admins set roles by hand. Okta: a person is admin when they are in a group "
        "Okta pushes that is mapped to admin or Okta assigns them Inigo's Admin role, else member; nobody sets roles "
        "by hand. The owner stays owner.",
    )
    # Part of every session verification hash of this tenant's people (accounts.models.User): moving it ends
    # every session of the tenant. It moves when the tenant is switched off or on.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # One Okta app install is one tenant; the same org may install the app twice (two Client IDs).
            # Tenants awaiting setup have neither yet, and there may be many of them.
            models.UniqueConstraint(
                fields=["issuer", "client_id"], condition=~Q(issuer="", client_id=""),
                name="tenant_issuer_client_id_unique",
            ),
            # Awaiting setup means no Okta values at all, and switched off: there is nothing to sign in with.
            models.CheckConstraint(
                condition=Q(okta_domain="", issuer="", client_id="", is_active=False)
                | (~Q(okta_domain="") & ~Q(issuer="") & ~Q(client_id="")),
                name="tenant_awaiting_setup_or_complete",
            ),
        ]

    # Set by save() when it cleared the secret of an issuer the tenant left: that issuer, for the admin to say so.
    secret_cleared_from: str | None = None

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        loaded = getattr(self, "_loaded_is_active", None)
        if loaded is not None and loaded != self.is_active:
            # Sessions that slept through a deactivation must not come back when the tenant is switched on.
            self.session_epoch += 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "session_epoch"}
        if self.is_awaiting_setup:
            self.issuer = ""
        else:
            self.issuer = issuer_from_okta_domain(
                self.okta_domain, allow_insecure=settings.SSO_ALLOW_INSECURE_ISSUERS
            )
        # clean() refuses public mail domains; a list saved before that rule is kept rather than failing every later
        # save, and tenant_for_email never routes those domains anyway.
        domains = parse_email_domains(self.email_domains, allow_public=True)
        self.email_domains = ",".join(domains)
        previous = Tenant.objects.filter(pk=self.pk).values_list("issuer", flat=True).first() if self.pk else None
        self.secret_cleared_from = None
        if self._secret_left_with(previous):
            # SPEC "Secrets stay with their issuer": the stored secret was given to Inigo for `previous` only. Sent
            # to a new issuer (a connection check, a sign-in) it would hand the customer's credentials to whoever
            # runs that server, so it is forgotten and must be entered again for the new one.
            self.client_secret = ""
            self.secret_cleared_from = previous
        issuer_changed = previous is not None and bool(previous) and previous != self.issuer
        if issuer_changed:
            # A session, and the ID token kept in it for Okta's logout and re-check (id_token_hint), belong to the
            # issuer that signed the person in: they end with it, or the old issuer's ID tokens would be sent to
            # the new one at the next sign-out or re-check.
            self.session_epoch += 1
        if kwargs.get("update_fields") is not None and "okta_domain" in kwargs["update_fields"]:
            # The derived issuer, and the secret cleared for it, are written with the domain that changed them.
            cleared = {"client_secret"} if self.secret_cleared_from else set()
            epoch = {"session_epoch"} if issuer_changed else set()
            kwargs["update_fields"] = {*kwargs["update_fields"], "issuer", *cleared, *epoch}
        with transaction.atomic():
            super().save(*args, **kwargs)
            if "client_secret" not in self.get_deferred_fields() and self.client_secret:
                # Written now, so from now on it is the stored secret of this issuer, as if read back.
                self.client_secret = StoredSecret(self.client_secret)
            # The tenant's values changed: what was cached about its provider (documents, keys, a recent failure)
            # is forgotten once they are written, so the next sign-in sees the provider as it is now.
            transaction.on_commit(lambda: provider.forget(self.issuer, previous or ""))
            self._loaded_is_active = self.is_active
            if kwargs.get("update_fields") is None or "email_domains" in kwargs["update_fields"]:
                self._staff_domains_sync(domains)

    def _staff_domains_sync(self, domains: list[str]) -> None:
        """The rows of the domains support staff listed in `email_domains`: verified (staff vouch for them), and
        those no longer listed removed. SPEC "Email domains, verified": a domain the customer added on
        /org/domains/ is never touched here, whatever the list says (saving an old list must not delete it)."""
        claims = TenantEmailDomain.objects.filter(tenant=self)
        claims.filter(entered_by_staff=True).exclude(domain__in=domains).delete()
        claims.filter(domain__in=domains).exclude(entered_by_staff=True, state=DomainState.VERIFIED).update(
            entered_by_staff=True, state=DomainState.VERIFIED, verified_at=Coalesce("verified_at", Now()),
        )
        existing = set(claims.filter(domain__in=domains).values_list("domain", flat=True))
        TenantEmailDomain.objects.bulk_create(
            TenantEmailDomain(tenant=self, domain=domain, entered_by_staff=True, state=DomainState.VERIFIED,
                              verified_at=timezone.now(), added_by="support staff")
            for domain in domains if domain not in existing
        )

    def _secret_left_with(self, previous_issuer: str | None) -> bool:
        """Whether the secret about to be saved is the one stored for `previous_issuer`, which is no longer this
        tenant's issuer. The same issuer spelt another way (`acme.okta.com`, `https://acme.okta.com/`) derives the
        same issuer, so it is no change. A secret assigned since the row was read is a new one (StoredSecret)."""
        if not previous_issuer or previous_issuer == self.issuer:
            return False
        if "client_secret" in self.get_deferred_fields():
            return True  # not read, so certainly not replaced
        return isinstance(self.client_secret, StoredSecret)

    @classmethod
    def from_db(cls, *args: Any, **kwargs: Any) -> "Tenant":
        tenant = super().from_db(*args, **kwargs)
        if "is_active" in tenant.__dict__:  # not deferred
            tenant._loaded_is_active = tenant.is_active
        return tenant

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.is_awaiting_setup:
            self.issuer = ""
            if self.is_active:
                errors["is_active"] = (
                    "A tenant without an Okta domain and Client ID is awaiting setup and cannot be active."
                )
        else:
            try:
                self.issuer = issuer_from_okta_domain(
                    self.okta_domain, allow_insecure=settings.SSO_ALLOW_INSECURE_ISSUERS
                )
            except IssuerError as exc:
                errors["okta_domain"] = str(exc)
            if not self.client_id:
                errors["client_id"] = "Enter the Client ID from the customer's Okta app."
        try:
            domains = parse_email_domains(self.email_domains)
        except DomainError as exc:
            errors["email_domains"] = str(exc)
        else:
            # Another tenant's pending claim is no obstacle: staff vouch, and the other's verify is then refused.
            for claim in TenantEmailDomain.objects.verified_elsewhere(domains, tenant_id=self.pk):
                errors["email_domains"] = f"{claim.display} already belongs to {claim.tenant.name}."
        if errors:
            raise ValidationError(errors)

    @property
    def is_awaiting_setup(self) -> bool:
        """Created before its Okta values are known: name and slug only, inactive (SPEC, "Data")."""
        return not self.okta_domain and not self.client_id

    @property
    def domains(self) -> list[str]:
        """The domains support staff entered (A-labels); all of the tenant's are its email_domain_claims."""
        return [domain for domain in self.email_domains.split(",") if domain]

    @property
    def has_client_secret(self) -> bool:
        return bool(self.client_secret)


class DomainState(models.TextChoices):
    PENDING = "pending", "Pending"  # added on /org/domains/, its DNS record not verified yet: it routes nobody
    VERIFIED = "verified", "Verified"


class TenantEmailDomainQuerySet(models.QuerySet["TenantEmailDomain"]):
    def verified(self) -> "TenantEmailDomainQuerySet":
        return self.filter(state=DomainState.VERIFIED)

    def verified_elsewhere(self, domains: list[str], *, tenant_id: int | None) -> "TenantEmailDomainQuerySet":
        """The verified claims of other tenants to any of `domains`, with their tenant."""
        return self.verified().filter(domain__in=domains).exclude(tenant_id=tenant_id).select_related("tenant")


class TenantEmailDomain(models.Model):
    """One email domain of one tenant (SPEC "Email domains, verified"). It routes /login/ to the tenant only once
    verified, by its DNS TXT record or because support staff entered it; at most one tenant holds a domain
    verified, while several may hold it pending (the first to verify wins)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="email_domain_claims")
    domain = models.CharField(max_length=253, help_text="IDNA A-label, lower case (xn--bcher-kva.example).")
    state = models.CharField(max_length=10, choices=DomainState.choices, default=DomainState.PENDING)
    # The value to publish is `inigo-domain-verification=<token>` at `_inigo-challenge.<domain>`. Not a secret:
    # it is meant to be published in public DNS, and proves only that whoever controls the domain's DNS put it
    # there for this tenant (a token is drawn for each tenant and domain). Stored so the page can show it again.
    token = models.CharField(max_length=64, default=new_domain_token, editable=False)
    # Listed in Tenant.email_domains: saving that field adds and removes these rows, and only these.
    entered_by_staff = models.BooleanField(default=False, editable=False)
    added_by = models.CharField(max_length=254, blank=True, help_text="The person, support account or command.")
    created_at = models.DateTimeField(auto_now_add=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    objects = TenantEmailDomainQuerySet.as_manager()

    class Meta:
        verbose_name = "email domain"
        ordering = ["domain"]
        constraints = [
            # One verified owner per domain; its partial index is also what /login/ looks a domain up by.
            models.UniqueConstraint(
                fields=["domain"], condition=Q(state="verified"), name="emaildomain_verified_unique",
            ),
            models.UniqueConstraint(fields=["tenant", "domain"], name="emaildomain_tenant_domain_unique"),
            models.CheckConstraint(condition=Q(state__in=["pending", "verified"]), name="emaildomain_state_known"),
        ]

    def __str__(self) -> str:
        return self.display

    @property
    def display(self) -> str:
        return unicode_domain(self.domain)

    @property
    def is_verified(self) -> bool:
        return self.state == DomainState.VERIFIED

    @property
    def record_name(self) -> str:
        return challenge_name(self.domain)

    @property
    def record_value(self) -> str:
        return challenge_value(self.token)


class SetupLink(models.Model):
    """The one-time link support staff send a customer's Okta administrator (SPEC, "Customer self-service setup").

    One per tenant: a new link overwrites the row, so the token of the one before it is unknown from then on. Only
    the SHA-256 digest of the token is stored (the token is the credential; a database dump must not hold it)."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="setup_link")
    token_digest = models.CharField(max_length=64, unique=True)  # unique: the lookup by digest is indexed
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=150, blank=True, help_text="The support person or command.")

    def __str__(self) -> str:
        return f"setup link of {self.tenant}"


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
