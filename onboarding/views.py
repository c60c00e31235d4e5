"""/setup/<token>/: the customer's Okta administrator sets their organisation up (SPEC, "Customer self-service
setup"). GET shows what to enter in Okta and the form; POST checks the values against their Okta, step by step,
and saves them only when every check passes."""

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts import setup as setup_events
from accounts.oidc.ratelimits import setup_limits
from accounts.oidc.redirects import tenant_redirect_uri
from okta.connection import Check, ConnectionReport
from scim.models import ProvisioningToken
from scim.tokens import scim_token_issue
from tenants import check_limits, links
from tenants.credentials import (
    Candidate,
    CredentialsAttempt,
    Outcome,
    credentials_try,
    minutes_until,
    report_steps,
)
from tenants.forms import SetupForm
from tenants.issuers import CUSTOM_DOMAIN_REFUSED, is_okta_domain
from tenants.models import SetupLink, Tenant
from tenants.setup import LinkState, SetupLinkSpent, setup_link_lookup, tenant_setup_apply

# The token is in the path, and `strict-origin` sends only `https://<this host>/` as Referer, to anyone: the path
# never leaves the page in a Referer, not even to our own static files. Not `no-referrer`: under it browsers send
# `Origin: null` with the form's POST, which Django's CSRF check rightly refuses (and on https, with no Referer
# either, it has nothing left to check the origin with).
REFERRER_POLICY = "strict-origin"


def private_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The token is in the address: no Referer carries it (REFERRER_POLICY), search engines are told not to
    index the page, and nothing of it is cached."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = REFERRER_POLICY
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapped


@private_page
@never_cache
@require_http_methods(["GET", "POST"])
@setup_limits
@sensitive_post_parameters("client_secret")
def setup_page(request: HttpRequest, token: str) -> HttpResponse:
    state, link = setup_link_lookup(token)
    if state is not LinkState.USABLE or link is None:
        return _link_refused(request, state, link)
    tenant = link.tenant
    if request.method == "GET":
        return _form_page(request, link, SetupForm(tenant=tenant))
    form = SetupForm(request.POST, tenant=tenant)
    if form.is_valid():
        _refuse_custom_domain(form)
    if not form.is_valid():
        # Refused before anything was contacted: a paste gone wrong, or hostile input.
        setup_events.setup_checks_failed_record(request=request, tenant=tenant, report=None,
                                                form_errors=sorted(form.errors))
        return _form_page(request, link, form, status=400)
    values = form.cleaned_data
    rotation = not tenant.is_awaiting_setup
    try:
        attempt = credentials_try(
            candidate=Candidate(name=tenant.name, slug=tenant.slug, issuer=form.issuer, client_id=values["client_id"]),
            client_secret=values["client_secret"], redirect_uri=tenant_redirect_uri(request, tenant.slug),
            scopes=check_limits.setup_link_scopes(link_pk=link.pk, tenant_pk=tenant.pk),
            save=lambda: tenant_setup_apply(
                link=link, okta_domain=values["okta_domain"], client_id=values["client_id"],
                client_secret=values["client_secret"],
            ),
        )
    except SetupLinkSpent:  # used, replaced or expired while the checks ran: say which, as a new GET would
        return _link_refused(request, *setup_link_lookup(token))
    if not attempt.saved:
        return _attempt_failed(request, link, form, attempt)
    tenant = attempt.tenant
    # The values just checked are now the saved ones: that check became the tenant's last connection check
    # (tenants.credentials). A failed attempt checked candidate values only, and stays an event of its setup.
    setup_events.setup_completed_record(request=request, tenant=tenant, rotation=rotation)
    context = {
        "tenant": tenant, "rotation": rotation, "report_steps": report_steps(attempt.report),
        "sign_in_url": links.tenant_sign_in_url(tenant.slug),
        "provisioning": _provisioning_offer(request, tenant),
    }
    return render(request, "setup/done.html", context)


