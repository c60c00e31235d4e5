import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from tenants.models import Tenant


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


def new_scim_id() -> str:
    """A SCIM resource id: random and opaque, never the row number (RFC 7643 section 3.1 lets the service provider
    choose it; a row number would tell Okta how many people all tenants have)."""
    return str(uuid.uuid4())


class User(AbstractUser):
    """A person. Tenant users come from Okta and are identified by (tenant, issuer, sub), never by email;
    staff users (tenant empty) sign in to the admin with a password."""

    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="users")
    issuer = models.CharField(max_length=255, blank=True)
    sub = models.CharField("subject", max_length=255, blank=True)
    # Profile data from the ID token or userinfo; not unique: the same address in two tenants is two users.
    email = models.EmailField("email address", blank=True, db_index=True)
    name = models.CharField(max_length=300, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, blank=True)
    # SCIM (provisioning from Okta). `scim_user_name` is the SCIM userName: set by provisioning, or at sign-in from
    # `preferred_username`; empty means Okta's provisioning does not see this person (never known, or DELETEd).
    scim_id = models.CharField("SCIM id", max_length=36, unique=True, default=new_scim_id, editable=False)
    scim_user_name = models.CharField("SCIM userName", max_length=255, blank=True)
    provisioned_at = models.DateTimeField(
        null=True, blank=True, help_text="When Okta's provisioning (SCIM) created or adopted this person."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # People provisioned by SCIM without an externalId have no sub until their first sign-in links them.
            models.UniqueConstraint(
                fields=["tenant", "issuer", "sub"], condition=Q(tenant__isnull=False) & ~Q(sub=""),
                name="user_identity_unique",
            ),
            # SCIM userName is unique per tenant, compared case-insensitively (RFC 7643 section 4.1.1: "caseExact"
            # false); an index on lower(userName) also serves Okta's `userName eq` lookup.
            models.UniqueConstraint(
                "tenant", Lower("scim_user_name"), condition=~Q(scim_user_name=""), name="user_scim_user_name_unique"
            ),
            # The first successful login of a tenant claims ownership; the database keeps it to one owner.
            models.UniqueConstraint(fields=["tenant"], condition=Q(role="owner"), name="one_owner_per_tenant"),
            models.CheckConstraint(
                condition=Q(tenant__isnull=True, role="", sub="")
                | Q(tenant__isnull=False, role__in=Role.values, is_staff=False, is_superuser=False)
                & (
                    ~Q(sub="") & ~Q(issuer="")
                    # provisioned without externalId and not signed in yet: no identity until the first sign-in
                    | Q(sub="", issuer="", provisioned_at__isnull=False, last_login__isnull=True)
                ),
                name="user_is_staff_xor_tenant_member",
            ),
        ]

    def __str__(self) -> str:
        return self.email or self.username

    @property
    def display_name(self) -> str:
        return self.name or self.get_full_name() or self.email or self.username


class TenantGroup(models.Model):
    """A group of people of one tenant, pushed by Okta (Push Groups). Not Django's auth.Group: that one has a
    globally unique name, holds permissions, and names the staff's "Support" group. Members are users of the same
    tenant (the SCIM service adds only those)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="groups")
    scim_id = models.CharField("SCIM id", max_length=36, unique=True, default=new_scim_id, editable=False)
    display_name = models.CharField(max_length=255)
    external_id = models.CharField(max_length=255, blank=True)
    members = models.ManyToManyField(User, blank=True, related_name="tenant_groups")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "group"
        ordering = ["display_name"]
        indexes = [models.Index(fields=["tenant", "display_name"], name="tenantgroup_tenant_name")]

    def __str__(self) -> str:
        return self.display_name


class LoginEvent(models.Model):
    """One login attempt, successful or not, for support staff to read."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="login_events")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.CharField(max_length=64, help_text="Reason code; 'ok' for a success.")
    email = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="loginevent_tenant_time")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.outcome} {self.reason}"
