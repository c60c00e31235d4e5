"""Each tenant's own redirect URI, `/oidc/callback/<slug>/` on the host that served the request.

One callback per tenant is the mix-up defense of RFC 9700 section 4.4: a provider's answer can only come back to
the callback registered with that provider, so a callback whose slug is not the tenant its state was made for is
an answer from the wrong provider, and is refused before any code is sent anywhere."""

from django.http import HttpRequest

from tenants import links


def tenant_redirect_uri(request: HttpRequest, slug: str) -> str:
    return links.tenant_redirect_uri(slug, origin=links.origin_of(request))
