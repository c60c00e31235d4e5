"""Re-check with Okta (SPEC, "Who stays signed in"; optional per tenant, `Tenant.session_recheck_minutes`).

When a re-check is due, the next GET page navigation of that tenant's person goes through the tenant's authorize
endpoint with `prompt=none` and `id_token_hint` (OIDC Core 3.1.2.1): Okta answers at once, without showing a page,
with a code while it still signs the person in, or with an error (`login_required`, `access_denied`, ...). The
answer comes back to the tenant's own callback through the same state entries as a sign-in (accounts.oidc.states,
marked as a re-check); the callback keeps the session only for a code whose ID token names the same person, and
ends it on anything else (accounts.oidc.views.CallbackView).

mozilla-django-oidc's SessionRefresh middleware reads one global provider once per process; this one keeps nothing
per request on `self` and reads the tenant, already loaded with the user, from the request.
"""

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from accounts.models import User
from accounts.oidc.backend import ID_TOKEN_SESSION_KEY
from accounts.oidc.navigation import same_origin_path
from accounts.oidc.views import TenantAuthenticationRequestView
from accounts.sessions import CHECKED_AT_KEY, passes_through, session_end
from inigo_sso.failures import FAILURES, LoginError
from tenants import crypto

logger = logging.getLogger(__name__)


class SessionRecheckMiddleware:
    """After SessionCheckMiddleware (which has signed out whoever may not stay)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return recheck(request) or self.get_response(request)


def recheck(request: HttpRequest) -> HttpResponse | None:
    """None while no re-check is due (or it must wait); else the redirect to Okta, or the 401 of an overdue JSON
    request. No SQL: the tenant was read with the user."""
    if passes_through(request):
        return None  # the callback itself, the login page, the way out
    user: User = request.user
    if not user.is_authenticated or user.tenant_id is None:
        return None
    period = user.tenant.session_recheck_minutes * 60
    if not period:
        return None
    checked_at = request.session.get(CHECKED_AT_KEY)
    elapsed = time.time() - checked_at if isinstance(checked_at, int | float) else float("inf")
    if elapsed <= period:
        return None
    if is_page_navigation(request):
        return _send_to_okta(request, user)
    if elapsed > 2 * period:
        # Overdue by more than a period: whatever is not a page navigation (JSON, a script's fetch, a POST) is
        # never redirected (a script cannot follow Okta's pages), but not served for ever without a check either:
        # choosing request headers must not be a way around the re-check.
        failure = FAILURES["session_recheck_overdue"]
        return JsonResponse({"error": "recheck_overdue", "detail": failure.title}, status=401)
    return None  # a POST (or another request) that falls due is served; the re-check waits for the next GET


def is_page_navigation(request: HttpRequest) -> bool:
    """A top-level GET the browser navigates to (Fetch Metadata, when sent), not a script's request."""
    if request.method != "GET" or wants_json(request):
        return False
    mode, dest = request.headers.get("Sec-Fetch-Mode"), request.headers.get("Sec-Fetch-Dest")
    return mode in (None, "navigate") and dest in (None, "document")


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return (
        request.path.startswith("/api/")
        or request.headers.get("X-Requested-With") == "XMLHttpRequest"
        or ("application/json" in accept and "text/html" not in accept)
    )


def return_path(request: HttpRequest) -> str:
    """Where the person goes once Okta has answered: the page they asked for, if it is a path on this site (a
    request for `//evil.example/` must not become a redirect there)."""
    try:
        return same_origin_path(request, request.get_full_path())
    except LoginError:
        return "/"


class RecheckRequestView(TenantAuthenticationRequestView):
    recheck = True


def _send_to_okta(request: HttpRequest, user: User) -> HttpResponse:
    view = RecheckRequestView()
    # OIDC Core 3.1.2.1: prompt=none shows nothing and fails when Okta would have to; id_token_hint names the
    # person the session belongs to.
    view.extra_params = {"prompt": "none"}
    encrypted = request.session.get(ID_TOKEN_SESSION_KEY)
    id_token = crypto.decrypt(encrypted) if encrypted else ""
    if id_token:
        view.extra_params["id_token_hint"] = id_token
    try:
        return view.start(request, user.tenant, login_hint="" if id_token else user.email,
                          next_path=return_path(request))
    except LoginError as error:  # Okta unreachable, say: the session cannot be confirmed
        return session_end(request, reason="session_recheck_failed", user=user,
                           detail=f"re-check with Okta could not start: {error.reason}: {error.detail}"[:500])
