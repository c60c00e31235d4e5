"""What Okta's provisioning (SCIM) did, for support staff: each change as a read-only record, by tenant."""

from django.contrib import admin
from django.http import HttpRequest

from scim.models import ProvisioningEvent


@admin.register(ProvisioningEvent)
class ProvisioningEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "tenant", "action", "user", "detail")
    list_filter = ("tenant", "action", "created_at")
    list_select_related = ("tenant", "user")
    search_fields = ("detail", "resource_id")
    readonly_fields = ("created_at", "tenant", "action", "resource_id", "user", "detail", "user_agent")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ProvisioningEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ProvisioningEvent | None = None) -> bool:
        return False
