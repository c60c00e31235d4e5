"""Changes a tenant's owner and admins make on the customer console (SPEC "The customer console"): each is an event
of kind `console` of their tenant, saying who made it, beside the tenant's other events (on /org/events/ and in
support staff's admin), never counted as a sign-in. Each asks accounts.policy itself too, so a view that forgot to
ask still changes nothing. Events name people and checks, never a secret or a token."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts import services
from accounts.models import LoginEvent, User
from accounts.oidc.redirects import tenant_redirect_uri
from accounts.policy import Action, allowed
from tenants import check_limits
from tenants.credentials import Candidate, CredentialsAttempt, Outcome, credentials_try, tenant_credentials_replace

CREDENTIALS_ROTATED = "console_credentials_rotated"
CREDENTIALS_REFUSED = "console_credentials_refused"
SCIM_TOKEN_ISSUED = "console_scim_token_issued"  # noqa: S105 (a reason code)


def console_event_record(*, request: HttpRequest | None, actor: User, reason: str, what: str,
                         succeeded: bool = True) -> LoginEvent:
    """One console change as an event of the actor's tenant: the actor is the event's person (their email and
    `sub` find it), and the detail says what was done and by whom."""
    return services.login_event_record(
        request, reason=reason, tenant=actor.tenant, user=actor, succeeded=succeeded,
        detail=f"{what}, by {services.actor_words(actor)}",
    )


def console_credentials_rotate(
    *, actor: User, request: HttpRequest, client_id: str, client_secret: str
) -> CredentialsAttempt:
    """A new Client ID and Client Secret for the actor's tenant, through the checks of the setup page
    (tenants.credentials): saved only when every check passes, the old values in force until then, at most
    tenants.check_limits.FAILED_CHECKS_PER_HOUR failed checks an hour per tenant (setup links' included). A check
    that ran and failed, and a save, are console events; a check that did not run (limited, busy) is none."""
    tenant = actor.tenant
    if not allowed(actor, Action.CREDENTIALS_ROTATE, tenant):
        raise PermissionDenied("Only the organisation's owner and admins rotate its Client ID and Secret.")
    attempt = credentials_try(
        candidate=Candidate(name=tenant.name, slug=tenant.slug, issuer=tenant.issuer, client_id=client_id),
        client_secret=client_secret, redirect_uri=tenant_redirect_uri(request, tenant.slug),
        scopes=check_limits.tenant_scopes(tenant_pk=tenant.pk),
        save=lambda: tenant_credentials_replace(tenant=tenant, client_id=client_id, client_secret=client_secret),
    )
    if attempt.outcome is Outcome.SAVED:
        actor.tenant = attempt.tenant
        console_event_record(request=request, actor=actor, reason=CREDENTIALS_ROTATED,
                             what=f"New Client ID {client_id} and Client Secret saved after every check passed")
    elif attempt.outcome in (Outcome.CHECKS_FAILED, Outcome.REFUSED):
        failed = ", ".join(attempt.report.failed_checks) if attempt.outcome is Outcome.CHECKS_FAILED else "save"
        console_event_record(request=request, actor=actor, reason=CREDENTIALS_REFUSED, succeeded=False,
                             what=f"New Client ID {client_id} not saved, failed: {failed}")
    return attempt
