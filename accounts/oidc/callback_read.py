"""A callback's first round trip to the database: its session and the tenant its URL names, in one message
(accounts.hot_path.session_and_tenant), read before anything else reads the session (SessionCheckMiddleware reads
it on every request). The callback view then checks the state entry's tenant against that one, as before."""

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from accounts import hot_path
from tenants.models import Tenant

# The URL pattern of CallbackView (inigo_sso/urls.py: "oidc/callback/<slug:slug>/", Django's slug converter).
_CALLBACK_PATH = re.compile(r"/oidc/callback/([-a-zA-Z0-9_]+)/")
_READ_ATTRIBUTE = "oidc_callback_tenant"  # (slug, the tenant of that slug or None)


class CallbackReadMiddleware:
    """Right after SessionMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Without a session cookie there is no state entry, and the view reads no tenant: nothing to read here.
        key = request.session.session_key
        if key is not None and request.method == "GET" and (match := _CALLBACK_PATH.fullmatch(request.path_info)):
            slug = match.group(1)
            row, tenant = hot_path.session_and_tenant(key, slug)
            request.session.preload(row)
            setattr(request, _READ_ATTRIBUTE, (slug, tenant))
        return self.get_response(request)


def tenant_named(request: HttpRequest, slug: str) -> Tenant | None:
    """The tenant of the callback URL's slug: as read with the session, or now."""
    read = getattr(request, _READ_ATTRIBUTE, None)
    if read is not None and read[0] == slug:
        return read[1]
    return hot_path.tenant_by_slug(slug)
