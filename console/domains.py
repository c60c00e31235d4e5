"""/org/domains/: the organisation's email domains (SPEC "Email domains, verified"). Add one (pending, with the DNS
TXT record to publish), Verify it, remove it: each POST asks the policy (EMAIL_DOMAINS_CHANGE) and the recent-sign-in
guard, then one service of accounts.email_domains, whose answers are already in words for this page.

A domain is named in the form by its A-label, the tenant's own row: another tenant's domain (or one that is no
longer there) answers 404, whoever asks, before anything else is done."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts import email_domains
from accounts.models import User
from accounts.policy import Action, allowed
from console.access import bad_request, change_stopped, console_page, console_render
from tenants.domains import DomainError, a_label
from tenants.models import TenantEmailDomain

TYPED_MAX_LENGTH = 253  # RFC 1035 section 2.3.4: 255 octets on the wire, so 253 characters as text
ACTIONS = ("add", "verify", "remove")


@require_http_methods(["GET", "POST"])
@console_page
def domains_page(request: HttpRequest, actor: User) -> HttpResponse:
    if request.method == "POST":
        return _domains_change(request, actor)
    return _page(request, actor)


def _page(request: HttpRequest, actor: User, *, typed: str = "", error: str = "", status: int = 200) -> HttpResponse:
    context = {
        "section": "domains", "domains": tenant_domains(actor), "typed": typed, "error": error,
        "may_change": allowed(actor, Action.EMAIL_DOMAINS_CHANGE, actor.tenant),
        "dns_delay": email_domains.DNS_DELAY_WORDS, "max_domains": email_domains.MAX_DOMAINS_PER_TENANT,
        "typed_max_length": TYPED_MAX_LENGTH,
    }
    return console_render(request, "console/domains.html", context, status=status)


def tenant_domains(actor: User) -> list[TenantEmailDomain]:
    """The tenant's domains, pending first (the ones that wait for the admin), each part by name (index
    emaildomain_tenant_domain_unique)."""
    return sorted(TenantEmailDomain.objects.filter(tenant_id=actor.tenant_id), key=lambda claim: claim.is_verified)


def _domains_change(request: HttpRequest, actor: User) -> HttpResponse:
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        return bad_request(request, "Inigo did not recognise what this form asked for. Reload the page and try again.")
    claim = None if action == "add" else _claim_of_tenant(actor, request.POST.get("domain", ""))
    # SPEC "The customer console": adding, verifying and removing a domain need a recent Okta sign-in.
    if stopped := change_stopped(request, actor, Action.EMAIL_DOMAINS_CHANGE, actor.tenant,
                                 why="Only the owner and admins change the organisation's email domains. Nothing "
                                     "was changed."):
        return stopped
    if claim is None:
        return _add(request, actor)
    return _verify(request, actor, claim) if action == "verify" else _remove(request, actor, claim)


def _claim_of_tenant(actor: User, posted: str) -> TenantEmailDomain:
    """The actor's tenant's domain the form names, else 404: the same answer for another tenant's domain and for
    none at all, so that nobody learns which organisation holds a domain."""
    domain = a_label(posted[:TYPED_MAX_LENGTH + 1])
    claim = TenantEmailDomain.objects.filter(tenant_id=actor.tenant_id, domain=domain).first() if domain else None
    if claim is None:
        raise Http404("No such email domain in this organisation.")
    return claim


def _add(request: HttpRequest, actor: User) -> HttpResponse:
    typed = request.POST.get("domain", "").strip()
    if len(typed) > TYPED_MAX_LENGTH:
        error = f"That is longer than any domain ({TYPED_MAX_LENGTH} characters at most). Type a domain like acme.com."
        return _page(request, actor, typed="", error=error, status=400)
    try:
        claim = email_domains.email_domain_add(tenant=actor.tenant, typed=typed, by=actor, request=request)
    except DomainError as refused:
        return _page(request, actor, typed=typed, error=str(refused), status=400)
    messages.success(request, f"{claim.display} is added, pending: publish the TXT record below at your DNS "
                              "provider, then click Verify.")
    return _back()


def _verify(request: HttpRequest, actor: User, claim: TenantEmailDomain) -> HttpResponse:
    result = email_domains.email_domain_verify(claim=claim, by=actor, request=request)
    (messages.success if result.verified else messages.warning)(request, result.message)
    return _back()


def _remove(request: HttpRequest, actor: User, claim: TenantEmailDomain) -> HttpResponse:
    email_domains.email_domain_remove(claim=claim, by=actor, request=request)
    if claim.is_verified:
        messages.success(request, f"{claim.display} is removed: from now on, an address at {claim.display} typed on "
                                  "the sign-in page is no longer sent to your Okta. Your Okta dashboard tile still "
                                  "signs everyone in.")
    else:
        messages.success(request, f"{claim.display} is removed. You may delete its TXT record from your DNS.")
    return _back()


def _back() -> HttpResponse:
    """Back to the page, at its top, where the notice says what happened (pending domains come first below it)."""
    return HttpResponseRedirect(reverse("console:domains"))

