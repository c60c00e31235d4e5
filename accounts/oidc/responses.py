"""The page a person sees when a login stops, and the login event that records it."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from accounts import services
from accounts.events import EventKind
from inigo_sso.failures import LoginError
from tenants.models import Tenant


def login_failed(
    request: HttpRequest,
    error: LoginError,
    *,
    tenant: Tenant | None = None,
    claims: dict[str, Any] | None = None,
    typed_email: str = "",
    provider_message: str = "",
) -> HttpResponse:
    event = services.login_event_record(
        request, reason=error.reason, tenant=tenant, claims=claims, typed_email=typed_email,
        detail=error.detail,
    )
    context = {"failure": error.failure, "reason": error.reason, "tenant": tenant,
               "provider_message": provider_message, "event": event}
    return TemplateResponse(request, "errors/login_failed.html", context, status=error.failure.status)


def change_stopped(
    request: HttpRequest, error: LoginError, *, tenant: Tenant | None, next_path: str
) -> HttpResponse:
    """A re-authentication for a console change that did not confirm a recent sign-in (accounts.oidc.reauth): the
    person stays signed in, nothing was changed, and the page leads back to where they were. Recorded as a
    console event (accounts.events)."""
    user = request.user if request.user.is_authenticated else None
    event = services.login_event_record(request, reason=error.reason, tenant=tenant, user=user,
                                        detail=error.detail, kind=EventKind.CONSOLE)
    context = {"failure": error.failure, "reason": error.reason, "tenant": tenant, "event": event,
               "next_path": next_path}
    response = TemplateResponse(request, "accounts/change_stopped.html", context, status=error.failure.status)
    add_never_cache_headers(response)  # Cache-Control: no-store (RFC 9111 5.2.2.5): a page naming a person
    return response
