"""Where /oidc/logout/ sends the person: Okta's logout too, when the tenant has a post-logout URI."""

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import resolve_url

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
