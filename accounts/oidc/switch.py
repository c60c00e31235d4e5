"""Who may switch the signed-in person (SPEC): a login start for another organisation than the one this browser is
signed in to never replaces the session by itself.

Anyone can make a browser open a login start (a link, an image, a form posting to /oidc/initiate/, which cannot check
CSRF because Okta's own POST carries no token), and anyone who holds a setup link can point a tenant at an OpenID
Provider that approves sign-ins without a click. Without this page, a page of theirs would sign the person out and in
as someone of their organisation, unnoticed (login CSRF: RFC 6749 section 10.12, RFC 9700 section 4.7). The page
names both sides and lets the person choose; only its own form, under Django's CSRF check, signs out and goes on
(accounts.oidc.views.SwitchView)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from tenants.models import Tenant


def signed_in_elsewhere(request: HttpRequest, tenant: Tenant) -> bool:
    """Someone is signed in to another organisation than `tenant` (a staff account belongs to none)."""
    user = request.user
    return user.is_authenticated and user.tenant_id != tenant.pk


def switch_page(request: HttpRequest, tenant: Tenant, *, login_hint: str, next_path: str) -> HttpResponse:
    """200: who is signed in, where the link leads, and the two choices. The form carries what the start would
    have sent on (OIDC Core 4: login_hint; target_link_uri, already checked to be a path here)."""
    context = {"tenant": tenant, "login_hint": login_hint, "next_path": next_path}
    response = render(request, "accounts/switch.html", context)
    add_never_cache_headers(response)  # Cache-Control: no-store (RFC 9111 5.2.2.5): a page naming a person
    response["X-Frame-Options"] = "DENY"  # a framed page could have its button clicked for the person
    return response
