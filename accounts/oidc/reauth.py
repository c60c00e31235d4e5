"""A recent Okta sign-in for every change (SPEC "The customer console (`/org/`)", recent sign-in).

A console session can live for hours on a shared or stolen laptop; a change that grants power needs proof that the
person at the keyboard signed in to Okta just now, as GitHub's sudo mode does. A console view asks, before it changes
anything:

    if (answer := recent_sign_in_required(request, action)) is not None:
        return answer

While the session's Okta sign-in (the ID token's `auth_time`, accounts.oidc.auth_time) is older than
`SSO_RECENT_AUTH_SECONDS`, or unknown, the answer is a redirect through the tenant's authorize endpoint with
`prompt=login` and `max_age=0` (OIDC Core 3.1.2.1: authenticate again, and say when in `auth_time`), through the same
state entries as a sign-in (accounts.oidc.states, marked as a re-authentication). The POST itself is dropped: the
callback brings the person back to the page they left, with nothing changed, and they make the change again. The
callback (accounts.oidc.views.CallbackView.reauth_success) keeps the session as it was whatever Okta answers: another
person's answer changes nothing, and an `auth_time` that is still too old (Okta ignores max_age for some federated
people) ends on a page that says so; from then on the same old sign-in gets that page at once, never another round.

Which actions need it is one set in accounts.policy (RECENT_SIGN_IN).
"""

from django.http import HttpRequest, HttpResponse

from accounts import policy
from accounts.models import User
from accounts.oidc import auth_time
from accounts.oidc.recheck import return_path
from accounts.oidc.responses import change_stopped
from accounts.oidc.views import TenantAuthenticationRequestView
from accounts.policy import Action
from inigo_sso.failures import LoginError


def recent_sign_in_required(request: HttpRequest, action: Action) -> HttpResponse | None:
    """None when `action` may go on now; else the answer to give instead of making the change."""
    user = request.user
    if not policy.needs_recent_sign_in(action) or not user.is_authenticated or user.tenant_id is None:
        # Staff accounts sign in with a password in admin and have no Okta; the console refuses them itself.
        return None
    if auth_time.is_recent(request.session):
        return None
    next_path = return_path(request)
    if auth_time.okta_ignores_reauth(request.session):
        error = LoginError("reauth_stale", "Okta answered prompt=login with this same auth_time before")
        return change_stopped(request, error, tenant=user.tenant, next_path=next_path)
    return _send_to_okta(request, user, next_path=next_path)


class ReauthRequestView(TenantAuthenticationRequestView):
    reauth = True


def _send_to_okta(request: HttpRequest, user: User, *, next_path: str) -> HttpResponse:
    view = ReauthRequestView()
    # OIDC Core 3.1.2.1: prompt=login makes Okta authenticate the person again even with an Okta session; max_age=0
    # asks for the same and makes auth_time REQUIRED in the ID token (OIDC Core 2). login_hint fills in who.
    view.extra_params = {"prompt": "login", "max_age": "0"}
    try:
        return view.start(request, user.tenant, login_hint=user.email, next_path=next_path)
    except LoginError as error:  # Okta unreachable, the tenant switched off: nothing changed, the session goes on
        return change_stopped(request, error, tenant=user.tenant, next_path=next_path)
