"""Sign-out: /oidc/logout/ shows a Sign out button on GET and signs out on POST (with Django's CSRF check, so no
other site can sign someone out), then sends the person to Okta's logout too when the tenant has a post-logout
URI, and on to /login/ with a "You have signed out" notice."""

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render, resolve_url
from mozilla_django_oidc.views import OIDCLogoutView

from accounts.oidc.backend import ID_TOKEN_SESSION_KEY
from inigo_sso.failures import LoginError
from okta import provider
from tenants import crypto

logger = logging.getLogger(__name__)


def provider_logout_url(request: HttpRequest) -> str:
    """Called by mozilla-django-oidc's logout view (OIDC_OP_LOGOUT_URL_METHOD) before the session ends."""
    local = resolve_url(settings.LOGOUT_REDIRECT_URL)
    tenant = getattr(request.user, "tenant", None)
    encrypted = request.session.get(ID_TOKEN_SESSION_KEY)
    if tenant is None or not tenant.post_logout_redirect_uri or not encrypted:
        return local
    id_token = crypto.decrypt(encrypted)
    try:
        endpoint = provider.provider_metadata(tenant.issuer).end_session_endpoint
    except LoginError as error:
        logger.warning("provider logout skipped tenant=%s reason=%s", tenant.slug, error.reason)
        return local
    if not endpoint or not id_token:
        return local
    query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": tenant.post_logout_redirect_uri})
    return f"{endpoint}?{query}"


class SignOutView(OIDCLogoutView):
    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest) -> HttpResponse:
        # A GET never signs out: links and prefetches would. It shows the button that does.
        return render(request, "accounts/logout.html")

    def post(self, request: HttpRequest) -> HttpResponse:
        was_signed_in = request.user.is_authenticated
        response = super().post(request)  # the session is flushed; the notice goes into the new one
        if was_signed_in:
            messages.success(request, "You have signed out of Inigo.")
        return response
