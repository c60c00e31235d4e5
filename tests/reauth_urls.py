"""The app's URLs plus a stand-in for the console's person page (`/org/people/<id>/`, issue 26) while console/ is
not there: a POST with `action` asks the recent-sign-in guard first, then makes the change through the service, as
the console's thin views do. Test-only (pytest.mark.urls)."""

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path

from accounts import services
from accounts.models import User
from accounts.oidc.reauth import recent_sign_in_required
from accounts.policy import Action
from inigo_sso.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401

ACTIONS = {"role": Action.ROLE_CHANGE, "transfer": Action.OWNERSHIP_TRANSFER, "sign_out": Action.SIGN_OUT,
           "check": Action.CONNECTION_CHECK}
PERSON_PAGE = "/test-org/people/{}/"


def person_page(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(User, pk=pk)
    if request.method != "POST":
        return HttpResponse(f"{person.email}: {person.role}")
    action = ACTIONS[request.POST["action"]]
    if (answer := recent_sign_in_required(request, action)) is not None:
        return answer
    try:
        if action == Action.ROLE_CHANGE:
            services.role_change(actor=request.user, person=person, role=request.POST["role"], request=request)
        elif action == Action.OWNERSHIP_TRANSFER:
            services.ownership_transfer(new_owner=person, actor=request.user, request=request)
    except services.RoleChangeRefused:
        return HttpResponseForbidden("refused")
    return HttpResponseRedirect(request.path)


urlpatterns = [path("test-org/people/<int:pk>/", person_page), *urlpatterns]
