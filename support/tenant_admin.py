"""Admin for customer organisations: where support staff enter a customer's Okta app and check that it works."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from accounts import policy
from accounts.events import EventKind
from accounts.models import LoginEvent, User
from accounts.oidc.redirects import tenant_redirect_uri
from accounts.policy import Action
from accounts.setup import setup_link_issue
from activity.health import BreakerHealth, RowHealth, breakers_open, tenant_health, tenants_week_health
from okta.connection import ConnectionReport
from scim.models import ProvisioningToken
from scim.tokens import scim_token_issue
from support import issuer_change
from support.issuer_change import IssuerChangeUnconfirmed, owner_known_by, people_known_by
from support.roles_admin import GroupMappingFormSet, TenantGroupInline, group_mappings_save, role_source_save
from support.user_admin import TenantUserInline
from tenants import links
from tenants.forms import TenantAdminForm
from tenants.models import ConnectionCheckResult, SetupLink, Tenant
from tenants.services import connection_check_record, tenant_connection_check

# Each check makes up to four requests, each bounded by okta.http.request_seconds(); more tenants than this
# would hold a server thread, one check after another, for minutes. Use `manage.py check_tenant` in a loop for a
# sweep.
MAX_TENANTS_PER_CHECK = 5


@dataclass(frozen=True)
class OktaAppValue:
    label: str
    value: str
    help: str


def okta_app_values(request: HttpRequest, slug: str) -> list[OktaAppValue]:
    """What the customer's Okta app must hold for this deployment, on the host that serves this page (the host
    that will receive the callback, as the redirect URI sent to Okta is built the same way)."""

    def absolute(url: str) -> str:
        return request.build_absolute_uri(url)

    login_link = reverse("oidc_authentication_init") + "?" + urlencode({"tenant": slug})
    return [
        OktaAppValue(
            "Inigo organisation (tenant setting)", slug,
            "Asked for when the customer's Okta admin adds the Inigo app from the Okta Integration Network; the app "
            "builds the two URIs below from it.",
        ),
        OktaAppValue(
            "Sign-in redirect URI", tenant_redirect_uri(request, slug),
            "Okta app, General tab, Login: Sign-in redirect URIs. This tenant's own: the shared /oidc/callback/ "
            "of earlier releases no longer signs anyone in.",
        ),
        OktaAppValue(
            "Initiate login URI", absolute(reverse("oidc_initiate_tenant", args=[slug])),
            "Okta app, General tab, Login: Initiate login URI (login initiated by Okta or the app).",
        ),
        OktaAppValue("Login link", absolute(login_link), "A direct sign-in link to send to the customer."),
        OktaAppValue(
            "Universal Logout endpoint", absolute(reverse("oidc_global_token_revocation")),
            "Okta app, Sign On tab, Logout: \u201cOkta system or admin initiates logout\u201d, with this URL.",
        ),
    ]


def scim_values(request: HttpRequest, tenant: Tenant) -> dict[str, Any]:
    """Provisioning (SCIM) for the tenant page: what the customer enters in Okta, and when Okta last called."""
    token = ProvisioningToken.objects.filter(tenant=tenant).first()
    return {
        "base_url": request.build_absolute_uri(reverse("scim:root")),
        "token": token,
        "token_url": reverse("admin:tenants_tenant_scim_token", args=[tenant.pk]),
        "may_issue": policy.allowed(request.user, Action.SCIM_TOKEN_ISSUE, tenant),
    }


def _what_a_setup_link_lets_them_do(tenant: Tenant) -> str:
    if tenant.is_awaiting_setup:
        return (f"set up {tenant.name}: Okta domain, Client ID and Client Secret; the tenant becomes active when the "
                "values pass the connection check.")
    state = "active" if tenant.is_active else "switched off"
    return (f"replace the Client ID and Client Secret of {tenant.name} (the Okta domain stays; the tenant stays "
            f"{state}).")


def with_list_columns(queryset: QuerySet[Tenant]) -> QuerySet[Tenant]:
    """The list's computed columns in the same query: user count, owner, last successful sign-in, last check."""
    owner = User.objects.filter(tenant=OuterRef("pk"), is_owner=True)
    last_login = LoginEvent.objects.filter(
        tenant=OuterRef("pk"), kind=EventKind.SIGNIN, outcome=LoginEvent.Outcome.SUCCESS
    ).order_by("-created_at")  # served by the index loginevent_tenant_time
    last_check = ConnectionCheckResult.objects.filter(tenant=OuterRef("pk")).order_by("-checked_at")
    return queryset.annotate(
        users_count=Count("users"),
        owner_email=Subquery(owner.values("email")[:1]),
        last_successful_login=Subquery(last_login.values("created_at")[:1]),
        last_check_ok=Subquery(last_check.values("ok")[:1]),
        last_check_at=Subquery(last_check.values("checked_at")[:1]),
    )


