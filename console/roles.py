"""/org/roles/: where the tenant's roles come from, and the groups Okta pushed, each mapped to "no role" or "admin"
(SPEC "Roles from Okta"). The owner changes them, admins view them (SPEC "Who may do what": `role_source`, group
mapping).

A change is shown before it is made: a GET with what would change (`role_source=okta`, or `group=<SCIM id>` and
`role=`) shows its consequence ("3 people become admin, 2 admins become members") and a form that confirms it. Every
POST asks the policy, then the recent Okta sign-in (accounts.oidc.reauth), then accounts.roles, which settles
everyone's role in the same transaction and records each change as an event."""

from dataclasses import dataclass

from django.contrib import messages
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.events import EventKind
from accounts.models import GroupRole, Role, TenantGroup, User
from accounts.policy import Action, allowed
from accounts.roles import (
    GroupGone,
    Reason,
    RoleChanged,
    RolePreview,
    group_role_change,
    group_role_preview,
    role_source_change,
    role_source_preview,
)
from console.access import action_refused, bad_request, change_stopped, console_page, console_render
from console.role_controls import recent_window
from tenants.models import RoleSource, Tenant

GROUPS_SHOWN = 500  # Okta pushes a handful of groups; a tenant with more sees the first 500 by name, and is told


@dataclass(frozen=True)
class Proposal:
    """A change the owner asked to see before making it: the POST fields that make it, and what it would do."""

    title: str
    confirm: str  # the button that makes it
    fields: dict[str, str]
    preview: RolePreview
    note: str

    @property
    def consequence(self) -> str:
        return preview_words(self.preview)


@require_http_methods(["GET", "POST"])
@console_page
def roles_page(request: HttpRequest, actor: User) -> HttpResponse:
    tenant = actor.tenant
    if not allowed(actor, Action.ROLE_SOURCE_VIEW, tenant):
        return action_refused(request, why="Only the owner and admins see where roles come from.")
    if request.method == "POST":
        return _change(request, actor, tenant)
    may_change = allowed(actor, Action.ROLE_SOURCE_CHANGE, tenant)
    # Another tenant's group id is a 404 whoever asks (SPEC "The customer console"), a preview or not.
    asked = group_of_tenant(tenant, request.GET["group"]) if request.GET.get("group") else None
    groups = pushed_groups(tenant)
    context = {
        "section": "roles", "tenant": tenant, "from_okta": tenant.role_source == RoleSource.OKTA,
        "groups": groups[:GROUPS_SHOWN], "groups_cut": len(groups) > GROUPS_SHOWN, "may_change": may_change,
        "group_roles": GroupRole.choices, "recent_window": recent_window(),
        "proposal": _proposal(request, tenant, asked) if may_change else None,
    }
    return console_render(request, "console/roles.html", context)


def pushed_groups(tenant: Tenant) -> list[TenantGroup]:
    """The groups Okta pushed to the tenant, by name, each with its number of members (`size`)."""
    groups: QuerySet[TenantGroup] = TenantGroup.objects.filter(tenant=tenant).annotate(size=Count("members"))
    return list(groups.order_by("display_name", "pk")[: GROUPS_SHOWN + 1])


def group_of_tenant(tenant: Tenant, scim_id: str) -> TenantGroup:
    """The tenant's pushed group with this SCIM id, else 404 (another tenant's id is no different from none)."""
    group = TenantGroup.objects.filter(tenant=tenant, scim_id=scim_id[:36]).select_related("tenant").first()
    if group is None:
        raise Http404("No such group in this organisation.")
    return group


# --- what a change would do ----------------------------------------------------------------------------------------
def _proposal(request: HttpRequest, tenant: Tenant, group: TenantGroup | None) -> Proposal | None:
    """The change the GET asks to see, if any (unknown values show nothing: the page as it is)."""
    if request.GET.get("role_source") == RoleSource.OKTA and tenant.role_source != RoleSource.OKTA:
        return Proposal(
            title="Switch to roles from Okta?", confirm="Take roles from Okta",
            fields={"action": "role_source", "role_source": RoleSource.OKTA},
            preview=role_source_preview(tenant=tenant, role_source=RoleSource.OKTA),
            note="From then on a person is admin while they are in a group below that is mapped to admin, or while "
                 "Okta assigns them Inigo's Admin role, else member; nobody sets roles by hand on this console. The "
                 "owner stays owner.",
        )
    role = request.GET.get("role")
    if group is None or role not in GroupRole.values or group.role == role:
        return None
    words = GroupRole(role).label.lower()
    note = "" if tenant.role_source == RoleSource.OKTA else (
        "Roles come from Inigo now: the mapping is kept, and changes nobody's role until roles come from Okta.")
    return Proposal(title=f"Map {group.display_name} to {words}?", confirm=f"Map {group.display_name} to {words}",
                    fields={"action": "group_role", "group": group.scim_id, "role": role},
                    preview=group_role_preview(group=group, role=role), note=note)


