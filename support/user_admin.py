"""Admin for people and sign-ins: users (staff accounts and people from Okta), roles, login events.

Two kinds of user share one model. Staff accounts (no tenant) sign in to this admin with a password and are
managed by superusers only. People from Okta (a tenant) never reach the admin: support staff may change their
role and switch them off, nothing that Okta owns (identity, profile) and never make them staff.
"""

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, DateTimeField, F, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime

from accounts import policy
from accounts.event_search import login_events_matching
from accounts.models import LoginEvent, Role, User
from accounts.policy import Action, RoleChange
from accounts.services import OwnershipTransferError, ownership_transfer, people_sessions_end, user_change
from accounts.signins import last_sign_in
from activity.events import reason_words as event_reason_words
from inigo_sso.failures import FAILURES
from support.filters import ReasonFilter, TenantAutocompleteFilter
from support.roles_admin import role_with_source, roles_from_okta
from tenants.models import RoleSource


def with_last_sign_in(users: QuerySet[User]) -> QuerySet[User]:
    """`signed_in_at`: a staff account's last_login; for people from Okta their latest successful login event
    (last_login marks their first sign-in only, accounts.signins)."""
    # The output field said, not guessed: SQLite otherwise hands the CASE back as text ("2026-12-07 06:55:17.489681").
    return users.annotate(signed_in_at=Case(When(tenant__isnull=True, then=F("last_login")), default=last_sign_in(),
                                            output_field=DateTimeField()))


def when(moment: datetime | None, *, empty: str = "never") -> str:
    """A time as every admin page writes it ("7 Dec 2026, 06:55:17 UTC"), or what stands for none."""
    return date_format(localtime(moment), "DATETIME_FORMAT") if moment is not None else empty


NOT_STAFF_MESSAGE = (
    "People who sign in through Okta can never be staff: the admin is for Inigo support only. To give this "
    "person admin access, a superuser creates a separate staff account with a password."
)
OWNER_ROLE_HELP = (
    "The owner stays owner until ownership moves to someone else: in the user list, select the new owner and "
    "choose the action \u201cTransfer ownership\u201d."
)
DEACTIVATED_ADMIN_MESSAGE = "A deactivated person cannot be made admin: reactivate them first."
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


def _refuse_deactivated_admin(form: forms.ModelForm) -> None:
    """SPEC "Who may do what": a deactivated person cannot be made admin by hand (whoever edits the role)."""
    role = form.cleaned_data.get("role")
    if "role" not in form.changed_data or role is None or form.instance.tenant_id is None:
        return
    if not policy.no_admin_while_deactivated(None, RoleChange(form.instance, role)):
        form.add_error("role", DEACTIVATED_ADMIN_MESSAGE)


class TenantUserInlineForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["role"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit_role_field(self)

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        _refuse_deactivated_admin(self)
        return cleaned_data


class TenantUserInline(admin.TabularInline):
    """The people of one tenant, on the tenant page. They come from Okta: nobody is added here."""

    model = User
    fk_name = "tenant"
    form = TenantUserInlineForm
    fields = ("email", "name", "role", "status", "signed_in")
    readonly_fields = ("email", "name", "status", "signed_in")
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
        return with_last_sign_in(super().get_queryset(request)).order_by(rank, "email")

    @admin.display(description="last sign-in")
    def signed_in(self, user: User) -> str:
        return when(user.signed_in_at)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.role_source == RoleSource.OKTA:  # read-only, saying why
            return [("role_with_source" if name == "role" else name) for name in self.fields]
        return self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Roles are a superuser's to change in admin (SPEC "Who may do what"); others see them.
        if obj is not None and obj.role_source == RoleSource.OKTA:
            return (*self.readonly_fields, "role_with_source")
        if policy.allowed(request.user, Action.ROLE_CHANGE, obj):
            return self.readonly_fields
        return (*self.readonly_fields, "role")

    role_with_source = staticmethod(role_with_source)


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
        _refuse_deactivated_admin(self)
        return cleaned_data


class StaffAccountCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User


class UserKindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("okta", "From Okta"), ("staff", "Staff accounts")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        if self.value() == "okta":
            return queryset.filter(tenant__isnull=False)
        if self.value() == "staff":
            return queryset.filter(tenant__isnull=True)
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = StaffAccountCreationForm
    list_display = ("who", "kind", "tenant_name", "role", "status", "signed_in")
    list_filter = (UserKindFilter, TenantAutocompleteFilter, "role", "is_active")
    list_select_related = ("tenant",)
    search_fields = ("email", "name", "username")
    ordering = ("tenant__name", "email", "username")
    actions = ["transfer_ownership", "sign_out_everywhere"]
    MAX_SIGN_OUTS = 500

    okta_user_fieldsets = (
        (None, {"fields": ("kind", "tenant", "email", "name", "first_name", "last_name")}),
        ("In Inigo", {"fields": ("role", "is_active", "status", "is_staff")}),
        (
            "Identity at Okta",
            {
                # Not the internal user name (t1-...): nobody needs it, and it reads like something to edit.
                "fields": ("issuer", "sub"),
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
        ("Dates", {"fields": ("signed_in", "date_joined")}),
    )
    okta_user_readonly_fields = (
        "kind", "tenant", "email", "name", "first_name", "last_name", "issuer", "sub", "signed_in", "date_joined",
        "scim_user_name", "scim_id", "provisioned_at", "status",
    )
    role_with_source = staticmethod(role_with_source)

    class Media:
        css = {"screen": ("admin/css/vendor/select2/select2.min.css", "admin/css/autocomplete.css")}
        js = ("admin/js/vendor/jquery/jquery.min.js", "admin/js/vendor/select2/select2.full.min.js",
              "admin/js/jquery.init.js", "admin/js/autocomplete.js", "support/filters.js")

    @admin.display(description="person", ordering="email")
    def who(self, user: User) -> str:
        """People from Okta by name and email; staff accounts by their user name (what they sign in with)."""
        if self._from_okta(user):
            if user.name and user.email:
                return format_html('{}<div class="event-reason-title">{}</div>', user.name, user.email)
            return user.email or user.name or f"sub {user.sub}"
        return user.get_full_name() or user.username

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return with_last_sign_in(super().get_queryset(request))

    @admin.display(description="last sign-in", ordering="signed_in_at")
    def signed_in(self, user: User) -> str:
        return when(user.signed_in_at)

    @admin.display(description="tenant", ordering="tenant__name")
    def tenant_name(self, user: User) -> str:
        return user.tenant.name if user.tenant else "-"

    @admin.display(description="kind")
    def kind(self, user: User) -> str:
        if self._from_okta(user):
            return mark_safe('<span class="kind kind-okta">From Okta</span>')
        label = "Staff, superuser" if user.is_superuser else "Staff"
        return format_html('<span class="kind kind-staff">{}</span>', label)

    @staticmethod
    def _from_okta(user: User | None) -> bool:
        return user is not None and user.tenant_id is not None

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> Any:
        if roles_from_okta(obj):  # the role read-only, saying why
            return [(name, {**options, "fields": [("role_with_source" if field == "role" else field)
                                                  for field in options["fields"]]})
                    for name, options in self.okta_user_fieldsets]
        if self._from_okta(obj):
            return self.okta_user_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> Any:
        if roles_from_okta(obj):
            return (*self.okta_user_readonly_fields, "role_with_source")
        if self._from_okta(obj):
            # The role only as the policy lets this person set it (SPEC "Who may do what": superusers, in admin).
            if policy.allowed(request.user, Action.ROLE_CHANGE, obj):
                return self.okta_user_readonly_fields
            return (*self.okta_user_readonly_fields, "role")
        return super().get_readonly_fields(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # Whoever may change a staff account may give it, or their own, any permission and set its password:
        # staff accounts are for superusers to manage. Support staff see them read-only.
        if obj is not None and obj.tenant_id is None and not policy.allowed(request.user, Action.STAFF_MANAGE):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if obj is not None and obj.tenant_id is None and not policy.allowed(request.user, Action.STAFF_MANAGE):
            return False
        return super().has_delete_permission(request, obj)

    def has_transfer_permission(self, request: HttpRequest) -> bool:
        """The action "Transfer ownership": a superuser's in admin (SPEC "Who may do what")."""
        return self.has_change_permission(request) and policy.allowed(request.user, Action.OWNERSHIP_TRANSFER)

    def has_sign_out_permission(self, request: HttpRequest) -> bool:
        return self.has_change_permission(request) and policy.allowed(request.user, Action.SIGN_OUT)

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
        if change and self._from_okta(obj):
            # Only the fields changed on this page, onto the person's row as it is now, locked after their tenant's
            # (accounts.locks): a sign-in or a SCIM write committed since the page was read is kept.
            user_change(user=obj, fields=form.changed_data)  # the save ends their sessions when is_active changes
        else:
            super().save_model(request, obj, form, change)  # User.save ends the sessions when is_active changes
        if change and "is_active" in form.changed_data:
            if obj.is_active:
                outcome = f"{obj} is active again. Sessions from before stay ended: a new sign-in is needed."
            else:
                outcome = (f"{obj} is deactivated: every session of theirs has ended (at their next request, on "
                           "every server) and they cannot sign in.")
            self.message_user(request, outcome, messages.WARNING)

    @admin.action(description="Sign out everywhere", permissions=["sign_out"])
    def sign_out_everywhere(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """End every session of the selected people, staff accounts included: each is signed out at their next
        request, on every server, and must sign in again. A superuser's account only by a superuser: support staff
        may not change superusers, so they cannot force them out either."""
        if not request.user.is_superuser:
            queryset = queryset.filter(Q(is_superuser=False) | Q(pk=request.user.pk))
        selected = list(queryset.select_related("tenant")[: self.MAX_SIGN_OUTS + 1])
        if not selected:
            self.message_user(request, "Only a superuser can sign out a superuser's account.", messages.ERROR)
            return
        if len(selected) > self.MAX_SIGN_OUTS:
            self.message_user(request, f"Select at most {self.MAX_SIGN_OUTS} people at once.", messages.ERROR)
            return
        # One transaction, locking only these people, in id order (accounts.locks).
        people_sessions_end(people=User.objects.filter(pk__in=[user.pk for user in selected]),
                            reason="session_revoked", request=request,
                            detail=f"Sign out everywhere, by {request.user.get_username()}"[:500])
        for user in selected:
            self.log_change(request, user, "Signed out everywhere (every session ended).")
        names = ", ".join(str(user) for user in selected[:5]) + (" and others" if len(selected) > 5 else "")
        self.message_user(
            request, f"Signed out everywhere: {names}. Each is signed out at their next request and must sign in "
            "again.", messages.SUCCESS,
        )

    @admin.action(description="Transfer ownership to the selected person", permissions=["transfer"])
    def transfer_ownership(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        selected = list(queryset.select_related("tenant")[:2])
        if len(selected) != 1:
            self.message_user(
                request, "Select exactly one person: the new owner. The current owner becomes an admin (when roles "
                "come from Okta: what Okta gives them).",
                messages.ERROR,
            )
            return
        [new_owner] = selected
        if not policy.allowed(request.user, Action.OWNERSHIP_TRANSFER, new_owner):
            raise PermissionDenied
        try:
            demoted = ownership_transfer(new_owner=new_owner)
        except OwnershipTransferError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        tenant = new_owner.tenant
        self.log_change(request, new_owner, f"Made owner of {tenant.name} (ownership transferred).")
        outcome = f"{new_owner} is now the owner of {tenant.name}"
        # The former owner, as the transfer found them under its lock (a transfer from the console a moment before
        # changes who that is), and what role_source made them (accounts.roles.role_after_ownership): under `okta` a
        # member unless Okta makes them admin.
        for previous, role in demoted:
            self.log_change(request, previous, f"Changed role from owner to {role} (ownership moved to {new_owner}).")
            outcome += f"; {previous} is now {_A_ROLE[role]}"
        self.message_user(request, f"{outcome}.", messages.SUCCESS)


_A_ROLE = {Role.ADMIN: "an admin", Role.MEMBER: "a member", Role.OWNER: "the owner"}


class BoundedCountPaginator(Paginator):
    """Counts at most COUNT_LIMIT + 1 rows: an unfiltered COUNT(*) of two million login events takes seconds, and
    nobody pages past 20 pages of 50: they search or filter instead. Past the limit the list says "more than" it
    (the one row more tells exactly COUNT_LIMIT from more)."""

    COUNT_LIMIT = 1_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.COUNT_LIMIT + 1].count()


def _reasons_by_failure() -> list[dict[str, Any]]:
    """The catalogue, one entry per distinct failure (the ID token checks share one page for the person)."""
    entries: dict[int, dict[str, Any]] = {}
    for code, failure in FAILURES.items():
        entry = entries.setdefault(id(failure), {"codes": [], "failure": failure})
        entry["codes"].append(code)
    return list(entries.values())


@admin.register(LoginEvent)
class LoginEventAdmin(admin.ModelAdmin):
    """Every sign-in attempt, as recorded: evidence, so nobody adds, edits or deletes one here (old ones go with
    `manage.py prune_login_events`).

    Built for two million rows: the default order and the tenant and reason filters each have an index
    (tenant, -created_at), (reason, -created_at); searches are exact matches on indexed columns, never a scan."""

    list_display = ("time", "tenant_name", "kind", "person", "outcome_badge", "reason_words")
    list_display_links = ("time",)
    # Kind: sign-ins apart from sessions, setup, and the changes customers' admins make on their console (with who
    # made them in the detail); only `signin` is ever counted as a sign-in (accounts.events).
    list_filter = (TenantAutocompleteFilter, "kind", "outcome", ReasonFilter, "created_at")
    list_select_related = ("tenant",)
    search_fields = ("reference", "email", "subject", "ip_address")  # exact matches: see get_search_results
    search_help_text = ("A reference (from the person's error page), an exact email (verified or typed), a subject "
                        "(sub) or an IP address.")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a count per filter choice is a scan of every event
    paginator = BoundedCountPaginator
    list_per_page = 50
    fields = ("reference", "created_at", "tenant", "kind", "outcome", "reason", "reason_meaning", "email",
              "typed_email", "subject", "user", "detail", "ip", "user_agent")
    readonly_fields = ("reference", "created_at", "kind", "reason_meaning", "typed_email", "ip")

    class Media:
        # Django's own autocomplete (select2, jQuery) for the tenant filter, from the admin's static files.
        css = {"screen": ("admin/css/vendor/select2/select2.min.css", "admin/css/autocomplete.css")}
        js = ("admin/js/vendor/jquery/jquery.min.js", "admin/js/vendor/select2/select2.full.min.js",
              "admin/js/jquery.init.js", "admin/js/autocomplete.js", "support/filters.js")

    @admin.display(description="time", ordering="created_at")
    def time(self, event: LoginEvent) -> str:
        return when(event.created_at)

    @admin.display(description="tenant", ordering="tenant__name")
    def tenant_name(self, event: LoginEvent) -> str:
        return event.tenant.name if event.tenant else "\u2014"

    @admin.display(description="IP address")  # the field's own label would read "Ip address"
    def ip(self, event: LoginEvent) -> str:
        return event.ip_address or "\u2014"

    @admin.display(description="person")
    def person(self, event: LoginEvent) -> str:
        who = event.email or event.subject or "\u2014"
        typed = getattr(event, "typed_email", "")
        if typed and typed.lower() != event.email.lower():
            return format_html('{}<div class="event-typed">typed, unverified: {}</div>', who, typed)
        return who

    @admin.display(description="outcome", ordering="outcome")
    def outcome_badge(self, event: LoginEvent) -> str:
        return format_html('<span class="outcome outcome-{}">{}</span>', event.outcome, event.get_outcome_display())

    @admin.display(description="reason", ordering="reason")
    def reason_words(self, event: LoginEvent) -> str:
        failure = FAILURES.get(event.reason)
        if failure is None and event.reason == "ok":
            return event.reason
        if failure is None:  # a setup step or a console change: its words, the same as the console's events page
            return format_html('<code>{}</code><div class="event-reason-title">{}</div>', event.reason,
                               event_reason_words(event.reason))
        return format_html(
            '<a href="{}#{}"><code>{}</code></a><div class="event-reason-title">{}</div>',
            reverse("admin:accounts_loginevent_reasons"), event.reason, event.reason, failure.title,
        )

    @admin.display(description="what it means")
    def reason_meaning(self, event: LoginEvent) -> str:
        failure = FAILURES.get(event.reason)
        if failure is None:
            return "Signed in." if event.reason == "ok" else "\u2014"
        return format_html(
            '{}<br>The person was told: {}<br><a href="{}#{}">All reasons, and what to do</a>',
            failure.explanation, failure.action, reverse("admin:accounts_loginevent_reasons"), event.reason,
        )

    @admin.display(description="typed email (unverified)")
    def typed_email(self, event: LoginEvent) -> str:
        return getattr(event, "typed_email", "") or "\u2014"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[LoginEvent], search_term: str
    ) -> tuple[QuerySet[LoginEvent], bool]:
        """Exact matches only, each on an index (accounts.event_search, which the customer's console uses too)."""
        return login_events_matching(queryset, search_term), False

    def get_urls(self) -> list[URLPattern]:
        reasons = path("reasons/", self.admin_site.admin_view(self.reasons_view), name="accounts_loginevent_reasons")
        return [reasons, *super().get_urls()]

    def reasons_view(self, request: HttpRequest) -> HttpResponse:
        """Every reason code: what the person saw, what it means and what to do."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Sign-in failure reasons",
            "opts": self.opts,
            "reasons": _reasons_by_failure(),
        }
        return TemplateResponse(request, "admin/accounts/loginevent/reasons.html", context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LoginEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: LoginEvent | None = None) -> bool:
        return False
