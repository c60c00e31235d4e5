"""Setup links: the one-time credential that lets a customer's Okta administrator set their tenant up (SPEC,
"Customer self-service setup"), and the writes of that page.

The token is 256 random bits (secrets.token_urlsafe(32)); only its SHA-256 digest is stored, under a unique index,
so the lookup is one indexed query on a value a database dump cannot turn back into a working link."""

import enum
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tenants.models import SetupLink, Tenant

TOKEN_BYTES = 32
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # what token_urlsafe(32) gives; anything else is not one of ours


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedSetupLink:
    token: str  # shown once, to the person who made the link; never stored
    link: SetupLink


@transaction.atomic
def tenant_awaiting_create(*, slug: str, name: str) -> Tenant:
    """A tenant with a name and slug only: inactive until its setup link is used (raises ValidationError)."""
    tenant = Tenant(slug=slug, name=name, is_active=False)
    tenant.full_clean()
    tenant.save()
    return tenant


@transaction.atomic
def setup_link_create(*, tenant: Tenant, days: int | None = None, created_by: str = "") -> IssuedSetupLink:
    """A new link for the tenant. The tenant's earlier link, used or not, stops working: its row is overwritten."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    link, _created = SetupLink.objects.update_or_create(
        tenant=tenant,
        defaults={
            "token_digest": token_digest(token),
            "created_at": now,
            "expires_at": now + timedelta(days=days or settings.SSO_SETUP_LINK_DAYS),
            "used_at": None,
            "created_by": created_by[:150],
        },
    )
    return IssuedSetupLink(token=token, link=link)


class LinkState(enum.Enum):
    USABLE = "usable"
    UNKNOWN = "unknown"  # never issued, tampered with, or replaced by a newer link: 404
    USED = "used"  # 410
    EXPIRED = "expired"  # 410


def setup_link_lookup(token: str) -> tuple[LinkState, SetupLink | None]:
    if not _TOKEN.match(token):
        return LinkState.UNKNOWN, None
    link = SetupLink.objects.select_related("tenant").filter(token_digest=token_digest(token)).first()
    return _state(link), link


def _state(link: SetupLink | None) -> LinkState:
    if link is None:
        return LinkState.UNKNOWN
    if link.used_at is not None:
        return LinkState.USED
    if link.expires_at <= timezone.now():
        return LinkState.EXPIRED
    return LinkState.USABLE


class SetupLinkSpent(Exception):
    """The link was used, replaced or expired while its form was being checked."""


@transaction.atomic
def tenant_setup_apply(*, link: SetupLink, okta_domain: str, client_id: str, client_secret: str) -> Tenant:
    """Save values that passed every check, and use the link up, in one transaction.

    A tenant awaiting setup gets its Okta domain and becomes active. A tenant already set up keeps its domain (a
    new issuer would orphan every user) and its active flag (support staff may have switched it off); its Client
    ID and Secret are replaced. The link row is locked and read again first: two browsers posting the same link
    at once save once."""
    current = SetupLink.objects.select_for_update().filter(pk=link.pk, token_digest=link.token_digest).first()
    if _state(current) is not LinkState.USABLE:
        raise SetupLinkSpent
    tenant = Tenant.objects.select_for_update(no_key=True).get(pk=link.tenant_id)
    if tenant.is_awaiting_setup:
        tenant.okta_domain = okta_domain
        tenant.is_active = True
    tenant.client_id = client_id
    tenant.client_secret = client_secret
    tenant.full_clean()
    tenant.save()
    current.used_at = timezone.now()
    current.save(update_fields=["used_at"])
    return tenant
