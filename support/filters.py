"""List filters that stay usable at scale: a tenant filter that searches (10,000 tenants are never listed), and the
reason filter with the catalogue's words."""

from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse

from inigo_sso.failures import FAILURES
from tenants.models import Tenant


class TenantAutocompleteFilter(admin.SimpleListFilter):
    """Tenant, picked by typing its name or slug: Django's admin autocomplete (the Tenant admin's search fields,
    20 a page), so the page never holds a list of every tenant. Without JavaScript it is a form that takes a slug."""

    title = "tenant"
    parameter_name = "tenant__id__exact"
    template = "admin/support/tenant_filter.html"
    # The model and field whose autocomplete the select asks for (AutocompleteJsonView checks both).
    source_app_label = "accounts"
    source_model_name = "loginevent"
    source_field_name = "tenant"

    selected: Tenant | None = None

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        # Called once, from __init__, with the parameters read: only the chosen tenant is ever loaded.
        value = self.value()
        if value and value.isdigit():
            self.selected = Tenant.objects.filter(pk=int(value)).only("name", "slug").first()
        return [(str(self.selected.pk), str(self.selected))] if self.selected else []

    def has_output(self) -> bool:
        return True

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(tenant_id=int(value))

    def choices(self, changelist: ChangeList) -> Iterator[dict[str, Any]]:
        # One "choice" that carries what the template needs: the other parameters of the page (kept as hidden
        # fields), the link that clears this filter, and the autocomplete's address.
        yield {
            "selected": self.selected,
            "parameter_name": self.parameter_name,
            "hidden": _other_parameters(changelist, self.parameter_name),
            "clear_query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "autocomplete_url": reverse("admin:autocomplete"),
            "app_label": self.source_app_label,
            "model_name": self.source_model_name,
            "field_name": self.source_field_name,
        }


def _other_parameters(changelist: ChangeList, parameter_name: str) -> list[tuple[str, str]]:
    """The page's other filters, search and order, as hidden fields of a filter's own form."""
    others = {name: value for name, value in changelist.get_filters_params().items() if name != parameter_name}
    others.update({name: value for name, value in changelist.params.items() if name in ("q", "o")})
    return [(name, item) for name, value in others.items() for item in (value if isinstance(value, list) else [value])]


class ReasonFilter(admin.SimpleListFilter):
    """Reason code: some 35 of them, so a drop-down rather than a column of links."""

    title = "reason"
    parameter_name = "reason"
    template = "admin/support/select_filter.html"

    def choices(self, changelist: ChangeList) -> Iterator[dict[str, Any]]:
        yield {
            "parameter_name": self.parameter_name,
            "value": self.value() or "",
            "options": self.lookup_choices,
            "hidden": _other_parameters(changelist, self.parameter_name),
        }

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("ok", "ok (signed in)")] + [(code, code) for code in FAILURES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(reason=value) if value else queryset
