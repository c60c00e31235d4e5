"""Rate limits on the login endpoints (django-ratelimit, counted in the Django cache: Redis when several processes
run). Per client IP at SSO_RATE_LIMIT; per tenant at a hundred times that, so one noisy network cannot lock a whole
organisation out while a Monday-morning burst of a large customer still gets through."""

import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django_ratelimit.decorators import ratelimit

from accounts.oidc import states
from inigo_sso.failures import FAILURES
from tenants.domains import domain_of_email

TENANT_FACTOR = 100
_RATE = re.compile(r"^(\d+)/(\d*[smhd])$")


def ip_rate(group: str, request: HttpRequest) -> str | None:
    rate = settings.SSO_RATE_LIMIT.strip().lower()
    return None if rate == "off" else rate


def tenant_rate(group: str, request: HttpRequest) -> str | None:
    rate = ip_rate(group, request)
    match = _RATE.match(rate or "")
    return f"{int(match.group(1)) * TENANT_FACTOR}/{match.group(2)}" if match else None


def _initiate_tenant(group: str, request: HttpRequest) -> str:
    params = request.POST if request.method == "POST" else request.GET
    slug = request.resolver_match.kwargs.get("slug") if request.resolver_match else None
    return (slug or params.get("iss", "") or params.get("tenant", ""))[:255].lower()


def _callback_tenant(group: str, request: HttpRequest) -> str:
    pending = states.pending_login(request.session, request.GET.get("state", ""))
    return str(pending.tenant_id) if pending else ""


def _login_tenant(group: str, request: HttpRequest) -> str:
    return domain_of_email(request.POST.get("email", "")) or ""


def _limits(
    name: str, tenant_key: Callable[[str, HttpRequest], str], method: Any = ratelimit.ALL
) -> list[Callable[..., Any]]:
    return [
        ratelimit(group=f"sso-{name}-ip", key="ip", rate=ip_rate, method=method),
        ratelimit(group=f"sso-{name}-tenant", key=tenant_key, rate=tenant_rate, method=method),
    ]


initiate_limits = method_decorator(_limits("initiate", _initiate_tenant), name="dispatch")
callback_limits = method_decorator(_limits("callback", _callback_tenant), name="dispatch")


def login_limits(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    # Only the form's answer starts a login; showing the form costs nothing worth limiting.
    for limit in reversed(_limits("login", _login_tenant, method="POST")):
        view = limit(view)
    return view


def setup_limits(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The setup page, per client IP at the rate of the login endpoints, every method: each answer reads a link
    and a POST contacts the Okta it names. Its token is 256 random bits; the limit keeps the page cheap, not
    the token unguessable."""
    return ratelimit(group="sso-setup-ip", key="ip", rate=ip_rate, method=ratelimit.ALL)(view)


def rate_limited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """RATELIMIT_VIEW: the page for a refused burst (429), told like every other failure of a sign-in; no login
    event is recorded (a flood must not write to the database)."""
    if request.resolver_match is not None and request.resolver_match.url_name == "setup_page":
        context = {
            "title": "Too many attempts",
            "explanation": "Inigo received too many requests for setup pages from your network in a short time. "
            "Wait a minute, then open your setup link again.",
            "status": 429,
        }
        response = render(request, "errors/generic.html", context, status=429)
        response["Referrer-Policy"] = "no-referrer"
        return response
    failure = FAILURES["rate_limited"]
    context = {"failure": failure, "reason": "rate_limited", "tenant": None}
    return render(request, "errors/login_failed.html", context, status=failure.status)
