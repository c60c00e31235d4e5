"""Django admin for support staff: customer organisations, their people and their sign-ins.

It sits above tenants and accounts (it shows both on one page), so neither of those imports it."""

from django.contrib import admin

from support import provisioning_admin, tenant_admin, user_admin  # noqa: F401 (registers the model admins)
from support.selection import check_every_selection

# support comes after auth and axes in INSTALLED_APPS, so their admins are registered by now.
check_every_selection(admin.site)
