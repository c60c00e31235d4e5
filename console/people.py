"""/org/people/ and /org/people/<id>/: the tenant's people, and one person with Sign out everywhere, their role and
the ownership. Each change asks accounts.policy first (a refusal is a 403 that changes nothing), then, for what
accounts.policy.RECENT_SIGN_IN marks, the recent Okta sign-in (accounts.oidc.reauth), then the service."""

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from accounts import services
from accounts.models import Role, User
from accounts.oidc.reauth import recent_sign_in_required
from accounts.policy import Action, RoleChange, allowed
from accounts.sessions import session_keep
from accounts.signins import last_sign_in
from console import role_controls, selectors
from console.access import action_refused, bad_request, change_stopped, console_page, console_render, not_now

Change = Callable[[HttpRequest, User, User], HttpResponse]


@require_GET
@console_page
def people_list(request: HttpRequest, actor: User) -> HttpResponse:
    wanted = selectors.PeopleFilter.from_query(request.GET.dict())
    page = selectors.people_page(actor.tenant, wanted)
    context = {
        "section": "people", "wanted": wanted, "page": page, "roles": Role.choices,
        "anyone": bool(page.people) or (wanted.active and selectors.tenant_has_people(actor.tenant)),
        "previous_url": _page_url(wanted, wanted.page - 1) if wanted.page > 1 else "",
        "next_url": _page_url(wanted, wanted.page + 1) if page.has_next else "",
    }
    return console_render(request, "console/people.html", context)


def _page_url(wanted: selectors.PeopleFilter, page: int) -> str:
    query = {"q": wanted.q, "role": wanted.role, "status": wanted.status, "page": page}
    return "?" + urlencode({name: value for name, value in query.items() if value})


@require_http_methods(["GET", "POST"])
@console_page
def person_page(request: HttpRequest, actor: User, person: User) -> HttpResponse:
    if request.method == "POST":
        return _person_change(request, actor, person)
    context = {
        "section": "people", "person": person, "events": selectors.person_events(person),
        "role_origin": selectors.role_origin(person), "okta_roles": _okta_roles(person),
        "last_sign_in": User.objects.filter(pk=person.pk).values_list(last_sign_in(), flat=True).first(),
        "may_sign_out": allowed(actor, Action.SIGN_OUT, person),
        "controls": role_controls.controls_for(actor, person), "recent_window": role_controls.recent_window(),
    }
    return console_render(request, "console/person.html", context)


def _okta_roles(person: User) -> str:
    """The roles Okta assigned the person over SCIM (its Entitlement Management), in words: "Admin"."""
    return ", ".join(Role(value).label for value in person.scim_roles if value in Role.values)


def _person_change(request: HttpRequest, actor: User, person: User) -> HttpResponse:
    change = CHANGES.get(request.POST.get("action", ""))
    if change is None:
        return bad_request(request, "Inigo did not recognise what this form asked for. Reload the page and try again.")
    return change(request, actor, person)


def _sign_out(request: HttpRequest, actor: User, person: User) -> HttpResponse:
    if not allowed(actor, Action.SIGN_OUT, person):
        return action_refused(request, why=f"Only the owner can end the owner's sessions. Nothing was changed for "
                                           f"{person.display_name}.")
    try:
        if not services.person_sign_out(actor=actor, person=person, request=request):
            return action_refused(request, why=f"{person.display_name} no longer belongs to {actor.tenant.name}.")
    except services.SignOutRefused:  # made the owner meanwhile, or the actor no longer an admin
        return action_refused(request, why=f"{_MEANWHILE} Nothing was changed for {person.display_name}.",
                              back=person)
    if person.pk == actor.pk:
        session_keep(request, User.objects.select_related("tenant").get(pk=actor.pk))
        messages.success(request, "Every other session of yours has ended; this browser stays signed in.")
    else:
        again = "they sign in again through Okta" if person.is_active else "they stay deactivated"
        messages.success(request, f"{person.display_name} is signed out everywhere: each of their sessions ends "
                                  f"at its next request, and {again}.")
    return _back_to(person)


def _role(request: HttpRequest, actor: User, person: User) -> HttpResponse:
    role = request.POST.get("role", "")
    if role not in role_controls.HAND_SET_ROLES:
        return bad_request(request, "A person is made an admin or a member here; Inigo did not recognise the role "
                                    "this form sent. Reload the page and try again.")
    why = role_controls.role_refusal(actor, person, role)
    if stopped := change_stopped(request, actor, Action.ROLE_CHANGE, RoleChange(person, role),
                                 why=f"{why} {_UNCHANGED}", back=person):
        return stopped
    try:
        changed = services.role_change(actor=actor, person=person, role=role, request=request)
    except services.RoleChangeRefused:  # someone else changed a role or the ownership meanwhile
        return action_refused(request, why=f"{_MEANWHILE} {_UNCHANGED}", back=person)
    messages.success(request, f"{changed.display_name} is now {_ROLE_WORDS[changed.role]}: in force at their next "
                              "click, on every device, without signing them out.")
    return _back_to(person)


def _transfer(request: HttpRequest, actor: User, person: User) -> HttpResponse:
    if refusal := role_controls.transfer_refusal(actor, person):
        return action_refused(request, why=f"{refusal} {_UNCHANGED}", back=person)
    if blocker := role_controls.transfer_blocker(person):
        return not_now(request, why=f"{blocker} {_UNCHANGED}", back=person)
    if request.POST.get("confirm") != "yes":
        # The owner cannot take it back: only the new owner can. The page's box says what the owner becomes.
        return bad_request(request, f"To make {person.display_name} the owner, tick the box that says what you become "
                                    f"and click again. {_UNCHANGED}")
    if (answer := recent_sign_in_required(request, Action.OWNERSHIP_TRANSFER)) is not None:
        return answer
    try:
        demoted = services.ownership_transfer(new_owner=person, actor=actor, request=request)
    except services.OwnershipTransferRefused:
        return action_refused(request, why=f"{_MEANWHILE} {_UNCHANGED}", back=person)
    except services.OwnershipTransferError:  # deactivated or gone meanwhile
        return not_now(request, why=f"{_MEANWHILE} {_UNCHANGED}", back=person)
    # What the former owner became is what role_source gave them (accounts.roles.role_after_ownership): under `okta`
    # a member unless Okta makes them admin. As the transfer decided it under its lock, not assumed. Today's policy
    # lets only the owner transfer, so the actor is among the former owners; were it to let anyone else, the page
    # would name no role of theirs rather than guess one.
    role = next((role for former, role in demoted if former.pk == actor.pk), None)
    if role is None:
        messages.success(request, f"{person.display_name} is now the owner of {actor.tenant.name}.")
        return _back_to(person)
    messages.success(request, f"{person.display_name} is now the owner of {actor.tenant.name}, and you are "
                              f"{_ROLE_WORDS[role]}.")
    if role == Role.MEMBER:  # the console is the owner's and admins': a member's place is the home page
        return HttpResponseRedirect(reverse("home"))
    return _back_to(person)


_ROLE_WORDS = {Role.ADMIN: "an admin", Role.MEMBER: "a member"}
_UNCHANGED = "Nothing was changed."
_MEANWHILE = "Someone changed a role or the ownership of your organisation a moment ago. Reload the page to see it."

CHANGES: dict[str, Change] = {"sign_out": _sign_out, "role": _role, "transfer": _transfer}


def _back_to(person: User) -> HttpResponse:
    return HttpResponseRedirect(reverse("console:person", args=[person.scim_id]))
