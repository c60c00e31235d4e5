from tenants.domains import PUBLIC_MAIL_DOMAINS, domain_of_email
from tenants.models import DomainState, Tenant


def tenants_for_issuer(issuer: str) -> list[Tenant]:
    """Active tenants whose Okta org is `issuer` (an indexed lookup). One org may install the app twice."""
    return list(Tenant.objects.filter(issuer=issuer, is_active=True).order_by("name")[:50])


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


def tenant_by_slug(slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug).first()
