"""Email domains for support staff (SPEC "Email domains, verified"): every tenant's domains with their state; any
of them verified by its DNS record, or removed. Staff add a domain (verified: they vouch for it) in the tenant's
"Email domains" field, never here."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import policy
from accounts.email_domains import email_domain_remove, email_domain_verify
from accounts.policy import Action
from tenants.models import TenantEmailDomain

MAX_DOMAINS_PER_VERIFY = 5  # each lookup may take SSO_DNS_LOOKUP_SECONDS; more would hold a thread too long


@admin.register(TenantEmailDomain)
class TenantEmailDomainAdmin(admin.ModelAdmin):
    list_display = ("unicode_domain", "tenant", "state", "entered_by_staff", "added_by", "created_at", "verified_at")
    list_filter = ("state", "entered_by_staff")
    list_select_related = ("tenant",)
    search_fields = ("domain", "tenant__name", "tenant__slug")
    search_help_text = "A domain as stored (A-label, e.g. xn--bcher-kva.example), or a tenant's name or slug."
    readonly_fields = ("unicode_domain", "domain", "tenant", "state", "record", "entered_by_staff", "added_by",
                       "created_at", "verified_at")
    fields = readonly_fields
    actions = ["verify", "remove"]

    # --- who may do what (accounts.policy): everyone who reads tenants sees domains; changes by the table ---------
    def has_module_permission(self, request: HttpRequest) -> bool:
        return policy.allowed(request.user, Action.READ) and request.user.tenant_id is None

    def has_view_permission(self, request: HttpRequest, obj: TenantEmailDomain | None = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the tenant's "Email domains" field: staff vouch for what they type there

    def has_change_permission(self, request: HttpRequest, obj: TenantEmailDomain | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: TenantEmailDomain | None = None) -> bool:
        return False  # the "remove" action: it also records the event and updates the tenant's field

    def has_domains_change_permission(self, request: HttpRequest) -> bool:
        return self.has_module_permission(request) and policy.allowed(request.user, Action.EMAIL_DOMAINS_CHANGE)

    # --- columns -----------------------------------------------------------------------------------------------
    @admin.display(description="domain", ordering="domain")
    def unicode_domain(self, claim: TenantEmailDomain) -> str:
        return claim.display

    @admin.display(description="DNS record to publish")
    def record(self, claim: TenantEmailDomain) -> str:
        return f"TXT {claim.record_name} = {claim.record_value}"

    # --- actions ----------------------------------------------------------------------------------------------
    @admin.action(description="Verify by DNS (looks up the TXT record)", permissions=["domains_change"])
    def verify(self, request: HttpRequest, queryset: QuerySet[TenantEmailDomain]) -> None:
        claims = list(queryset.select_related("tenant")[: MAX_DOMAINS_PER_VERIFY + 1])
        if len(claims) > MAX_DOMAINS_PER_VERIFY:
            self.message_user(request, f"Select at most {MAX_DOMAINS_PER_VERIFY} domains to verify at once.",
                              messages.ERROR)
            return
        for claim in claims:
            if not policy.allowed(request.user, Action.EMAIL_DOMAINS_CHANGE, claim.tenant):
                continue
            result = email_domain_verify(claim=claim, by=request.user, request=request)
            self.message_user(request, f"{claim.tenant.name}: {result.message}",
                              messages.SUCCESS if result.verified else messages.WARNING)

    @admin.action(description="Remove (stops routing sign-ins at once)", permissions=["domains_change"])
    def remove(self, request: HttpRequest, queryset: QuerySet[TenantEmailDomain]) -> None:
        removed = []
        for claim in queryset.select_related("tenant"):
            if policy.allowed(request.user, Action.EMAIL_DOMAINS_CHANGE, claim.tenant):
                email_domain_remove(claim=claim, by=request.user, request=request)
                removed.append(f"{claim.display} ({claim.tenant.name})")
        self.message_user(request, "Removed: " + ", ".join(removed) if removed else "Nothing removed.",
                          messages.SUCCESS if removed else messages.WARNING)
