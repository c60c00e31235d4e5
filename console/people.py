"""/org/people/ and /org/people/<id>/: the tenant's people, and one person with Sign out everywhere."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from accounts import services
from accounts.models import Role, User
from accounts.policy import Action, allowed
from accounts.sessions import session_keep
from accounts.signins import last_sign_in
from console import selectors
from console.access import action_refused, bad_request, console_page, console_render


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
        "role_origin": selectors.role_origin(person),
        "last_sign_in": User.objects.filter(pk=person.pk).values_list(last_sign_in(), flat=True).first(),
        "may_sign_out": allowed(actor, Action.SIGN_OUT, person),
    }
    return console_render(request, "console/person.html", context)


def _person_change(request: HttpRequest, actor: User, person: User) -> HttpResponse:
    action = request.POST.get("action", "")
    if action != "sign_out":  # role and transfer come with the recent sign-in (the next part of the console)
        return bad_request(request, "Inigo did not recognise what this form asked for. Reload the page and try again.")
    if not allowed(actor, Action.SIGN_OUT, person):
        return action_refused(request, why=f"Only the owner can end the owner's sessions. Nothing was changed for "
                                           f"{person.display_name}.")
    if not services.person_sign_out(actor=actor, person=person, request=request):
        return action_refused(request, why=f"{person.display_name} no longer belongs to {actor.tenant.name}.")
    if person.pk == actor.pk:
        session_keep(request, User.objects.select_related("tenant").get(pk=actor.pk))
        messages.success(request, "Every other session of yours has ended; this browser stays signed in.")
    else:
        messages.success(request, f"{person.display_name} is signed out everywhere: each of their sessions ends "
                                  "at its next request, and they sign in again through Okta.")
    return HttpResponseRedirect(reverse("console:person", args=[person.scim_id]))
