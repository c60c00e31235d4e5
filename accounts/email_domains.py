"""Email domains, verified (SPEC): adding a domain, verifying it by its DNS TXT record, removing it. The customer's
admins do it on /org/domains/, support staff in admin; each step is an event of the tenant (kind `console`).

A domain routes /login/ only once verified (tenants.selectors.tenant_for_email). Two tenants may hold one domain
pending; the first to verify it wins, and the database's partial unique index (emaildomain_verified_unique) decides
between two verifies that find their records at the same moment."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts import services
from accounts.models import User
from tenants.dns_challenge import Lookup, Outcome, challenge_lookup
from tenants.domains import DomainError, email_domain, unicode_domain
from tenants.models import DomainState, Tenant, TenantEmailDomain

ADDED, VERIFIED, REMOVED = "domain_added", "domain_verified", "domain_removed"
MAX_DOMAINS_PER_TENANT = 100  # a page of them; an organisation with more asks support
DNS_DELAY_WORDS = "DNS changes usually show within minutes, and can take up to 48 hours (the record's TTL)."


@dataclass(frozen=True)
class Verification:
    """The answer to "Verify", in words for the page: `verified` is the domain's state afterwards."""

    claim: TenantEmailDomain
    verified: bool
    message: str


def email_domain_add(
    *, tenant: Tenant, typed: str, by: User | None, request: HttpRequest | None = None
) -> TenantEmailDomain:
    """Add a domain pending, with a new token. DomainError (words for the page) when it is not a domain, a public
    mail domain, the tenant's already, verified by another tenant, or one too many."""
    domain = email_domain(typed)
    if TenantEmailDomain.objects.verified_elsewhere([domain], tenant_id=tenant.pk).exists():
        # The other organisation is not named: that would tell anyone who types a domain which customer holds it.
        raise DomainError(f"{unicode_domain(domain)} is verified by another organisation in Inigo. If it is yours, "
                          "contact Inigo support.")
    if TenantEmailDomain.objects.filter(tenant=tenant).count() >= MAX_DOMAINS_PER_TENANT:
        raise DomainError(f"An organisation has at most {MAX_DOMAINS_PER_TENANT} email domains: remove one first.")
    try:
        with transaction.atomic():
            claim = TenantEmailDomain.objects.create(tenant=tenant, domain=domain, added_by=actor_label(by))
            _record(request, ADDED, claim, by, f"{claim.display} added (pending)")
    except IntegrityError:  # emaildomain_tenant_domain_unique: added already, perhaps by a colleague just now
        raise DomainError(f"{unicode_domain(domain)} is one of your domains already.") from None
    return claim


def email_domain_verify(
    *, claim: TenantEmailDomain, by: User | None, request: HttpRequest | None = None
) -> Verification:
    """Look the domain's TXT record up and verify it when one value matches. No database transaction is open
    during the lookup (up to SSO_DNS_LOOKUP_SECONDS)."""
    if claim.is_verified:
        return Verification(claim, True, f"{claim.display} is verified already.")
    if TenantEmailDomain.objects.verified_elsewhere([claim.domain], tenant_id=claim.tenant_id).exists():
        return Verification(claim, False, _taken_words(claim))
    lookup = challenge_lookup(claim.record_name, claim.record_value)
    if lookup.outcome is not Outcome.FOUND:
        return Verification(claim, False, lookup_words(claim, lookup))
    try:
        with transaction.atomic():
            # Removed, or verified by a colleague, while DNS was asked: what the row says now decides.
            current = TenantEmailDomain.objects.select_for_update().filter(pk=claim.pk).first()
            if current is None:
                return Verification(claim, False, f"{claim.display} was removed meanwhile: add it again.")
            if not current.is_verified:
                current.state, current.verified_at = DomainState.VERIFIED, timezone.now()
                current.save(update_fields=["state", "verified_at"])
                _record(request, VERIFIED, current, by, f"{current.display} verified by its DNS TXT record")
    except IntegrityError:  # emaildomain_verified_unique: another tenant verified it a moment before
        return Verification(claim, False, _taken_words(claim))
    return Verification(current, True, f"{current.display} is verified: people who type an address at "
                                       f"{current.display} on the sign-in page now go to your Okta.")


def email_domain_remove(*, claim: TenantEmailDomain, by: User | None, request: HttpRequest | None = None) -> None:
    """Remove a domain; /login/ stops routing it at the next request. A domain support staff entered also leaves
    Tenant.email_domains, or the tenant's next save in admin would bring it back."""
    with transaction.atomic():
        # The row as it is now (verified meanwhile?), for the event to say what was removed.
        current = TenantEmailDomain.objects.select_for_update().filter(pk=claim.pk).first()
        if current is None:
            return  # removed already (a second click, a colleague): nothing left to do or record
        current.delete()
        if current.entered_by_staff:
            _staff_list_drop(current)
        _record(request, REMOVED, current, by, f"{current.display} removed ({current.state})")


def lookup_words(claim: TenantEmailDomain, lookup: Lookup) -> str:
    """What a lookup that did not verify means, and what to do."""
    name = claim.record_name
    if lookup.outcome is Outcome.MISSING:
        return f"No TXT record at {name} yet. {DNS_DELAY_WORDS} Try Verify again later."
    if lookup.outcome is Outcome.OTHER_VALUE:
        found = ", ".join(f'"{value[:80]}"' for value in lookup.values[:3])
        return (f"A TXT record at {name} holds another value ({found}). Publish exactly {claim.record_value}, "
                "then Verify again.")
    if lookup.outcome is Outcome.BUSY:
        return f"Inigo is verifying other domains right now: try again in {lookup.retry_in} seconds."
    return (f"The DNS server did not answer ({lookup.problem}). Nothing changed: try Verify again in a few "
            "minutes.")


def actor_label(by: User | None) -> str:
    """Who did it, as events and the domain's `added_by` say: a person's email, a staff account's username."""
    if by is None:
        return "a command"
    return (by.email or by.get_username()) if by.tenant_id else f"support staff {by.get_username()}"


def _taken_words(claim: TenantEmailDomain) -> str:
    return (f"{claim.display} is verified by another organisation in Inigo, so it cannot be verified for yours. "
            "If it is yours, contact Inigo support.")


def _staff_list_drop(claim: TenantEmailDomain) -> None:
    tenant = Tenant.objects.select_for_update(no_key=True).only("email_domains").get(pk=claim.tenant_id)
    listed = [domain for domain in tenant.domains if domain != claim.domain]
    # update(), not save(): save() would sync the list's rows (the same) and forget the tenant's Okta documents.
    Tenant.objects.filter(pk=tenant.pk).update(email_domains=",".join(listed))


def _record(request: HttpRequest | None, reason: str, claim: TenantEmailDomain, by: User | None, what: str) -> None:
    person = by if by is not None and by.tenant_id == claim.tenant_id else None
    services.login_event_record(
        request, reason=reason, tenant=claim.tenant, user=person, succeeded=True,
        detail=f"{what} by {actor_label(by)}", own_transaction=False,
    )
