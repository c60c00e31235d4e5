"""Asking before a tenant moves to another Okta org (another issuer), on the admin's tenant page.

People are known by (tenant, issuer, sub): after the move, everyone who signed in under the old issuer gets a new
account at their next sign-in. And the stored Client Secret was given to Inigo for the old issuer only, so saving
clears it (SPEC "Secrets stay with their issuer"; Tenant.save). Both are said on a page of their own before
anything is saved, and only a POST that carries the confirmation of this very change (old and new issuer) saves.
"""

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, QueryDict
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts.models import User
from tenants.models import Tenant

CONFIRM_FIELD = "_confirm_issuer_change"
# Never put back into the page: the CSRF token gets a fresh one, a typed secret is typed again (secrets never
# appear in pages), and an earlier confirmation does not confirm another change.
_NOT_CARRIED = {"csrfmiddlewaretoken", "client_secret", CONFIRM_FIELD}


@dataclass(frozen=True)
class IssuerChange:
    tenant: Tenant
    previous: str
    new: str
    people: int  # who signed in under the previous issuer: each gets a new account at their next sign-in
    owner: User | None  # the owner, when known by the previous issuer: their old account stays the owner

    @property
    def confirmation(self) -> str:
        """What the confirmation page posts back: it confirms this change only, not a later edit of the domain."""
        return f"{self.previous} {self.new}"


class IssuerChangeUnconfirmed(Exception):
    """Raised by the admin's save before anything is written; answered with the confirmation page."""

    def __init__(self, change: IssuerChange) -> None:
        super().__init__(f"issuer change {change.previous} -> {change.new} not confirmed")
        self.change = change


def issuer_change(tenant: Tenant) -> IssuerChange | None:
    """The change of issuer that saving `tenant` (validated, not saved yet) would make; None for a tenant that is
    new, awaiting setup (no issuer to leave), or keeps its issuer (the same org spelt another way)."""
    if tenant.pk is None:
        return None
    previous = Tenant.objects.filter(pk=tenant.pk).values_list("issuer", flat=True).first()
    if not previous or previous == tenant.issuer:
        return None
    return IssuerChange(tenant=tenant, previous=previous, new=tenant.issuer, people=people_known_by(tenant, previous),
                        owner=owner_known_by(tenant, previous))


def owner_known_by(tenant: Tenant, issuer: str) -> User | None:
    """The tenant's owner if they signed in through `issuer`: their old account stays the owner after a move."""
    return User.objects.filter(tenant_id=tenant.pk, issuer=issuer, is_owner=True).first()


def people_known_by(tenant: Tenant, issuer: str) -> int:
    """The tenant's people who signed in through `issuer`: known by it, they get new accounts under another one.
    Not those Okta provisioned who never signed in (their externalId may have set the issuer)."""
    return User.objects.filter(tenant_id=tenant.pk, issuer=issuer, last_login__isnull=False).count()


def is_confirmed(request: HttpRequest, change: IssuerChange) -> bool:
    return request.POST.get(CONFIRM_FIELD) == change.confirmation


def carried_fields(post: QueryDict) -> list[tuple[str, str]]:
    """The submitted form (tenant fields and the people inline), as hidden inputs of the confirmation page."""
    return [(name, value) for name, values in post.lists() if name not in _NOT_CARRIED for value in values]


def confirmation_page(request: HttpRequest, change: IssuerChange, context: dict[str, Any]) -> TemplateResponse:
    """The page that asks; `context` is the admin's own (each_context, opts). Nothing is saved by showing it."""
    tenant = change.tenant
    page = {
        **context,
        "title": f"Move {tenant.name} to another Okta org?",
        "original": tenant,
        "change": change,
        "confirm_field": CONFIRM_FIELD,
        "carried": carried_fields(request.POST),
        "change_url": reverse("admin:tenants_tenant_change", args=[tenant.pk]),
    }
    response = TemplateResponse(request, "admin/tenants/tenant/confirm_issuer_change.html", page)
    response["Cache-Control"] = "no-store"
    return response
