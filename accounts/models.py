from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from inigo_sso.references import EVENT_REFERENCE_LENGTH, new_reference
from tenants.models import Tenant


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


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

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "issuer", "sub"], condition=Q(tenant__isnull=False), name="user_identity_unique"
            ),
            # The first successful login of a tenant claims ownership; the database keeps it to one owner.
            models.UniqueConstraint(fields=["tenant"], condition=Q(role="owner"), name="one_owner_per_tenant"),
            models.CheckConstraint(
                condition=Q(tenant__isnull=True, role="", sub="")
                | Q(tenant__isnull=False, role__in=Role.values, is_staff=False, is_superuser=False)
                & ~Q(sub="")
                & ~Q(issuer=""),
                name="user_is_staff_xor_tenant_member",
            ),
        ]

    def __str__(self) -> str:
        # Never the internal user name of a person from Okta (t1-<digest>): their email, name or subject.
        if self.tenant_id is not None:
            return self.email or self.name or f"sub {self.sub}"
        return self.email or self.username

    @property
    def display_name(self) -> str:
        if self.tenant_id is not None:
            return self.name or self.get_full_name() or self.email or f"sub {self.sub}"
        return self.name or self.get_full_name() or self.email or self.username


class LoginEvent(models.Model):
    """One login attempt, successful or not, for support staff to read."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # No index of its own: loginevent_tenant_time (tenant, -created_at) serves every lookup by tenant.
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="login_events")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.CharField(max_length=64, help_text="Reason code; 'ok' for a success.")
    email = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # Printed on the failure page and in the log line: what a person quotes to support (unique, so indexed).
    reference = models.CharField(max_length=EVENT_REFERENCE_LENGTH, default=new_reference, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # A constraint rather than unique=True: on PostgreSQL that would add a second (LIKE) index to write.
            models.UniqueConstraint(fields=["reference"], name="loginevent_reference_unique"),
        ]
        indexes = [
            # Covering outcome and reason: the health panel, the tenants list's week and the counts of a filtered
            # list are index-only scans on PostgreSQL (SQLite ignores INCLUDE).
            models.Index(
                fields=["tenant", "-created_at"], name="loginevent_tenant_time", include=["outcome", "reason"]
            ),
            models.Index(fields=["reason", "-created_at"], name="loginevent_reason_time"),  # the reason filter
            # Support's exact searches (support.user_admin.LoginEventAdmin.get_search_results).
            models.Index(Upper("email"), name="loginevent_email_upper"),
            models.Index(fields=["subject"], name="loginevent_subject"),
            models.Index(fields=["ip_address"], name="loginevent_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.outcome} {self.reason}"
