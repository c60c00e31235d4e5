"""Who reaches the console (SPEC "The customer console", "Who may do what"), asked before any page does its work:

1. someone signed out is sent to /login/;
2. a staff account (no tenant) is told the console is the customers' and support works in the admin (403);
3. a person id of another tenant (or none at all) answers 404, the same for every role, so that nobody learns
   whether an id exists elsewhere;
4. the policy's READ on the tenant (or the person): a member gets the 403 page that names the owner.

Each page then asks the policy again for what it changes (accounts.policy.allowed)."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from accounts.models import User
from accounts.oidc.reauth import recent_sign_in_required
from accounts.policy import Action, allowed
from console import navigation

ConsoleView = Callable[..., HttpResponse]


def console_page(view: ConsoleView) -> ConsoleView:
    """The checks above, then `view(request, actor, person=...)`: `person` when the URL names one (`scim_id`)."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, scim_id: str | None = None, **kwargs: Any) -> HttpResponse:
        actor = request.user
        if not actor.is_authenticated:
            return HttpResponseRedirect(reverse("login"))
        if actor.tenant_id is None:
            return staff_refused(request)
        target: Any = actor.tenant
        if scim_id is not None:
            target = kwargs["person"] = person_of_tenant(actor, scim_id)
        if not allowed(actor, Action.READ, target):
            return members_refused(request, actor)
        return view(request, actor, *args, **kwargs)

    return guarded


def console_render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """A console page: its template with the console's navigation."""
    return render(request, template, {"console_nav": navigation.ENTRIES, **context}, status=status)


def person_of_tenant(actor: User, scim_id: str) -> User:
    """The person of the actor's tenant with this SCIM id (the console's ids: never a row number), else 404."""
    person = User.objects.filter(tenant_id=actor.tenant_id, scim_id=scim_id[:36]).select_related("tenant").first()
    if person is None:
        raise Http404("No such person in this organisation.")
    return person


def members_refused(request: HttpRequest, actor: User) -> HttpResponse:
    """403 naming the owner: whom a member asks to be made admin."""
    owner = User.objects.filter(tenant_id=actor.tenant_id, is_owner=True).first()
    return render(request, "console/refused.html", {"owner": owner, "tenant": actor.tenant}, status=403)


def action_refused(request: HttpRequest, *, why: str, back: User | None = None) -> HttpResponse:
    """403 for an action the table refuses (accounts.policy): nothing was changed, and the page says why; its
    button leads back to the person's page when `back` names them, else to the people."""
    return _not_done(request, why=why, back=back, status=403, title="Not allowed")


def change_stopped(
    request: HttpRequest, actor: User, action: Action, target: Any, *, why: str, back: User | None = None
) -> HttpResponse | None:
    """What every change on /org/ asks first, in this order: the policy (a refusal is a 403 that changes nothing and
    sends nobody through Okta), then the recent Okta sign-in (accounts.oidc.reauth: the redirect through Okta).
    None when the change may go on."""
    if not allowed(actor, action, target):
        return action_refused(request, why=why, back=back)
    return recent_sign_in_required(request, action)


def not_now(request: HttpRequest, *, why: str, back: User | None = None) -> HttpResponse:
    """409 for a change the table allows but the person's state does not (RFC 9110 15.5.10, Conflict): a transfer
    to someone deactivated or who never signed in. Nothing was changed."""
    return _not_done(request, why=why, back=back, status=409, title="Not possible now")


def _not_done(request: HttpRequest, *, why: str, back: User | None, status: int, title: str) -> HttpResponse:
    context = {"why": why, "tenant": request.user.tenant, "status": status, "title": title,
               "back": reverse("console:person", args=[back.scim_id]) if back is not None else ""}
    return render(request, "console/refused.html", context, status=status)


def bad_request(request: HttpRequest, explanation: str) -> HttpResponse:
    context = {"title": "Bad request", "explanation": explanation, "status": 400}
    return render(request, "errors/generic.html", context, status=400)


def staff_refused(request: HttpRequest) -> HttpResponse:
    return render(request, "console/refused.html", {"staff": True}, status=403)
