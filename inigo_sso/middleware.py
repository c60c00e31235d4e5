"""Request and response rules that hold for every page, applied once here rather than in each view."""

from collections.abc import Callable, Iterable

import csp.constants
import csp.middleware
from csp.utils import build_policy
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import patch_cache_control

from inigo_sso.errors import unstorable_input
from inigo_sso.text import is_storable


class RefuseUnstorableInputMiddleware:
    """A request whose path, query, form body or cookies hold a character PostgreSQL text refuses (NUL) gets our
    400 page before any view, session lookup or form reads it. No legitimate browser or Okta sends one; without
    this, each of those inputs would reach a 500 at the first database statement that carries it.

    Placed before SessionMiddleware, so that a `sessionid` cookie holding NUL never reaches the session table."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not _storable_request(request):
            return unstorable_input(request)
        return self.get_response(request)


def _storable_request(request: HttpRequest) -> bool:
    if not is_storable(request.path):
        return False
    if not _all_storable(request.COOKIES.items()) or not _all_storable(request.GET.lists()):
        return False
    # request.POST parses only form bodies (urlencoded, multipart); a JSON body is its endpoint's to check.
    return request.method != "POST" or _all_storable(request.POST.lists())


def _all_storable(pairs: Iterable[tuple[str, str | list[str]]]) -> bool:
    for name, values in pairs:
        if not is_storable(name):
            return False
        for value in [values] if isinstance(values, str) else values:
            if not is_storable(value):
                return False
    return True


class PrivatePagesMiddleware:
    """Pages built for a signed-in person (home, /api/me/, the admin) are marked `Cache-Control: private,
    no-store` (RFC 9111 section 5.2.2.3, 5.2.2.7): no shared cache or back-button copy keeps them.

    A page built for a signed-in person has read the session; this looks only at sessions the page already read,
    so it adds no SQL statement to any request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and session.accessed and session.get(SESSION_KEY) is not None:
            patch_cache_control(response, private=True, no_store=True)
        return response


class CSPMiddleware(csp.middleware.CSPMiddleware):
    """django-csp's middleware, with the Content-Security-Policy of CONTENT_SECURITY_POLICY built once per process
    (by django-csp's own build_policy) instead of once per response: no page of ours changes the policy, uses a
    nonce or has a report-only policy. A response that does (django-csp's decorators, a nonce read) goes the
    library's way, as does any setting of CONTENT_SECURITY_POLICY_REPORT_ONLY, and DEBUG (the library leaves its
    404 and 500 debug pages without a policy)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(get_response)
        self.policy = build_policy()
        self.plain = bool(self.policy) and not getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None) and not (
            (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get("EXCLUDE_URL_PREFIXES"))

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if not self.plain or settings.DEBUG or getattr(request, "_csp_nonce", None) is not None or any(
            hasattr(response, name) for name in _PER_RESPONSE_CSP
        ):
            return super().process_response(request, response)
        if csp.constants.HEADER not in response:
            response[csp.constants.HEADER] = self.policy
        # As the library does: a nonce asked for after the header is written is an error, not a silent gap.
        request.csp_nonce = csp.middleware.CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response


# What django-csp's decorators set on a response to change its policy (csp.decorators).
_PER_RESPONSE_CSP = ("_csp_exempt", "_csp_config", "_csp_update", "_csp_replace", "_csp_exempt_ro", "_csp_config_ro",
                     "_csp_update_ro", "_csp_replace_ro")
