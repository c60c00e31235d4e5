import uuid
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import ExpressionWrapper, Q
from django.db.models.functions import Lower, Upper
from django.utils.crypto import salted_hmac
from django.utils.formats import date_format
from django.utils.timezone import localtime

from accounts.events import EventKind
from inigo_sso.references import EVENT_REFERENCE_LENGTH, new_reference
from tenants.models import Tenant


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


def new_scim_id() -> str:
    """A SCIM resource id: random and opaque, never the row number (RFC 7643 section 3.1 lets the service provider
    choose it; a row number would tell Okta how many people all tenants have)."""
    return str(uuid.uuid4())


class DeactivatedBy(models.TextChoices):
    OKTA = "okta", "Okta (provisioning)"
    SUPPORT = "support", "Inigo support"


class User(AbstractUser):
    """A person. Tenant users come from Okta and are identified by (tenant, issuer, sub), never by email;
    staff users (tenant empty) sign in to the admin with a password."""

    # No index of its own: every index of a tenant's people below begins with the tenant (each index is written on
    # every change of a person that is not a HOT update: an insert, a new email or name, an activity switch).
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="users",
                               db_index=False)
    issuer = models.CharField(max_length=255, blank=True)
    sub = models.CharField("subject", max_length=255, blank=True)
    # Profile data from the ID token or userinfo; not unique: the same address in two tenants is two users. No
    # plain index: every lookup by email ignores case (Universal Logout's `iexact`, the console's search), which
    # the trigram index on upper(email) serves (migration 0011).
    email = models.EmailField("email address", blank=True)
    name = models.CharField(max_length=300, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, blank=True)
    # Whether this person is the owner, as the database computes it from `role`: the one column that keeps the
    # tenant to one owner (one_owner_per_tenant). `role` itself is in no index, no index expression and no index
    # predicate, so a change between admin and member is a HOT update (PostgreSQL writes the row on its own page
    # and no index entry): a push of 50,000 roles takes about 0.5 s, not 4 to 8 (docs/benchmarks.md, issue 29).
    # For queries (`is_owner=True` finds the owner by that index) and the constraint: an instance's value is not read
    # back after its role is written, so code asks `role` of an instance, never `is_owner`.
    is_owner = models.GeneratedField(
        expression=ExpressionWrapper(Q(role="owner"), output_field=models.BooleanField()),
        output_field=models.BooleanField(), db_persist=True,
    )
    # Every session of this person ends when this counter moves (accounts.services.user_sessions_end): it is
    # part of the session verification hash, and Django drops a session whose hash no longer matches. The
    # reason is kept next to it, because Django drops such a session silently.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)
    session_end_reason = models.CharField(max_length=64, blank=True, editable=False)
    # SCIM (provisioning from Okta). `scim_user_name` is the SCIM userName: set by provisioning, or at sign-in from
    # `preferred_username`; empty means Okta's provisioning does not see this person (never known, or DELETEd).
    # Unique by the constraint user_scim_id_unique: unique=True would add a second (LIKE) index on PostgreSQL.
    scim_id = models.CharField("SCIM id", max_length=36, default=new_scim_id, editable=False)
    scim_user_name = models.CharField("SCIM userName", max_length=255, blank=True)
    provisioned_at = models.DateTimeField(
        null=True, blank=True, help_text="When Okta's provisioning (SCIM) created or adopted this person."
    )
    updated_at = models.DateTimeField(auto_now=True)
    # Who switched the person off: Okta (SCIM `active: false` or DELETE) or Inigo support (admin). Okta sends
    # `active: true` with every profile push, so only a deactivation by Okta is undone by it; support's stays until
    # support reactivates. Empty while the person is active.
    deactivated_by = models.CharField(max_length=8, choices=DeactivatedBy.choices, blank=True, editable=False)
    # The SCIM `roles` Okta assigned (its Entitlement Management: scim.roles), as their values, e.g. ["admin"]. An
    # input of the role function under role_source `okta` (accounts.roles); kept and shown under `inigo`.
    scim_roles = models.JSONField("roles from Okta", default=list, blank=True, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(is_active=True, deactivated_by="") | Q(is_active=False), name="user_active_not_deactivated"
            ),
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
            models.UniqueConstraint(fields=["scim_id"], name="user_scim_id_unique"),
            # The first successful login of a tenant claims ownership; the database keeps it to one owner.
            models.UniqueConstraint(fields=["tenant"], condition=Q(is_owner=True), name="one_owner_per_tenant"),
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
        indexes = [
            # The console's people list (/org/people/): a tenant's people, newest first, 50 a page. The `q` search
            # has trigram indexes of its own, on PostgreSQL only (migration 0011).
            models.Index(fields=["tenant", "-date_joined", "-id"], name="user_tenant_joined"),
            # Its filter that picks few of many, the deactivated. The owner is one_owner_per_tenant's; the admins
            # have no index of their own: one on `role` would make every role change write every index (above).
            models.Index(fields=["tenant", "-date_joined"], name="user_tenant_inactive_joined",
                         condition=Q(is_active=False)),
        ]

    def __str__(self) -> str:
        # Never the internal user name of a person from Okta (t1-<digest>): their email, name or subject.
        if self.tenant_id is not None:
            return self.email or self.name or f"sub {self.sub}"
        return self.email or self.username

    @property
    def status(self) -> str:
        """Active, or who switched the person off, in words for every list of people."""
        if self.is_active:
            return "Active"
        return {DeactivatedBy.OKTA: "Deactivated in Okta", DeactivatedBy.SUPPORT: "Deactivated by Inigo support"}.get(
            self.deactivated_by, "Deactivated")

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Switching a person off (or on again) ends every session they had: a session that slept through a
        # deactivation must not come back to life when the person is reactivated. The signed-in request checks
        # is_active too (accounts.sessions), so a person deactivated by a bulk UPDATE is out at once as well.
        loaded = getattr(self, "_loaded_is_active", None)
        if loaded is not None and loaded != self.is_active:
            self.session_epoch += 1
            self.session_end_reason = (
                "session_user_removed_in_okta" if self.deactivated_by == DeactivatedBy.OKTA else "session_user_inactive"
            )
            if self.is_active:
                self.deactivated_by = ""
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "session_epoch", "session_end_reason", "deactivated_by"}
        super().save(*args, **kwargs)
        self._loaded_is_active = self.is_active

    @classmethod
    def from_db(cls, *args: Any, **kwargs: Any) -> "User":
        user = super().from_db(*args, **kwargs)
        if "is_active" in user.__dict__:  # not deferred
            user._loaded_is_active = user.is_active
        return user

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Django's session verification hash (an HMAC of the password hash), with this person's and their
        tenant's session counters mixed in. With both counters at 0 it is Django's own hash, so sessions made
        before the counters existed stay valid. The tenant is read with the user on every request
        (TenantOIDCBackend.get_user): no extra query."""
        tenant_epoch = self.tenant.session_epoch if self.tenant_id is not None else 0
        value = self.password
        if self.session_epoch or tenant_epoch:
            value = f"{self.password}\n{self.session_epoch}\n{tenant_epoch}"
        return salted_hmac(
            "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash", value, secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @property
    def display_name(self) -> str:
        if self.tenant_id is not None:
            return self.name or self.get_full_name() or self.email or f"sub {self.sub}"
        return self.name or self.get_full_name() or self.email or self.username


class GroupRole(models.TextChoices):
    """What membership of a pushed group gives under role_source `okta` (SPEC "Roles from Okta")."""

    NONE = "", "No role"
    ADMIN = "admin", "Admin"


class TenantGroup(models.Model):
    """A group of people of one tenant, pushed by Okta (Push Groups). Not Django's auth.Group: that one has a
    globally unique name, holds permissions, and names the staff's "Support" group. Members are users of the same
    tenant (the SCIM service adds only those)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="groups")
    scim_id = models.CharField("SCIM id", max_length=36, unique=True, default=new_scim_id, editable=False)
    display_name = models.CharField(max_length=255)
    external_id = models.CharField(max_length=255, blank=True)
    members = models.ManyToManyField(User, blank=True, related_name="tenant_groups")
    # The mapping lives on the group's row, found by its SCIM id: Okta renames a group with every membership update,
    # and the mapping survives that. Changed only through accounts.roles.group_role_change.
    role = models.CharField(max_length=8, choices=GroupRole.choices, blank=True, default=GroupRole.NONE)
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
        SIGNED_OUT = "signed_out", "Signed out"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # No index of its own: loginevent_tenant_time (tenant, -created_at) serves every lookup by tenant.
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # No index of its own: loginevent_user_time (user, -created_at) serves every lookup by user.
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="login_events", db_index=False
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.CharField(max_length=64, help_text="Reason code; 'ok' for a success.")
    # What the event is about (accounts.events): sign-in figures count only `signin`. No default: every insert names
    # it, from the reason (accounts.services.login_event_record).
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    email = models.CharField(max_length=254, blank=True, help_text="A signed-in user's, or from validated claims.")
    typed_email = models.CharField(
        "typed email (unverified)", max_length=254, blank=True,
        help_text="What was typed on the login page or sent as login_hint: anyone can write it, so it is never "
        "taken for the person's email.",
    )
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
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="loginevent_kind_known"),
        ]
        indexes = [
            # Covering outcome, reason and kind: the health panel, the tenants list's week and the counts of a
            # filtered list are index-only scans on PostgreSQL (SQLite ignores INCLUDE).
            models.Index(
                fields=["tenant", "-created_at"], name="loginevent_tenant_time", include=["outcome", "reason", "kind"]
            ),
            # The customer console's events filtered by kind (activity.events): a range per kind, newest first, in the
            # page's keyset order, however rare the kind among the tenant's events.
            models.Index(fields=["tenant", "kind", "-created_at", "-id"], name="loginevent_tenant_kind_time"),
            models.Index(fields=["reason", "-created_at"], name="loginevent_reason_time"),  # the reason filter
            # A person's last sign-in (accounts.signins.last_sign_in): the first entry of their index range.
            models.Index(fields=["user", "-created_at"], name="loginevent_user_time", include=["outcome"]),
            # Support's exact searches (support.user_admin.LoginEventAdmin.get_search_results).
            models.Index(Upper("email"), name="loginevent_email_upper"),
            models.Index(Upper("typed_email"), name="loginevent_typed_email_upper"),  # typed, unverified
            models.Index(fields=["subject"], name="loginevent_subject"),
            models.Index(fields=["ip_address"], name="loginevent_ip"),
        ]

    def __str__(self) -> str:
        """The event's title in admin (its page, the history, breadcrumbs): words first, the time as every admin
        page writes it."""
        when = date_format(localtime(self.created_at), "DATETIME_FORMAT") if self.created_at else "not saved"
        return f"{self.get_outcome_display()}: {self.reason} ({self.reference or 'no reference'}), {when}"


class RevocationTokenUse(models.Model):
    """The `jti` of every Universal Logout token accepted, until it expires: a token is single use, on every app
    server (the unique constraint decides between two servers receiving the same token at once), and an outage
    of a cache cannot let a replay through. Rows past `expires_at` are pruned on every write."""

    jti_digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the issuer and the jti.")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.jti_digest[:12]
