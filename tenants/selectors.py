from django.db.models import QuerySet

from tenants.domains import PUBLIC_MAIL_DOMAINS, domain_of_email
from tenants.models import DomainState, Tenant


def tenants_of_issuer(issuer: str) -> QuerySet[Tenant]:
    """Active tenants whose Okta org is `issuer` (an indexed lookup), by name. One org may install the app twice.
    The Okta tile's initiation sends it compiled once (accounts.hot_path.tenants_of_issuer)."""
    return Tenant.objects.filter(issuer=issuer, is_active=True).order_by("name")[:50]


def tenant_for_email(email: str) -> Tenant | None:
    """The tenant that has verified the domain of a work email, active or not (SPEC "Email domains, verified":
    pending domains never route). The domain is compared as its A-label, as domains are stored; the lookup is
    the partial unique index emaildomain_verified_unique."""
    domain = domain_of_email(email)
    if domain is None or domain in PUBLIC_MAIL_DOMAINS:
        return None
    return Tenant.objects.filter(
        email_domain_claims__domain=domain, email_domain_claims__state=DomainState.VERIFIED
    ).first()


def tenant_of_slug(slug: str) -> QuerySet[Tenant]:
    """The tenant of `slug` (at most one: slugs are unique). Sign-ins send it compiled once
    (accounts.hot_path.tenant_by_slug)."""
    return Tenant.objects.filter(slug=slug).order_by("pk")[:1]


def tenant_by_slug(slug: str) -> Tenant | None:
    return tenant_of_slug(slug).first()
