"""Roles from Okta in admin: a tenant's `role_source` and the mapping of the groups Okta pushed, on the tenant's page.

SPEC "Who may do what": support staff view them, a superuser changes them. Every change goes through accounts.roles,
which settles the roles of the people concerned in the same transaction and records each as an event."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import format_html

from accounts import policy
from accounts.events import EventKind
from accounts.models import TenantGroup, User
from accounts.policy import Action
from accounts.roles import GroupGone, Reason, RoleChanged, group_role_change, role_source_change
from tenants.models import RoleSource, Tenant

ROLES_FROM_OKTA_WORDS = (
    "Roles come from Okta: this person is admin while they are in a group Okta pushes that is mapped to admin "
    "(below, on the organisation's page) or while Okta assigns them Inigo's Admin role, else member. Change their "
    "groups or roles in Okta, or switch the organisation's roles back to Inigo to set roles by hand."
)


def roles_from_okta(person: User | None) -> bool:
    return person is not None and person.tenant_id is not None and person.tenant.role_source == RoleSource.OKTA


@admin.display(description="role")
def role_with_source(person: User) -> str:
    """The role, read-only, with why it cannot be changed here under role_source `okta`."""
    return format_html('{}<div class="help">{}</div>', person.get_role_display(), ROLES_FROM_OKTA_WORDS)


def changes_words(changes: list[RoleChanged]) -> str:
    """"3 people became admin, 2 admins became members"."""
    to_admin = sum(1 for change in changes if change.new == "admin")
    to_member = sum(1 for change in changes if change.new == "member")
    return f"{to_admin} {'person' if to_admin == 1 else 'people'} became admin, " \
           f"{to_member} {'admin' if to_member == 1 else 'admins'} became {'member' if to_member == 1 else 'members'}"


def role_source_save(request: HttpRequest, tenant: Tenant, role_source: str, notify: Any) -> None:
    changes = role_source_change(tenant=tenant, role_source=role_source,
                                 reason=Reason(EventKind.CONSOLE, "set in admin", request.user, request))
    words = "Okta: pushed groups mapped to admin make admins" if role_source == RoleSource.OKTA else (
        "Inigo: every role stays as it is, and is set by hand from now on")
    notify(request, f"Roles of {tenant.name} now come from {words}. {changes_words(changes)}.", messages.WARNING)


class GroupMappingFormSet(BaseInlineFormSet):
    def save(self, commit: bool = True) -> list[Any]:
        """Each changed mapping through accounts.roles (group_mappings_save), never the form's own save."""
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        for form in self.forms:
            if form.instance.pk and "role" in form.changed_data:
                self._changed.append((form.instance, form.cleaned_data["role"]))
        return []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._changed: list[tuple[TenantGroup, str]] = []


class TenantGroupInline(admin.TabularInline):
    """The groups Okta pushed to this tenant (Push Groups), each mapped to no role or admin."""

    model = TenantGroup
    formset = GroupMappingFormSet
    fields = ("display_name", "size", "role")
    readonly_fields = ("display_name", "size")
    extra = 0
    can_delete = False
    verbose_name = "group pushed from Okta"
    verbose_name_plural = "groups pushed from Okta (used while roles come from Okta)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[TenantGroup]:
        return super().get_queryset(request).annotate(size=Count("members"))

    @admin.display(description="members")
    def size(self, group: TenantGroup) -> int:
        return group.size

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # Okta creates them

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if policy.allowed(request.user, Action.ROLE_SOURCE_CHANGE, obj):
            return self.readonly_fields
        return (*self.readonly_fields, "role")


def group_mappings_save(request: HttpRequest, formset: GroupMappingFormSet, notify: Any) -> None:
    for group, role in formset._changed:
        try:
            changes = group_role_change(group=group, role=role,
                                        reason=Reason(EventKind.CONSOLE, "set in admin", request.user, request))
        except GroupGone:
            notify(request, f"The group {group} was deleted in Okta meanwhile: nothing changed.", messages.ERROR)
            continue
        notify(request, f"Group {group} mapped to {role or 'no role'}: {changes_words(changes)}.", messages.INFO)
