"""What the SCIM service keeps of its own: each tenant's provisioning token (a digest of it) and the record of what
provisioning changed, for support staff."""

from django.db import models

from accounts.models import User
from tenants.models import Tenant


class ProvisioningToken(models.Model):
    """The tenant's one SCIM bearer token, as a SHA-256 digest: the token is a long random value, so a fast hash
    found by an index is enough (a slow password hash would cost every provisioning request). Issuing a new token
    replaces this row's digest, and the old token stops working at once."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="scim_token")
    digest = models.CharField(max_length=64, unique=True)
    issued_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "SCIM token"

    def __str__(self) -> str:
        return f"SCIM token of {self.tenant_id}, issued {self.issued_at:%Y-%m-%d %H:%M}"


class ProvisioningEvent(models.Model):
    """One change made by Okta's provisioning (or a token issued), for support staff to read. Never holds a token,
    and never Okta's `password` attribute."""

    class Action(models.TextChoices):
        TOKEN_ISSUED = "token_issued", "Token issued"
        USER_CREATED = "user_created", "User created"
        USER_ADOPTED = "user_adopted", "User adopted (already signed in)"
        USER_UPDATED = "user_updated", "User updated"
        USER_DEACTIVATED = "user_deactivated", "User deactivated"
        USER_REACTIVATED = "user_reactivated", "User reactivated"
        USER_DELETED = "user_deleted", "User deleted (deactivated)"
        GROUP_CREATED = "group_created", "Group created"
        GROUP_UPDATED = "group_updated", "Group updated"
        GROUP_DELETED = "group_deleted", "Group deleted"

    created_at = models.DateTimeField(auto_now_add=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=32, choices=Action.choices)
    resource_id = models.CharField("SCIM id", max_length=36, blank=True)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    detail = models.CharField(max_length=500, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="provisioningevent_tenant_time")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action}"
