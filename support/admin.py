"""Django admin for support staff: customer organisations, their people and their sign-ins.

It sits above tenants and accounts (it shows both on one page), so neither of those imports it."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from support import domain_admin, provisioning_admin, tenant_admin, user_admin  # noqa: F401 (registers the admins)
from support.selection import check_every_selection

# Groups (permissions) and django-axes' lockout records are for superusers: support staff work with tenants,
# people and login events, and a superuser unlocks an account (README, SECURITY.md).
SUPERUSER_ONLY_APPS = ("auth", "axes")


class SuperuserOnly:
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self.has_module_permission(request) and super().has_add_permission(request, *args)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request) and super().has_delete_permission(request, obj)  # type: ignore[misc]


def _restrict_to_superusers(site: admin.AdminSite) -> None:
    for model, model_admin in list(site._registry.items()):
        if model._meta.app_label in SUPERUSER_ONLY_APPS:
            admin_class = type(model_admin)
            site.unregister(model)
            site.register(model, type(f"SuperuserOnly{admin_class.__name__}", (SuperuserOnly, admin_class), {}))


# support comes after auth and axes in INSTALLED_APPS, so their admins are registered by now.
_restrict_to_superusers(admin.site)
check_every_selection(admin.site)
