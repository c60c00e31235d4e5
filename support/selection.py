"""The rows an admin action was asked to act on, checked before the action runs.

Django's changelist passes the posted `_selected_action` values straight into `pk__in`: a value that is not a
primary key ("abc" for an integer id) raises in the action, a 500. Here a selection that names no possible row is
answered like an empty one: a message on the list, nothing changed."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect


class CheckedSelectionMixin:
    model: Any

    def response_action(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        primary_key = self.model._meta.pk
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                primary_key.clean(value, None)  # to_python and the field's own range checks
        except ValidationError:
            self.message_user(request, "Select rows from the list, then choose an action.", messages.WARNING)
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)  # type: ignore[misc]


def check_every_selection(site: admin.AdminSite) -> None:
    """Give every registered model admin, ours and those of other apps (auth, axes), the checked selection."""
    for model, model_admin in list(site._registry.items()):  # no public way to list the registered admins
        if isinstance(model_admin, CheckedSelectionMixin):
            continue
        checked = type(type(model_admin).__name__, (CheckedSelectionMixin, type(model_admin)), {})
        site.unregister(model)
        site.register(model, checked)
