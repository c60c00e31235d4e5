"""New Client ID and Client Secret for a tenant, checked against its Okta before anything is saved: the one
implementation behind the setup page (a one-time link, onboarding/) and the customer console's settings (a signed-in
owner or admin). SPEC "Customer self-service setup": the check runs at once, nothing is saved unless every check
passes, and the old values stay in force until then; at most FAILED_CHECKS_PER_HOUR failed checks an hour per tenant
(tenants.check_limits), whichever page they came from."""

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from okta.connection import Check, ConnectionReport, connection_check
from tenants import check_limits
from tenants.models import Tenant
from tenants.services import connection_check_record

STEP_NAMES = {
    Check.DISCOVERY: "Your Okta domain and its issuer",
    Check.KEYS: "Okta's signing keys",
    Check.TOKEN_AUTHENTICATION: "How Inigo sends the Client Secret",
    Check.CREDENTIALS: "Client ID and Client Secret",
}


@dataclass(frozen=True)
class Candidate:
    """The values typed into a form, in the shape okta.connection checks: nothing is saved until they pass."""

    name: str
    slug: str
    issuer: str
    client_id: str


class Outcome(enum.Enum):
    SAVED = "saved"
    CHECKS_FAILED = "checks_failed"  # counted against the hour's failed checks
    LIMITED = "limited"  # too many failed checks this hour: nothing was sent to Okta
    BUSY = "busy"  # the check did not run (Inigo's requests to that Okta were all in flight): nothing learnt
    REFUSED = "refused"  # the checks passed, but the save was refused (another tenant took the Client ID meanwhile)


@dataclass(frozen=True)
class CredentialsAttempt:
    outcome: Outcome
    report: ConnectionReport | None = None
    retry_at: datetime | None = None  # LIMITED: when the next check may run
    tenant: Tenant | None = None  # SAVED: the tenant as saved
    errors: list[str] = field(default_factory=list)  # REFUSED: why

    @property
    def saved(self) -> bool:
        return self.outcome is Outcome.SAVED


def credentials_try(
    *, candidate: Candidate, client_secret: str, redirect_uri: str, scopes: list[str], save: Callable[[], Tenant]
) -> CredentialsAttempt:
    """Check the candidate values against their Okta, then `save()` them only when every check passed. A check that
    failed counts against `scopes` (tenants.check_limits); a check that passed becomes the tenant's last connection
    check (it is now the check of the saved values). `save` raises ValidationError to refuse; anything else it
    raises is the caller's (the setup page's spent link)."""
    if (retry_at := check_limits.failed_checks_retry_at(scopes)) is not None:
        # Nothing is sent to Okta: the typed secret is not tried again until the hour of failures has passed.
        return CredentialsAttempt(Outcome.LIMITED, retry_at=retry_at)
    report = connection_check(candidate, client_secret=client_secret, redirect_uri=redirect_uri)
    if report.busy_retry_in is not None:
        return CredentialsAttempt(Outcome.BUSY, report=report)
    if not report.ok:
        check_limits.failed_check_note(scopes)
        return CredentialsAttempt(Outcome.CHECKS_FAILED, report=report)
    try:
        tenant = save()
    except ValidationError as exc:
        return CredentialsAttempt(Outcome.REFUSED, report=report, errors=exc.messages)
    connection_check_record(tenant=tenant, report=report)
    return CredentialsAttempt(Outcome.SAVED, report=report, tenant=tenant)


@transaction.atomic
def tenant_credentials_replace(*, tenant: Tenant, client_id: str, client_secret: str) -> Tenant:
    """Replace a set-up tenant's Client ID and Secret (same issuer, so the secret stays bound to it: SPEC "Secrets
    stay with their issuer"); its Okta domain and active flag stay as they are. Raises ValidationError when another
    tenant uses this Client ID with the same issuer."""
    current = Tenant.objects.select_for_update(no_key=True).get(pk=tenant.pk)
    current.client_id = client_id
    current.client_secret = client_secret
    current.full_clean()
    current.save()
    return current


# --- the words of an attempt, for the pages that show one (setup/_steps.html) ---------------------------------------
def report_steps(report: ConnectionReport) -> list[dict[str, Any]]:
    """One entry per step of the check, in order: its findings, or 'not checked' after an earlier failure."""
    steps = []
    for check, name in STEP_NAMES.items():
        findings = [finding for finding in report.findings if finding.check is check]
        ok = bool(findings) and all(finding.ok for finding in findings)
        steps.append({"name": name, "findings": findings, "ok": ok, "checked": bool(findings)})
    return steps


def minutes_until(moment: datetime) -> int:
    """Whole minutes until `moment` (at least 1): when a limited attempt may be made again."""
    return max(1, math.ceil((moment - timezone.now()).total_seconds() / 60))
