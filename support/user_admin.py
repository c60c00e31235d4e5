"""Admin for people and sign-ins: users (staff accounts and people from Okta), roles, login events.

Two kinds of user share one model. Staff accounts (no tenant) sign in to this admin with a password and are
managed by superusers only. People from Okta (a tenant) never reach the admin: support staff may change their
role and switch them off, nothing that Okta owns (identity, profile) and never make them staff.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from accounts.models import LoginEvent, Role, User
from accounts.services import OwnershipTransferError, ownership_transfer, user_sessions_end

NOT_STAFF_MESSAGE = (
    "People who sign in through Okta can never be staff: the admin is for Inigo support only. To give this "
    "person admin access, a superuser creates a separate staff account with a password."
)
OWNER_ROLE_HELP = (
    "The owner stays owner until ownership moves to someone else: in the user list, select the new owner and "
    "choose the action \u201cTransfer ownership\u201d."
)
OWNER_CHOICE_MESSAGE = (
    "Choose Admin or Member. To make someone the owner, select them in the user list and choose the action "
    "\u201cTransfer ownership\u201d."
)


def _limit_role_field(form: forms.ModelForm) -> None:
    """The role of a person from Okta: admin or member. Ownership only moves by transfer, which keeps exactly
    one owner (a second owner would break `one_owner_per_tenant`, a demoted owner would leave none)."""
    field = form.fields.get("role")
    if field is None or form.instance.tenant_id is None:
        return
    if form.instance.role == Role.OWNER:
        field.disabled = True  # the posted value is ignored; the stored one is kept
        field.help_text = OWNER_ROLE_HELP
        return
    field.required = True
    field.choices = [(Role.ADMIN.value, Role.ADMIN.label), (Role.MEMBER.value, Role.MEMBER.label)]
    field.error_messages["invalid_choice"] = OWNER_CHOICE_MESSAGE


class TenantUserInlineForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["role"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit_role_field(self)


class TenantUserInline(admin.TabularInline):
    """The people of one tenant, on the tenant page. They come from Okta: nobody is added here."""

    model = User
    fk_name = "tenant"
    form = TenantUserInlineForm
    fields = ("email", "name", "role", "last_login")
    readonly_fields = ("email", "name", "last_login")
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name = "person"
    verbose_name_plural = "people (from Okta)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        rank = Case(
            When(role=Role.OWNER, then=Value(0)), When(role=Role.ADMIN, then=Value(1)), default=Value(2),
            output_field=IntegerField(),
        )
        return super().get_queryset(request).order_by(rank, "email")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class UserAdminChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit_role_field(self)
        if self.instance.tenant_id is not None and "is_staff" in self.fields:
            self.fields["is_staff"].help_text = "Always off for people who sign in through Okta."

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        # The database refuses it too (check constraint user_is_staff_xor_tenant_member), but as an
        # IntegrityError; the form says why instead.
        if self.instance.tenant_id is not None:
            for name in ("is_staff", "is_superuser"):
                if cleaned_data.get(name) and name in self.fields:
                    self.add_error(name, NOT_STAFF_MESSAGE)
        return cleaned_data


class StaffAccountCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = StaffAccountCreationForm
    list_display = ("email_or_username", "name", "tenant", "role", "is_active", "is_staff", "last_login")
    list_filter = ("tenant", "role", "is_active", "is_staff")
    list_select_related = ("tenant",)
    search_fields = ("email", "name", "username")
    ordering = ("tenant__name", "email", "username")
    actions = ["transfer_ownership", "sign_out_everywhere"]
    MAX_SIGN_OUTS = 500

    okta_user_fieldsets = (
        (None, {"fields": ("tenant", "email", "name", "first_name", "last_name")}),
        ("In Inigo", {"fields": ("role", "is_active", "is_staff")}),
        (
            "Identity at Okta",
            {
                "fields": ("issuer", "sub", "username"),
                "description": "Who this person is, as Okta says at every sign-in. Profile and identity come "
                "from Okta and cannot be edited here.",
            },
        ),
        (
            "Provisioning from Okta (SCIM)",
            {
                "fields": ("scim_user_name", "scim_id", "provisioned_at"),
                "description": "Okta's provisioning finds this person by SCIM userName; an empty one means "
                "provisioning does not see them (never provisioned and no preferred_username, or deleted).",
            },
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    okta_user_readonly_fields = (
        "tenant", "email", "name", "first_name", "last_name", "issuer", "sub", "username", "last_login",
        "date_joined", "scim_user_name", "scim_id", "provisioned_at",
    )

    @admin.display(description="email", ordering="email")
    def email_or_username(self, user: User) -> str:
        return user.email or user.username

    @staticmethod
    def _from_okta(user: User | None) -> bool:
        return user is not None and user.tenant_id is not None

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> Any:
        if self._from_okta(obj):
            return self.okta_user_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> Any:
        if self._from_okta(obj):
            return self.okta_user_readonly_fields
        return super().get_readonly_fields(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # Whoever may change a staff account may give it, or their own, any permission and set its password:
        # staff accounts are for superusers to manage. Support staff see them read-only.
        if obj is not None and obj.tenant_id is None and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if obj is not None and obj.tenant_id is None and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        user = self.get_object(request, unquote(id))
        if self._from_okta(user):
            self.message_user(
                request, "People who sign in through Okta have no password in Inigo: Okta checks who they are.",
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))
        return super().user_change_password(request, id, form_url)

    def save_model(self, request: HttpRequest, obj: User, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)  # User.save ends the sessions when is_active changes
        if change and "is_active" in form.changed_data:
            if obj.is_active:
                outcome = f"{obj} is active again. Sessions from before stay ended: a new sign-in is needed."
            else:
                outcome = (f"{obj} is deactivated: every session of theirs has ended (at their next request, on "
                           "every server) and they cannot sign in.")
            self.message_user(request, outcome, messages.WARNING)

    @admin.action(description="Sign out everywhere", permissions=["change"])
    def sign_out_everywhere(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """End every session of the selected people, staff accounts included: each is signed out at their next
        request, on every server, and must sign in again."""
        selected = list(queryset.select_related("tenant")[: self.MAX_SIGN_OUTS + 1])
        if len(selected) > self.MAX_SIGN_OUTS:
            self.message_user(request, f"Select at most {self.MAX_SIGN_OUTS} people at once.", messages.ERROR)
            return
        for user in selected:
            user_sessions_end(user=user, reason="session_revoked", request=request,
                              detail=f"Sign out everywhere, by {request.user.get_username()}"[:500])
            self.log_change(request, user, "Signed out everywhere (every session ended).")
        names = ", ".join(str(user) for user in selected[:5]) + (" and others" if len(selected) > 5 else "")
        self.message_user(
            request, f"Signed out everywhere: {names}. Each is signed out at their next request and must sign in "
            "again.", messages.SUCCESS,
        )

    @admin.action(description="Transfer ownership to the selected person", permissions=["change"])
    def transfer_ownership(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        selected = list(queryset.select_related("tenant")[:2])
        if len(selected) != 1:
            self.message_user(
                request, "Select exactly one person: the new owner. The current owner becomes an admin.",
                messages.ERROR,
            )
            return
        [new_owner] = selected
        previous = None
        if new_owner.tenant_id is not None:
            previous = User.objects.filter(tenant_id=new_owner.tenant_id, role=Role.OWNER).first()
        try:
            ownership_transfer(new_owner=new_owner)
        except OwnershipTransferError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        tenant = new_owner.tenant
        self.log_change(request, new_owner, f"Made owner of {tenant.name} (ownership transferred).")
        if previous is not None:
            self.log_change(request, previous, f"Changed role from owner to admin (ownership moved to {new_owner}).")
            outcome = f"{new_owner} is now the owner of {tenant.name}; {previous} is now an admin."
        else:
            outcome = f"{new_owner} is now the owner of {tenant.name}."
        self.message_user(request, outcome, messages.SUCCESS)


@admin.register(LoginEvent)
class LoginEventAdmin(admin.ModelAdmin):
    """Every sign-in attempt, as recorded: evidence, so nobody adds, edits or deletes one here (old ones go with
    `manage.py prune_login_events`)."""

    list_display = ("created_at", "tenant", "email_or_subject", "outcome", "reason")
    list_filter = ("tenant", "outcome", "created_at")
    list_select_related = ("tenant",)
    search_fields = ("email", "typed_email")

    @admin.display(description="email or subject", ordering="email")
    def email_or_subject(self, event: LoginEvent) -> str:
        if event.email or event.subject:
            return event.email or event.subject
        return f"typed, unverified: {event.typed_email}" if event.typed_email else ""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LoginEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: LoginEvent | None = None) -> bool:
        return False
