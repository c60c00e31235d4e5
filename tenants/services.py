"""Writes of the tenants app."""

from django.core.exceptions import ValidationError
from django.db import transaction

from okta.connection import ConnectionReport, connection_check
from tenants.issuers import IssuerError, refuse_private_host
from tenants.links import tenant_redirect_uri
from tenants.models import ConnectionCheckResult, Tenant

# Without SSO_PUBLIC_URL a command has no origin. The redirect URI of the credentials proof is then only a well-
# formed stand-in: for a code that was never issued there is nothing to compare it with, so the answer is the same.
FALLBACK_ORIGIN = "https://localhost"


@transaction.atomic
def tenant_create(
    *,
    slug: str,
    name: str,
    okta_domain: str,
    client_id: str,
    client_secret: str,
    email_domains: list[str] | None = None,
    is_active: bool = True,
) -> Tenant:
    """Create a tenant after the same checks the admin form makes (raises ValidationError)."""
    tenant = Tenant(
        slug=slug,
        name=name,
        okta_domain=okta_domain,
        client_id=client_id,
        client_secret=client_secret,
        email_domains=",".join(email_domains or []),
        is_active=is_active,
    )
    tenant.full_clean()
    # The same rule as the admin form: Inigo fetches the issuer's documents, so it must not point inside.
    try:
        refuse_private_host(tenant.issuer)
    except IssuerError as exc:
        raise ValidationError({"okta_domain": str(exc)}) from exc
    tenant.save()
    return tenant


def tenant_connection_check(tenant: Tenant, *, origin: str) -> ConnectionReport:
    """okta.connection's check of a saved tenant: its stored secret, proven with its Sign-in redirect URI on
    `origin` (the deployment's; tenants.links)."""
    return connection_check(
        tenant, client_secret=tenant.client_secret,
        redirect_uri=tenant_redirect_uri(tenant.slug, origin=origin or FALLBACK_ORIGIN),
    )


def connection_check_record(*, tenant: Tenant, report: ConnectionReport) -> ConnectionCheckResult | None:
    """Keep the outcome of one connection check, for the tenant's health panel; a check that did not run (Inigo
    was busy: report.busy_retry_in) says nothing of the tenant and is not kept."""
    if report.busy_retry_in is not None:
        return None
    return ConnectionCheckResult.objects.create(
        tenant=tenant,
        ok=report.ok,
        summary=report.summary[:300],
        findings=[{"ok": finding.ok, "message": finding.message[:1000]} for finding in report.findings],
    )
