"""The absolute addresses a tenant's Okta app and its customer need, on one origin (this deployment's).

The origin is the host that served the request (the host that will receive the callback, as the redirect URI
sent to Okta is built the same way), or SSO_PUBLIC_URL for commands that have no request."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.urls import reverse

SCOPES = "openid email profile"
GRANT_TYPE = "Authorization Code"


@dataclass(frozen=True)
class OktaValue:
    """One value of the tenant's Inigo app in Okta, and where in Okta it goes."""

    label: str
    value: str
    where: str
    copy: bool = True  # a value to paste; False for one the admin picks in Okta (the grant type)


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


def scim_base_url(*, origin: str) -> str:
    """The SCIM connector base URL of Okta's provisioning (one for every tenant: the token tells them apart)."""
    return origin + reverse("scim:root")


def okta_app_values(slug: str, *, origin: str) -> list[OktaValue]:
    """What the customer's Okta admin enters in the tenant's Inigo app (General and Sign On tabs): the setup page
    and the console's overview show the same list."""
    return [
        OktaValue("Inigo organisation (tenant setting)", slug,
                  "Asked for when you add the Inigo app from the Okta Integration Network."),
        OktaValue("Sign-in redirect URI", tenant_redirect_uri(slug, origin=origin),
                  "General tab, Login: Sign-in redirect URIs."),
        OktaValue("Initiate login URI", tenant_initiate_uri(slug, origin=origin),
                  "General tab, Login: Initiate login URI; Login initiated by: Either Okta or App."),
        OktaValue("Sign-out redirect URI", signed_out_uri(origin=origin),
                  "General tab, Login: Sign-out redirect URIs (optional)."),
        OktaValue("Universal Logout endpoint", origin + reverse("oidc_global_token_revocation"),
                  "Sign On tab, Logout: \u201cOkta system or admin initiates logout\u201d, with this URL "
                  "(recommended: when you end someone's Okta sessions, Inigo signs them out too)."),
        OktaValue("Scopes", SCOPES, "Okta API Scopes or Sign On tab: openid, email and profile."),
        OktaValue("Grant type", GRANT_TYPE,
                  "General tab, Client Credentials: Client authentication 'Client secret'; Grant type "
                  "'Authorization Code' only.", copy=False),
    ]
