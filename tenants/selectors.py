from tenants.domains import domain_of_email
from tenants.models import Tenant


def tenants_for_issuer(issuer: str) -> list[Tenant]:
    """Active tenants whose Okta org is `issuer` (an indexed lookup). One org may install the app twice."""
    return list(Tenant.objects.filter(issuer=issuer, is_active=True).order_by("name")[:50])


def tenant_for_email(email: str) -> Tenant | None:
    """The tenant that owns the domain of a work email, active or not."""
    domain = domain_of_email(email)
    if domain is None:
        return None
    return Tenant.objects.filter(email_domain_claims__domain=domain).first()


def tenant_by_slug(slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug).first()