def _attempt_failed(
    request: HttpRequest, link: SetupLink, form: SetupForm, attempt: CredentialsAttempt
) -> HttpResponse:
    """The form again, saying why nothing was saved: too many failed checks (429), Inigo busy (503), a failed check
    or a refused save (400; both recorded as an event of the tenant's setup)."""
    if attempt.outcome is Outcome.LIMITED:
        return _form_page(request, link, form, limited_until=attempt.retry_at, status=429)
    if attempt.outcome is Outcome.BUSY:  # not run: nothing learnt of the values, nothing counted or recorded
        return _form_page(request, link, form, report=attempt.report, status=503)
    if attempt.outcome is Outcome.REFUSED:  # another tenant took this Client ID while the checks ran
        form.add_error(None, "; ".join(attempt.errors))
        setup_events.setup_checks_failed_record(request=request, tenant=link.tenant, report=None,
                                                form_errors=["__all__"])
    else:
        setup_events.setup_checks_failed_record(request=request, tenant=link.tenant, report=attempt.report)
    return _form_page(request, link, form, report=attempt.report, status=400)


def _refuse_custom_domain(form: SetupForm) -> None:
    """SPEC "Secrets stay with their issuer": anyone who holds a link could otherwise point the tenant at a provider of
    their own. Only Okta's own domains here (any issuer in local development and tests); custom URL domains are
    entered by support staff. A tenant already set up keeps the domain it has (the field is not editable)."""
    if form.tenant.is_awaiting_setup and not settings.SSO_ALLOW_INSECURE_ISSUERS and not is_okta_domain(form.issuer):
        form.add_error("okta_domain", CUSTOM_DOMAIN_REFUSED)


def _provisioning_offer(request: HttpRequest, tenant: Tenant) -> dict[str, str] | None:
    """Provisioning from Okta (SCIM) for a tenant that has no SCIM token yet: its token, issued now and shown on
    this page only (the answer to the POST that completed the setup: never stored, cached or sent again; only its
    digest is kept). A tenant that already provisions keeps its token: a new one would stop Okta's calls."""
    if ProvisioningToken.objects.filter(tenant=tenant).exists():
        return None
    token = scim_token_issue(tenant=tenant, detail="issued on the setup page")
    return {"token": token, "base_url": links.scim_base_url(origin=links.origin_of(request))}


def okta_values(request: HttpRequest, tenant: Tenant) -> list[links.OktaValue]:
    return links.okta_app_values(tenant.slug, origin=links.origin_of(request))


def _form_page(
    request: HttpRequest, link: SetupLink, form: SetupForm, *, report: ConnectionReport | None = None,
    limited_until: datetime | None = None, status: int = 200,
) -> HttpResponse:
    tenant = link.tenant
    context = {
        "limited_until": limited_until,
        "limited_minutes": minutes_until(limited_until) if limited_until else None,
        "failed_checks_per_hour": check_limits.FAILED_CHECKS_PER_HOUR,
        "tenant": tenant, "form": form, "rotation": not tenant.is_awaiting_setup,
        "okta_values": okta_values(request, tenant), "report": report,
        "report_steps": report_steps(report) if report is not None else [], "link": link,
        "credentials_failed": report is not None and Check.CREDENTIALS in report.failed_checks,
    }
    return render(request, "setup/page.html", context, status=status)


_REFUSALS = {
    LinkState.UNKNOWN: (404, "This setup link does not work",
                        "The link is not complete, was mistyped, or a newer link has replaced it."),
    LinkState.EXPIRED: (410, "This setup link has expired",
                        "Setup links work for a limited time, and this one is past it."),
}


def _link_refused(request: HttpRequest, state: LinkState, link: SetupLink | None) -> HttpResponse:
    if state is LinkState.USED and link is not None:
        return _link_used(request, link.tenant)
    status, title, explanation = _REFUSALS.get(state, _REFUSALS[LinkState.UNKNOWN])
    context = {"title": title, "explanation": explanation, "status": status}
    return render(request, "setup/link_refused.html", context, status=status)


def _link_used(request: HttpRequest, tenant: Tenant) -> HttpResponse:
    """SPEC "Customer self-service setup": a link is used up only by a setup that succeeded, so whoever opens it
    again (say, after closing the tab before "Sign in to finish") is sent on to sign in, not to support. Still 410:
    the link itself does nothing any more."""
    context = {"tenant": tenant, "sign_in_url": links.tenant_sign_in_url(tenant.slug)}
    return render(request, "setup/link_used.html", context, status=410)