class TenantChangeList(ChangeList):
    """The tenants list, with each row's week of sign-ins from one grouped query for the whole page."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        week = tenants_week_health(tenant_ids=[tenant.pk for tenant in self.result_list])
        breakers = breakers_open(list(self.result_list))
        for tenant in self.result_list:
            tenant.week_health = week.get(tenant.pk, RowHealth())
            tenant.breaker = breakers.get(tenant.pk)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    form = TenantAdminForm
    change_form_template = "admin/tenants/tenant/change_form.html"
    list_display = (
        "name_and_slug", "is_active", "users", "owner", "last_successful_login", "week_signins", "last_check",
    )
    list_display_links = ("name_and_slug",)
    list_filter = ("is_active",)
    search_fields = ("name", "slug", "okta_domain", "client_id")
    readonly_fields = ("issuer",)
    fieldsets = (
        (None, {"fields": ("name", "slug", "is_active")}),
        (
            "Okta app",
            {
                "fields": ("okta_domain", "issuer", "client_id", "client_secret"),
                "description": "The three values the customer sends from the Inigo app in their Okta admin console.",
            },
        ),
        ("Sign-in", {"fields": ("email_domains", "post_logout_redirect_uri", "session_recheck_minutes")}),
        ("Roles", {"fields": ("role_source",)}),
    )
    inlines = [TenantUserInline, TenantGroupInline]

    def get_inlines(self, request: HttpRequest, obj: Tenant | None) -> Any:
        return self.inlines if obj is not None else [TenantUserInline]  # a new tenant has no pushed groups

    actions = ["check_connection"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name == "tenants_tenant_changelist":
            # Only the list shows these; the change page and the admin's autocomplete (the login events' tenant
            # filter, which searches 10,000 tenants) do without the GROUP BY.
            return with_list_columns(queryset)
        return queryset

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return TenantChangeList

    # --- who may do what (accounts.policy) ----------------------------------------------------------------------
    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and policy.allowed(request.user, Action.TENANT_CREATE)

    def has_check_permission(self, request: HttpRequest) -> bool:
        """The "Check connection" action of the list."""
        return self.has_view_permission(request) and policy.allowed(request.user, Action.CONNECTION_CHECK)

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None) -> Any:
        """The Okta values the policy does not let this person change are shown, not editable: a set-up tenant's
        Okta domain is its issuer, which only a superuser changes (SPEC "Who may do what")."""
        fields = [*super().get_readonly_fields(request, obj), "secret_stored"]
        if not policy.allowed(request.user, policy.domain_action(obj), obj):
            fields.append("okta_domain")
        if not self._may_rotate(request, obj):
            fields.append("client_id")
        if obj is not None and not policy.allowed(request.user, Action.ROLE_SOURCE_CHANGE, obj):
            fields.append("role_source")
        return fields

    def get_fieldsets(self, request: HttpRequest, obj: Tenant | None = None) -> Any:
        if self._may_rotate(request, obj):
            return super().get_fieldsets(request, obj)
        # A read-only field shows its value, and the value of this one is the decrypted secret: whoever may not
        # replace the secret sees only whether one is stored.
        return [(name, {**options, "fields": ["secret_stored" if field == "client_secret" else field
                                              for field in options["fields"]]})
                for name, options in super().get_fieldsets(request, obj)]

    def _may_rotate(self, request: HttpRequest, obj: Tenant | None) -> bool:
        if obj is None:
            return self.has_add_permission(request)
        return self.has_change_permission(request, obj) and policy.allowed(
            request.user, Action.CREDENTIALS_ROTATE, obj)

    @admin.display(description="Client secret")
    def secret_stored(self, tenant: Tenant) -> str:
        return "A secret is stored." if tenant.has_client_secret else "No secret is stored."

    @admin.display(description="name", ordering="name")
    def name_and_slug(self, tenant: Tenant) -> str:
        return format_html('{}<div class="list-secondary">{}</div>', tenant.name, tenant.slug)

    @admin.display(description="people", ordering="users_count")
    def users(self, tenant: Tenant) -> str:
        url = reverse("admin:accounts_user_changelist") + "?" + urlencode({"tenant__id__exact": tenant.pk})
        return format_html('<a href="{}">{}</a>', url, tenant.users_count)

    @admin.display(description="owner", ordering="owner_email")
    def owner(self, tenant: Tenant) -> str | None:
        return tenant.owner_email

    @admin.display(description="last sign-in", ordering="last_successful_login")
    def last_successful_login(self, tenant: Tenant) -> Any:
        return tenant.last_successful_login

    @admin.display(description="last 7 days")
    def week_signins(self, tenant: Tenant) -> str:
        health: RowHealth = getattr(tenant, "week_health", RowHealth())
        events_url = reverse("admin:accounts_loginevent_changelist")
        failed = format_html("{} failed", health.failures)
        if health.failures:
            query = urlencode({"tenant__id__exact": tenant.pk, "outcome__exact": "failure"})
            failed = format_html('<a class="health-bad" href="{}?{}">{} failed</a>', events_url, query,
                                 health.failures)
        signins = format_html('<span class="health-ok">{} ok</span><br>{}', health.successes, failed)
        opened: BreakerHealth | None = getattr(tenant, "breaker", None)
        if opened is None:
            return signins
        if not opened.paused:  # the cool-down is over: the next sign-in tries the Okta (okta.breaker)
            return format_html('{}<br><span class="health-bad">Okta paused at {} UTC ({} failures); the next sign-in '
                               'tests it</span>', signins, f"{opened.opened_at:%H:%M}", opened.failures)
        return format_html(
            '{}<br><span class="health-bad">Okta refused since {} UTC ({} failures)</span>', signins,
            f"{opened.opened_at:%H:%M}", opened.failures,
        )

    @admin.display(description="last check", ordering="last_check_at")
    def last_check(self, tenant: Tenant) -> str:
        checked_at = getattr(tenant, "last_check_at", None)
        if checked_at is None:
            return "never"
        words, css = ("ok", "health-ok") if tenant.last_check_ok else ("problems", "health-bad")
        return format_html('<span class="{}">{}</span><div class="list-secondary">{}</div>', css, words,
                           date_format(localtime(checked_at), "SHORT_DATE_FORMAT"))

    # --- the form -------------------------------------------------------------------------------------------
    @method_decorator(sensitive_post_parameters("client_secret"))
    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # Should anything fail while handling this form, error reports must not carry the typed secret.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except IssuerChangeUnconfirmed as unconfirmed:  # raised before any write; its transaction is rolled back
            context = {**self.admin_site.each_context(request), "opts": self.model._meta}
            return issuer_change.confirmation_page(request, unconfirmed.change, context)

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], add: bool = False, change: bool = False,
        form_url: str = "", obj: Tenant | None = None,
    ) -> HttpResponse:
        if obj is not None and obj.pk is not None:
            # The saved slug, not one typed into a form that failed validation.
            slug = context["adminform"].form.initial.get("slug") or obj.slug
            context["okta_app_values"] = okta_app_values(request, slug)
            context["check_connection_url"] = reverse("admin:tenants_tenant_check_connection", args=[obj.pk])
            context["setup_link_url"] = reverse("admin:tenants_tenant_setup_link", args=[obj.pk])
            context["setup_link"] = SetupLink.objects.filter(tenant=obj).first()
            context["scim"] = scim_values(request, obj)
            context["email_domains"] = list(obj.email_domain_claims.all()[:200])
            context["email_domains_url"] = (reverse("admin:tenants_tenantemaildomain_changelist") + "?"
                                            + urlencode({"tenant__id__exact": obj.pk}))
            context["health"] = tenant_health(tenant=obj)
            context["events_url"] = reverse("admin:accounts_loginevent_changelist")
            context["reasons_url"] = reverse("admin:accounts_loginevent_reasons")
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        if isinstance(formset, GroupMappingFormSet):
            group_mappings_save(request, formset, self.message_user)

    def save_model(self, request: HttpRequest, obj: Tenant, form: TenantAdminForm, change: bool) -> None:
        moving = issuer_change.issuer_change(obj) if change else None
        if moving is not None and not issuer_change.is_confirmed(request, moving):
            raise IssuerChangeUnconfirmed(moving)  # nothing written yet: the page asks first (support.issuer_change)
        previous_issuer = moving.previous if moving is not None else None
        role_source = obj.role_source
        if change and "role_source" in form.changed_data:
            obj.role_source = form.initial["role_source"]  # switched below, with everyone's role settled
        super().save_model(request, obj, form, change)
        if role_source != obj.role_source:
            role_source_save(request, obj, role_source, self.message_user)
        if obj.secret_cleared_from:
            # Recorded apart from the form's own entry (which names the fields typed), with who saved it.
            self.log_change(request, obj, f"Cleared the Client secret: it belonged to {obj.secret_cleared_from}.")
            self.message_user(
                request,
                f"The stored Client Secret was for {obj.secret_cleared_from} and has been cleared: enter the Client "
                f"Secret of the Okta app at {obj.issuer}. Until then nobody of {obj.name} can sign in.",
                messages.WARNING,
            )
        if change and "is_active" in form.changed_data:
            people = User.objects.filter(tenant=obj).count()
            if obj.is_active:
                outcome = (f"{obj.name} is switched on again. Sessions from before it was switched off stay ended: "
                           "its people sign in again through Okta.")
            else:
                outcome = (f"{obj.name} is switched off: every session of its people ({people}) has ended, each at "
                           "their next request, and nobody of it can sign in.")
            self.message_user(request, outcome, messages.WARNING)
        if previous_issuer and previous_issuer != obj.issuer:
            # People are identified by (tenant, issuer, sub): those who signed in under the old issuer will not
            # be recognised under the new one.
            known = people_known_by(obj, previous_issuer)
            if known:
                who = ("The person who signed in before is" if known == 1
                       else f"The {known} people who signed in before are")
                owner = owner_known_by(obj, previous_issuer) is not None
                self.message_user(
                    request,
                    f"The issuer changed from {previous_issuer} to {obj.issuer}. {who} known by the old issuer: at "
                    "their next sign-in they get new accounts as members"
                    + (", and the owner's old account stays the owner until a superuser transfers the ownership."
                       if owner else "."),
                    messages.WARNING,
                )

    # Saving lands on the tenant's page: its values for the customer's Okta app and Check connection are the next
    # step (README, "For support staff").
    def response_post_save_add(self, request: HttpRequest, obj: Tenant) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:tenants_tenant_change", args=[obj.pk]))

    def response_post_save_change(self, request: HttpRequest, obj: Tenant) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:tenants_tenant_change", args=[obj.pk]))

    # --- Check connection -----------------------------------------------------------------------------------
    def get_urls(self) -> list[URLPattern]:
        check = path(
            "<path:object_id>/check-connection/",
            self.admin_site.admin_view(self.check_connection_view),  # staff only, CSRF-protected
            name="tenants_tenant_check_connection",
        )
        setup_link = path(
            "<path:object_id>/setup-link/",
            self.admin_site.admin_view(self.setup_link_view),  # staff only, CSRF-protected
            name="tenants_tenant_setup_link",
        )
        token = path(
            "<path:object_id>/scim-token/",
            self.admin_site.admin_view(self.scim_token_view),
            name="tenants_tenant_scim_token",
        )
        return [check, setup_link, token, *super().get_urls()]

    def setup_link_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Create a setup link and show it, once: the page is the POST's answer, never stored or redirected to
        (a message would keep the token in the session)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        tenant = self._tenant_for_post(request, object_id, Action.SETUP_LINK_CREATE)
        issued = setup_link_issue(tenant=tenant, created_by=request.user.get_username(), request=request)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Setup link for {tenant.name}",
            "opts": self.model._meta,
            "original": tenant,
            "tenant": tenant,
            "link": issued.link,
            "url": links.setup_link_url(issued.token, origin=links.origin_of(request)),
            "expires": date_format(localtime(issued.link.expires_at), "DATETIME_FORMAT"),
            "used": "not yet (single use)",
            "lets_them": _what_a_setup_link_lets_them_do(tenant),
            "change_url": reverse("admin:tenants_tenant_change", args=[tenant.pk]),
        }
        response = TemplateResponse(request, "admin/tenants/tenant/setup_link.html", context)
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "no-referrer"
        return response

    def check_connection_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        tenant = self._tenant_for_post(request, object_id, Action.CONNECTION_CHECK)
        report = tenant_connection_check(tenant, origin=links.origin_of(request))
        connection_check_record(tenant=tenant, report=report)
        self._show_report(request, report, prefix="", problems_only=False)
        return HttpResponseRedirect(reverse("admin:tenants_tenant_change", args=[tenant.pk]))

    @method_decorator(never_cache)
    def scim_token_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Issue a new SCIM token and show it on this response only: it is never stored in plaintext, put in a
        message (messages live in cookies or sessions) or shown again. The earlier token stops working."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        tenant = self._tenant_for_post(request, object_id, Action.SCIM_TOKEN_ISSUE)
        token = scim_token_issue(tenant=tenant, detail=f"issued in admin by {request.user.get_username()}"[:500])
        self.log_change(request, tenant, "Issued a new SCIM token (the earlier one stopped working).")
        context = {
            **self.admin_site.each_context(request),
            "title": f"SCIM token for {tenant.name}",
            "opts": self.model._meta,
            "original": tenant,
            "token": token,
            "scim": scim_values(request, tenant),
            "change_url": reverse("admin:tenants_tenant_change", args=[tenant.pk]),
        }
        return TemplateResponse(request, "admin/tenants/tenant/scim_token.html", context)

    def _tenant_for_post(self, request: HttpRequest, object_id: str, action: Action) -> Tenant:
        """The tenant a button on its page acts on (staff only, CSRF-protected, behind admin_view): 404 when it does
        not exist, 403 when the policy does not let this person do the button's action."""
        tenant = self.get_object(request, unquote(object_id))
        if tenant is None:
            raise Http404("No such tenant.")
        if not (self.has_view_permission(request, tenant) and policy.allowed(request.user, action, tenant)):
            raise PermissionDenied
        return tenant

    @admin.action(description="Check connection", permissions=["check"])
    def check_connection(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        tenants = list(queryset[: MAX_TENANTS_PER_CHECK + 1])
        if len(tenants) > MAX_TENANTS_PER_CHECK:
            self.message_user(
                request, f"Select at most {MAX_TENANTS_PER_CHECK} tenants to check at once.", messages.ERROR
            )
            return
        for tenant in tenants:
            # One line per healthy tenant, the details of what is wrong for the others.
            report = tenant_connection_check(tenant, origin=links.origin_of(request))
            connection_check_record(tenant=tenant, report=report)
            self._show_report(request, report, prefix=f"{tenant.name}: ", problems_only=True)

    def _show_report(self, request: HttpRequest, report: ConnectionReport, *, prefix: str, problems_only: bool) -> None:
        self.message_user(request, report.summary, messages.SUCCESS if report.ok else messages.ERROR)
        for finding in report.problems if problems_only else report.findings:
            level = messages.INFO if finding.ok else messages.ERROR
            self.message_user(request, prefix + finding.message, level)
