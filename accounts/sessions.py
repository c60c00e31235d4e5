"""Who stays signed in (SPEC, "Who stays signed in"): at every request of a signed-in person, the person and their
tenant must still be active, and the session must not have been ended since (Universal Logout, "Sign out
everywhere", a deactivation). Otherwise that request signs them out, says why and records a login event.

The check costs no SQL statement: the user is read with their tenant on every request anyway
(TenantOIDCBackend.get_user), and ended sessions are found by Django's session verification hash, which mixes in
the person's and the tenant's session counters (User._get_session_auth_hash). Django drops a session whose hash no
longer matches silently; only then is the user read once more, to say why.
"""

import time
from collections.abc import Callable
from typing import Any

from django.contrib import auth, messages
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import urlencode

from accounts import services
from accounts.models import DeactivatedBy, LoginEvent, User
from inigo_sso.failures import FAILURES
from inigo_sso.redaction import kept_path
from tenants.models import Tenant

# The counters the session was made under, to tell after the fact which of them moved.
SESSION_EPOCHS_KEY = "inigo_session_epochs"
# When Okta last confirmed this session: the sign-in, then each re-check with prompt=none (accounts.oidc.recheck).
CHECKED_AT_KEY = "inigo_okta_checked_at"
NOTICE_TAG = "signed-out"
# Requests that go on, signed out, instead of being redirected: a new sign-in, the way out, and the probes.
# The setup page too: its token is in the path, which a re-check would keep in the session as where to return.
# Each with the words a login event keeps instead of its path (a sign-in's path names a tenant, a setup link's is
# its credential).
_PASS_THROUGH = {
    "/oidc/": "a sign-in step", "/login/": "the login page", "/healthz/": "the health check",
    "/static/": "a static file", "/setup/": "a setup page",
}
_PASS_THROUGH_PREFIXES = tuple(_PASS_THROUGH)


@receiver(auth.user_logged_in)
def _remember_epochs(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    tenant_epoch = user.tenant.session_epoch if user.tenant_id is not None else 0
    request.session[SESSION_EPOCHS_KEY] = [user.session_epoch, tenant_epoch]
    recheck_done(request.session)


def own_sessions_end(request: HttpRequest) -> None:
    """"Sign out of all devices" on the home page (SPEC "Who may do what": everyone, for themselves): every other
    session of the signed-in person ends at its next request, on every app server; this one stays, so that a
    person who lost a laptop goes on where they are."""
    ended = services.people_sessions_end(
        people=User.objects.filter(pk=request.user.pk), reason="session_ended_by_self", request=request,
        detail="Sign out of all devices, from the home page; this device stayed signed in",
    )
    if ended:
        session_keep(request, ended[0])


def session_keep(request: HttpRequest, user: User) -> None:
    """After `user`'s sessions were ended, keep this request's one (a person who ended their own sessions): it gets
    the new verification hash, a new key (Django's update_session_auth_hash) and the counters it now runs under."""
    auth.update_session_auth_hash(request, user)
    tenant_epoch = user.tenant.session_epoch if user.tenant_id is not None else 0
    request.session[SESSION_EPOCHS_KEY] = [user.session_epoch, tenant_epoch]


def recheck_done(session: SessionBase) -> None:
    session[CHECKED_AT_KEY] = time.time()


class SessionCheckMiddleware:
    """After AuthenticationMiddleware and MessageMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        ended = session_check(request)
        if ended is not None and not passes_through(request):
            return ended
        return self.get_response(request)  # signed out; a new sign-in (or the login page) goes on


def session_check(request: HttpRequest) -> HttpResponse | None:
    """None while the session may go on; otherwise the session is over and this is the answer to give."""
    session = request.session
    user_id = session.get(SESSION_KEY)
    if user_id is None:
        return None  # nobody signed in: no query beyond the session read
    epochs = session.get(SESSION_EPOCHS_KEY)
    user = request.user
    if user.is_authenticated:
        reason = inactive_reason(user)
        if reason is None:
            return None
    else:
        # Django has just dropped the session (its hash no longer matches) or the user is gone or switched off
        # (ModelBackend returns nobody for an inactive staff account).
        user = _user(user_id)
        reason = (inactive_reason(user) or _ended_reason(user, epochs)) if user else "session_revoked"
    # The notice is for the page that will show it: not for a sign-in that goes on to Okta, or it would greet the
    # person on their way back.
    notify = not passes_through(request) or request.path.startswith("/login/")
    return session_end(request, reason=reason, user=user, notify=notify)


def inactive_reason(user: User) -> str | None:
    if not user.is_active:
        return "session_user_removed_in_okta" if user.deactivated_by == DeactivatedBy.OKTA else "session_user_inactive"
    if user.tenant_id is not None and not user.tenant.is_active:
        return "session_tenant_inactive"
    return None


def session_end(
    request: HttpRequest, *, reason: str, user: User | None, detail: str = "", notify: bool = True
) -> HttpResponse:
    """Sign this request out, record why, and answer: JSON 401 for the API, else a redirect with the notice."""
    _sign_out(request, reason=reason, user=user, detail=detail or f"session ended at {_where(request)}")
    failure = FAILURES[reason]
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "signed_out", "reason": reason, "detail": failure.title}, status=401)
    if notify:
        messages.warning(request, f"{failure.title}. {failure.explanation} {failure.action}", extra_tags=NOTICE_TAG)
    if request.path.startswith("/admin/"):
        return HttpResponseRedirect(reverse("admin:login") + "?" + urlencode({"next": request.path}))
    return HttpResponseRedirect(reverse("login"))


def switch_sign_out(request: HttpRequest, *, to: Tenant) -> None:
    """SPEC "Who may switch the signed-in person": the person chose, on the page of accounts.oidc.switch, to sign out
    and sign in to another organisation. Recorded as every sign-out is; the sign-in that follows has its own event."""
    user = request.user
    _sign_out(request, reason="session_switched", user=user if user.is_authenticated else None,
              detail=f"signed out to sign in to {to.slug}")


def _sign_out(request: HttpRequest, *, reason: str, user: User | None, detail: str) -> None:
    auth.logout(request)
    services.login_event_record(
        request, reason=reason, tenant=user.tenant if user is not None and user.tenant_id else None, user=user,
        detail=detail, outcome=LoginEvent.Outcome.SIGNED_OUT,
    )


def _where(request: HttpRequest) -> str:
    """Where a session ended, as its login event keeps it: the path as the logs show it (inigo_sso.redaction), and for
    the pages that pass through, only which kind of page it was."""
    for prefix, words in _PASS_THROUGH.items():
        if request.path.startswith(prefix):
            return f"{request.method} of {words}"
    return f"{request.method} {kept_path(request.path, 200)}"


def passes_through(request: HttpRequest) -> bool:
    return request.path.startswith(_PASS_THROUGH_PREFIXES)


def _user(user_id: Any) -> User | None:
    try:
        pk = User._meta.pk.to_python(user_id)
    except ValidationError:
        return None
    return User.objects.select_related("tenant").defer("tenant__client_secret").filter(pk=pk).first()


def _ended_reason(user: User, epochs: Any) -> str:
    """Which counter moved since the session was made, and so why it ended."""
    if isinstance(epochs, list) and len(epochs) == 2:
        user_epoch, tenant_epoch = epochs
        if user.session_epoch != user_epoch:
            return user.session_end_reason or "session_revoked"
        if user.tenant_id is not None and user.tenant.session_epoch != tenant_epoch:
            return "session_tenant_inactive"
    return "session_revoked"
