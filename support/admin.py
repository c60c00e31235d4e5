"""Django admin for support staff: customer organisations, their people and their sign-ins.

It sits above tenants and accounts (it shows both on one page), so neither of those imports it."""

from support import provisioning_admin, tenant_admin, user_admin  # noqa: F401 (registers the model admins)
