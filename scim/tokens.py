"""Per-tenant SCIM tokens: a long random value shown once, stored as a SHA-256 digest, found by that digest."""

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.console_changes import SCIM_TOKEN_ISSUED, console_event_record
from accounts.models import User
from accounts.policy import Action, allowed
from accounts.services import actor_words
from scim.models import ProvisioningEvent, ProvisioningToken
from tenants.models import Tenant

TOKEN_PREFIX = "scim_"  # noqa: S105 (a prefix that lets secret scanners recognise a leaked token)
# How often "last called" is written: at most once a minute per tenant, not once per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@transaction.atomic
def scim_token_issue(*, tenant: Tenant, detail: str = "") -> str:
    """A new SCIM token for the tenant, returned once; the tenant's earlier token stops working now."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ProvisioningToken.objects.update_or_create(
        tenant=tenant, defaults={"digest": token_digest(token), "issued_at": timezone.now(), "last_used_at": None}
    )
    ProvisioningEvent.objects.create(tenant=tenant, action=ProvisioningEvent.Action.TOKEN_ISSUED, detail=detail[:500])
    return token


@transaction.atomic
def console_scim_token_issue(*, actor: User, request: HttpRequest) -> str:
    """A new SCIM token from the customer console (owner only: whoever holds the token acts as Okta, SPEC "Who may
    do what"), returned once: the old token answers 401 from now on, and provisioning stops until the new one is in
    Okta. A console event says who issued it; the provisioning record says so too."""
    if not allowed(actor, Action.SCIM_TOKEN_ISSUE, actor.tenant):
        raise PermissionDenied("Only the organisation's owner issues a SCIM token.")
    token = scim_token_issue(tenant=actor.tenant, detail=f"issued on the console by {actor_words(actor)}")
    console_event_record(request=request, actor=actor, reason=SCIM_TOKEN_ISSUED,
                         what="New SCIM token issued; the previous one stopped working")
    return token


def tenant_for_token(token: str) -> Tenant | None:
    """The active tenant whose current token this is: one indexed lookup by digest, with the tenant joined."""
    if not token or len(token) > 512:
        return None
    record = (
        ProvisioningToken.objects.select_related("tenant")
        .defer("tenant__client_secret")
        .filter(digest=token_digest(token), tenant__is_active=True)
        .first()
    )
    if record is None:
        return None
    now = timezone.now()
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_RESOLUTION:
        ProvisioningToken.objects.filter(pk=record.pk).update(last_used_at=now)
    return record.tenant
