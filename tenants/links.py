"""The absolute addresses a tenant's Okta app and its customer need, on one origin (this deployment's).

The origin is the host that served the request (the host that will receive the callback, as the redirect URI
sent to Okta is built the same way), or SSO_PUBLIC_URL for commands that have no request."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.urls import reverse

SCOPES = "openid email profile"
GRANT_TYPE = "Authorization Code"


def origin_of(request: HttpRequest | None) -> str:
    """`https://sso.inigo.example`: the request's scheme and host, else SSO_PUBLIC_URL (may be empty)."""
    if request is not None:
        return request.build_absolute_uri("/").rstrip("/")
    return settings.SSO_PUBLIC_URL


def tenant_redirect_uri(slug: str, *, origin: str) -> str:
    """The Sign-in redirect URI of this tenant's Okta app, its own callback (RFC 9700 section 4.4, mix-up
    defense): the one place that knows its shape (accounts.oidc.redirects builds it from a request)."""
    return origin + reverse("oidc_authentication_callback", kwargs={"slug": slug})


def tenant_initiate_uri(slug: str, *, origin: str) -> str:
    return origin + reverse("oidc_initiate_tenant", args=[slug])


def tenant_sign_in_url(slug: str, *, origin: str = "") -> str:
    return origin + reverse("oidc_authentication_init") + "?" + urlencode({"tenant": slug})


def signed_out_uri(*, origin: str) -> str:
    """Where Okta sends a person after its logout: this deployment's signed-out page."""
    return origin + resolve_url(settings.LOGOUT_REDIRECT_URL)


def setup_link_url(token: str, *, origin: str) -> str:
    return origin + reverse("setup_page", args=[token])
