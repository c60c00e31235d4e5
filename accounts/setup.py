"""The customer's self-service setup, as support staff read it afterwards: each step is a login event of the
tenant (reason codes below), next to its sign-ins in admin. Details name checks, never a secret or token."""

from django.http import HttpRequest

from accounts import services
from okta.connection import ConnectionReport
from tenants.models import Tenant
from tenants.setup import IssuedSetupLink, setup_link_create

LINK_CREATED = "setup_link_created"
CHECKS_FAILED = "setup_checks_failed"
COMPLETED = "setup_completed"
STEP_WORDS = {LINK_CREATED: "Setup link created", CHECKS_FAILED: "A setup attempt failed its checks",
              COMPLETED: "Setup completed"}


def setup_link_issue(
    *, tenant: Tenant, created_by: str, days: int | None = None, request: HttpRequest | None = None
) -> IssuedSetupLink:
    issued = setup_link_create(tenant=tenant, days=days, created_by=created_by)
    services.login_event_record(
        request, reason=LINK_CREATED, tenant=tenant, succeeded=True,
        detail=f"by {created_by or 'unknown'}, expires {issued.link.expires_at:%Y-%m-%d %H:%M} UTC",
    )
    return issued


def setup_checks_failed_record(*, request: HttpRequest, tenant: Tenant, report: ConnectionReport | None,
                               form_errors: list[str] | None = None) -> None:
    """Which checks failed: connection checks by name, or the form fields that were refused before any."""
    if report is not None:
        detail = "failed checks: " + ", ".join(report.failed_checks)
    else:
        detail = "refused fields: " + ", ".join(form_errors or [])
    services.login_event_record(request, reason=CHECKS_FAILED, tenant=tenant, detail=detail)


def setup_completed_record(*, request: HttpRequest, tenant: Tenant, rotation: bool) -> None:
    what = "new Client ID and Secret saved" if rotation else "Okta values saved, tenant active"
    services.login_event_record(request, reason=COMPLETED, tenant=tenant, succeeded=True, detail=what)
