"""/org/settings/: the organisation's Okta credentials and its SCIM token (SPEC "The customer console").

- `action=credentials`: a new Client ID and Client Secret, in the setup page's form (tenants.forms.SetupForm: the Okta
  domain is shown, not changed) and through its checks (accounts.console_changes.console_credentials_rotate, over
  tenants.credentials): saved only when every check passes, the old values in force until then, at most
  tenants.check_limits.FAILED_CHECKS_PER_HOUR failed checks an hour per tenant.
- `action=scim_token` (owner only: whoever holds the token acts as Okta): a new token, shown on this answer only;
  the old one answers 401 from now on.

Each asks the policy (a refusal is a 403 that changes nothing), then the recent Okta sign-in (accounts.oidc.reauth),
then the service, which records a console event naming who did it. Neither secret nor token is ever logged, put in
a message (messages live in the session) or rendered back."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.console_changes import console_credentials_rotate
from accounts.models import User
from accounts.policy import Action, allowed
from console.access import bad_request, change_stopped, console_page, console_render
from okta.connection import Check, ConnectionReport
from scim.models import ProvisioningToken
from scim.tokens import console_scim_token_issue
from tenants import check_limits, links
from tenants.credentials import CredentialsAttempt, Outcome, minutes_until, report_steps
from tenants.forms import SetupForm

# The status of an attempt that saved nothing: too many failed checks (RFC 6585 section 4), the check did not run
# (RFC 9110 section 15.6.4), a check failed or the save was refused (RFC 9110 section 15.5.1).
NOT_SAVED_STATUS = {Outcome.LIMITED: 429, Outcome.BUSY: 503, Outcome.CHECKS_FAILED: 400, Outcome.REFUSED: 400}


@never_cache
@sensitive_post_parameters("client_secret")
@require_http_methods(["GET", "POST"])
@console_page
def settings_page(request: HttpRequest, actor: User) -> HttpResponse:
    if request.method == "GET":
        return _page(request, actor, SetupForm(tenant=actor.tenant))
    action = request.POST.get("action", "")
    if action == "credentials":
        return _credentials(request, actor)
    if action == "scim_token":
        return _scim_token(request, actor)
    return bad_request(request, "Inigo did not recognise what this form asked for. Reload the page and try again.")


def _page(
    request: HttpRequest, actor: User, form: SetupForm, *, attempt: CredentialsAttempt | None = None,
    token: str = "", token_resent: bool = False, token_replaced: bool = False, status: int = 200,
) -> HttpResponse:
    tenant = actor.tenant
    report = attempt.report if attempt is not None else None
    retry_at = attempt.retry_at if attempt is not None else None
    current_token = _current_token(actor)
    context = {
        "section": "settings", "form": form, "attempt": attempt, "report": report,
        "report_steps": report_steps(report) if report is not None and not report.busy_retry_in else [],
        "credentials_failed": _credentials_failed(report),
        "limited_until": retry_at, "limited_minutes": minutes_until(retry_at) if retry_at else None,
        "failed_checks_per_hour": check_limits.FAILED_CHECKS_PER_HOUR,
        "scim_token": current_token, "replaces": token_marker(current_token), "new_token": token,
        "token_resent": token_resent, "token_replaced": token_replaced,
        "scim_base_url": links.scim_base_url(origin=links.origin_of(request)),
        "may_rotate": allowed(actor, Action.CREDENTIALS_ROTATE, tenant),
        "may_issue_token": allowed(actor, Action.SCIM_TOKEN_ISSUE, tenant),
    }
    return console_render(request, "console/settings.html", context, status=status)


def _credentials_failed(report: ConnectionReport | None) -> bool:
    return report is not None and Check.CREDENTIALS in report.failed_checks


def _credentials(request: HttpRequest, actor: User) -> HttpResponse:
    # SPEC "The customer console": new credentials need a recent Okta sign-in.
    if stopped := change_stopped(request, actor, Action.CREDENTIALS_ROTATE, actor.tenant,
                                 why="Only the owner and admins replace the organisation's Client ID and Client "
                                     "Secret. Nothing was changed."):
        return stopped
    form = SetupForm(request.POST, tenant=actor.tenant)
    if not form.is_valid():  # a paste gone wrong: refused before Okta is asked, nothing counted
        return _page(request, actor, form, status=400)
    attempt = console_credentials_rotate(actor=actor, request=request, client_id=form.cleaned_data["client_id"],
                                         client_secret=form.cleaned_data["client_secret"])
    if not attempt.saved:
        if attempt.outcome is Outcome.REFUSED:
            form.add_error(None, "; ".join(attempt.errors))
        return _page(request, actor, form, attempt=attempt, status=NOT_SAVED_STATUS[attempt.outcome])
    messages.success(request, "The new Client ID and Client Secret passed every check and are saved: the next "
                              "sign-in uses them. You may now delete the old secret in Okta.")
    # "#top" (HTML's scroll-to-the-top fragment) replaces the form's "#credentials": the notice above is seen.
    return HttpResponseRedirect(reverse("console:settings") + "#top")


def _scim_token(request: HttpRequest, actor: User) -> HttpResponse:
    # SPEC "The customer console": a new SCIM token needs a recent Okta sign-in.
    if stopped := change_stopped(request, actor, Action.SCIM_TOKEN_ISSUE, actor.tenant,
                                 why="Only the organisation's owner issues a SCIM token: whoever holds it acts as "
                                     "your Okta. Nothing was changed."):
        return stopped
    if request.POST.get("replaces", "") != token_marker(_current_token(actor)):
        # The form was sent for a token that is no longer the current one: a reload of the page that showed a new
        # token resends its POST, which would otherwise silently replace the token just pasted into Okta.
        return _page(request, actor, SetupForm(tenant=actor.tenant), token_resent=True, status=409)
    token = console_scim_token_issue(actor=actor, request=request)
    # Shown on this answer only (never_cache above): a reload does not show it again, and only its digest is kept.
    return _page(request, actor, SetupForm(tenant=actor.tenant), token=token,
                 token_replaced=request.POST["replaces"] != token_marker(None))


def _current_token(actor: User) -> ProvisioningToken | None:
    return ProvisioningToken.objects.filter(tenant_id=actor.tenant_id).first()


def token_marker(current: ProvisioningToken | None) -> str:
    """What the form says it replaces: when the current token was issued (never anything of the token itself)."""
    return f"{current.issued_at.timestamp():.6f}" if current is not None else "none"

