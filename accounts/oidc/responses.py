"""The page a person sees when a login stops, and the login event that records it."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts import services
from inigo_sso.failures import LoginError
from inigo_sso.redaction import redact_path
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
        detail=redact_path(error.detail),  # a detail may quote what was sent (an `iss` path), as the logs do not
    )
    context = {"failure": error.failure, "reason": error.reason, "tenant": tenant,
               "provider_message": provider_message, "event": event}
    return TemplateResponse(request, "errors/login_failed.html", context, status=error.failure.status)
