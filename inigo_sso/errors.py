"""Site-wide error pages in our own look (never a stack trace)."""

import json

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def _page(request: HttpRequest, status: int, title: str, explanation: str) -> HttpResponse:
    context = {"title": title, "explanation": explanation, "status": status}
    return render(request, "errors/generic.html", context, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 400, "Bad request", "Inigo could not understand this request.")


SCIM_ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


def unstorable_input(request: HttpRequest) -> HttpResponse:
    """inigo_sso.middleware: a NUL character in the address, a form or a cookie. Okta's provisioning reads SCIM
    errors (RFC 7644 section 3.12) under /scim/, so it gets one; everyone else our page."""
    if request.path.startswith("/scim/"):
        body = {"schemas": [SCIM_ERROR_SCHEMA], "status": "400", "scimType": "invalidValue",
                "detail": "The request held a character Inigo does not accept (NUL)."}
        return HttpResponse(json.dumps(body), status=400, content_type="application/scim+json")
    return _page(
        request, 400, "Bad request",
        "The address, the form or a cookie held a character Inigo does not accept. Check the link, or start again "
        "from the Inigo login page.",
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 403, "Not allowed", "You do not have access to this page.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 404, "Page not found", "There is no page at this address.")


def server_error(request: HttpRequest) -> HttpResponse:
    return _page(request, 500, "Something went wrong", "Inigo hit an unexpected problem. Please try again.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _page(
        request, 403, "This form has expired",
        "The page you sent the form from is too old or came from another site. Reload the page and try again.",
    )


def admin_locked_out(request: HttpRequest, credentials: object = None, *args: object, **kwargs: object) -> HttpResponse:
    """django-axes: too many failed admin passwords from this address for this user name."""
    return _page(
        request, 429, "Too many failed sign-ins",
        "This account is locked for an hour after repeated wrong passwords from your address. "
        "Wait, or ask another administrator to unlock it (python manage.py axes_reset_username NAME).",
    )