def preview_words(preview: RolePreview, *, done: bool = False) -> str:
    """"3 people become admin, 2 admins become members" ("became" once `done`), or that nobody's role changes."""
    to_admin, to_member = preview.to_admin, preview.to_member
    if not to_admin and not to_member:
        return "Nobody's role changed." if done else "Nobody's role changes."
    one, many = ("became", "became") if done else ("becomes", "become")
    parts = []
    if to_admin:
        parts.append(f"{to_admin} {'person' if to_admin == 1 else 'people'} {one if to_admin == 1 else many} admin")
    if to_member:
        parts.append(f"{to_member} admin{'' if to_member == 1 else 's'} {one if to_member == 1 else many} "
                     f"{'a member' if to_member == 1 else 'members'}")
    return ", ".join(parts) + "."


def changed_words(changes: list[RoleChanged]) -> str:
    preview = RolePreview(to_admin=sum(1 for change in changes if change.new == Role.ADMIN),
                          to_member=sum(1 for change in changes if change.new == Role.MEMBER))
    return preview_words(preview, done=True)


# --- the changes ---------------------------------------------------------------------------------------------------
def _change(request: HttpRequest, actor: User, tenant: Tenant) -> HttpResponse:
    action = request.POST.get("action", "")
    if action not in ("role_source", "group_role"):
        return bad_request(request, "Inigo did not recognise what this form asked for. Reload the page and try again.")
    # Another tenant's group id is a 404 whoever asks (SPEC "The customer console"), before the policy's 403.
    group = group_of_tenant(tenant, request.POST.get("group", "")) if action == "group_role" else None
    if stopped := change_stopped(request, actor, Action.ROLE_SOURCE_CHANGE, tenant,
                                 why="Only the owner changes where roles come from and how groups map to roles; "
                                     "admins see them. Nothing was changed."):
        return stopped
    reason = Reason(EventKind.CONSOLE, "set on the console", actor, request)
    if group is None:
        return _role_source(request, tenant, reason)
    return _group_role(request, group, reason)


def _role_source(request: HttpRequest, tenant: Tenant, reason: Reason) -> HttpResponse:
    wanted = request.POST.get("role_source", "")
    if wanted not in RoleSource.values:
        return bad_request(request, "Roles come from Inigo or from Okta; Inigo did not recognise the choice this form "
                                    "sent. Reload the page and try again.")
    changes = role_source_change(tenant=tenant, role_source=wanted, reason=reason)
    if wanted == RoleSource.OKTA:
        messages.success(request, f"Roles now come from Okta. {changed_words(changes)} In force at each person's "
                                  "next click, without signing them out.")
    else:
        messages.success(request, "Roles now come from Inigo: everyone keeps the role they have, and you set roles "
                                  "by hand on each person's page.")
    return _back()


def _group_role(request: HttpRequest, group: TenantGroup, reason: Reason) -> HttpResponse:
    role = request.POST.get("role")
    if role not in GroupRole.values:
        return bad_request(request, "A group is mapped to no role or to admin; Inigo did not recognise the choice "
                                    "this form sent. Reload the page and try again.")
    try:
        changes = group_role_change(group=group, role=role, reason=reason)
    except GroupGone:
        messages.error(request, f"Okta removed the group {group.display_name} a moment ago: nothing was changed.")
        return _back()
    words = GroupRole(role).label.lower()
    messages.success(request, f"{group.display_name} is mapped to {words}. {changed_words(changes)}")
    return _back()


def _back() -> HttpResponse:
    return HttpResponseRedirect(reverse("console:roles"))
