"""The login flow: initiate (tenant, state) -> provider authorize -> callback (state -> tenant -> token ->
validated claims -> provisioned user -> session). Built on mozilla-django-oidc's request and callback views."""

from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.sessions.backends.base import UpdateError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts import hot_path, services
from accounts.models import DeactivatedBy
from accounts.oidc import auth_time, callback_read, navigation, states
from accounts.oidc.backend import (
    AUTH_TIME_ATTRIBUTE,
    ID_TOKEN_SESSION_KEY,
    REAUTH_ATTRIBUTE,
    RECHECK_ATTRIBUTE,
    TENANT_ATTRIBUTE,
    callback_documents,
)
from accounts.oidc.navigation import same_origin_path
from accounts.oidc.ratelimits import callback_limits, initiate_limits
from accounts.oidc.redirects import tenant_redirect_uri
from accounts.oidc.responses import change_stopped, login_failed
from accounts.oidc.switch import signed_in_elsewhere, switch_page
from accounts.sessions import recheck_done, session_end, switch_sign_out
from inigo_sso.failures import LoginError
from okta import provider
from tenants.issuers import IssuerError, issuer_from_okta_domain
from tenants.models import Tenant

LOGIN_HINT_MAX_LENGTH = 254


class TenantAuthenticationRequestView(OIDCAuthenticationRequestView):
    """Starts a fresh authorization-code flow for one tenant. `state` (OIDC Core 3.1.2.1, CSRF protection) and
    `nonce` (3.1.2.1, replay protection) come from the library, drawn with `secrets`, as does the PKCE verifier
    sent as an S256 challenge (RFC 7636 4.1-4.3, settings.OIDC_USE_PKCE); the tenant and the page to return to
    are bound to that state entry."""

    recheck = False  # True: a prompt=none re-check of the signed-in person (accounts.oidc.recheck)
    reauth = False  # True: a prompt=login re-authentication of the signed-in person (accounts.oidc.reauth)

    def __init__(self, **kwargs: Any) -> None:
        View.__init__(self, **kwargs)  # the library reads one global provider here; we have one per tenant
        self.login_hint = ""
        self.extra_params: dict[str, str] = {}

    def start(
        self, request: HttpRequest, tenant: Tenant, *, login_hint: str = "", next_path: str = "/"
    ) -> HttpResponse:
        self.prepare(request, tenant, login_hint=login_hint)
        return self.send(request, tenant, next_path=next_path)

    def prepare(self, request: HttpRequest, tenant: Tenant, *, login_hint: str = "") -> None:
        """What can fail before any state is made: a tenant that cannot sign in, an Okta that cannot be reached."""
        refuse_unstartable(tenant)
        metadata = provider.provider_metadata(tenant.issuer)
        self.OIDC_OP_AUTH_ENDPOINT = metadata.authorization_endpoint
        self.OIDC_RP_CLIENT_ID = tenant.client_id
        self.login_hint = login_hint[:LOGIN_HINT_MAX_LENGTH]
        self.redirect_uri = tenant_redirect_uri(request, tenant.slug)

    def send(self, request: HttpRequest, tenant: Tenant, *, next_path: str) -> HttpResponse:
        """The state entry, bound to the tenant, and the redirect to the authorize endpoint (after prepare)."""
        response = super().get(request)
        state = parse_qs(urlsplit(response["Location"]).query)["state"][0]
        states.bind_tenant(request.session, state, tenant_id=tenant.pk, next_path=next_path,
                           redirect_uri=self.redirect_uri, recheck=self.recheck, reauth=self.reauth)
        # One global "next" would be shared by every tab; ours lives in the state entry.
        request.session.pop("oidc_login_next", None)
        return response

    def get_extra_params(self, request: HttpRequest) -> dict[str, str]:
        # The library sends one global callback URL; each tenant has its own (RFC 9700 section 4.4, mix-up
        # defense). These parameters replace the library's.
        params = {"redirect_uri": self.redirect_uri}
        if self.login_hint:
            # OIDC Core 4: a login_hint received at the initiation endpoint is passed on to the provider.
            params["login_hint"] = self.login_hint
        params.update(self.extra_params)
        return params

    def start_or_ask(self, request: HttpRequest, tenant: Tenant, *, login_hint: str, next_path: str) -> HttpResponse:
        """A login start from a link (SPEC "Who may switch the signed-in person"): for the organisation this browser
        is signed in to, or with nobody signed in, the flow of OIDC Core 4 as it is; for another one, the page that
        asks first. A tenant that cannot sign in is refused either way, before anyone is asked."""
        refuse_unstartable(tenant)
        if signed_in_elsewhere(request, tenant):
            return switch_page(request, tenant, login_hint=login_hint[:LOGIN_HINT_MAX_LENGTH], next_path=next_path)
        return self.start(request, tenant, login_hint=login_hint, next_path=next_path)


def refuse_unstartable(tenant: Tenant) -> None:
    if tenant.is_awaiting_setup:
        raise LoginError("tenant_awaiting_setup")  # no Okta to send anyone to yet
    if not tenant.is_active:
        raise LoginError("tenant_inactive")


@initiate_limits
@method_decorator([csrf_exempt, never_cache], name="dispatch")
class InitiateLoginView(TenantAuthenticationRequestView):
    """Third-party-initiated login (OIDC Core 4): the Okta dashboard tile. Okta sends GET; POST is allowed.

    No CSRF token can come from Okta; a forged initiation only starts a login in the victim's own browser,
    and the state entry it creates is bound to that browser's session. With someone of another organisation
    signed in, it only asks (accounts.oidc.switch)."""

    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest, slug: str | None = None) -> HttpResponse:
        params = request.POST if request.method == "POST" else request.GET
        tenant = None
        try:
            tenant = self._tenant(request, params, slug)
            if tenant is None:
                return _organisation_picker(request, params)
            next_path = same_origin_path(request, _single(params, "target_link_uri"))
            return self.start_or_ask(request, tenant, login_hint=_single(params, "login_hint"), next_path=next_path)
        except LoginError as error:
            # The tenant a refusal concerns, where one is known, so support sees it on the login event.
            tenant = tenant or getattr(error, "tenant", None)
            return login_failed(request, error, tenant=tenant, typed_email=_single(params, "login_hint"))

    def post(self, request: HttpRequest, slug: str | None = None) -> HttpResponse:
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return _again_by_get(request)
        return self.get(request, slug)

    def _tenant(self, request: HttpRequest, params: QueryDict, slug: str | None) -> Tenant | None:
        """The tenant this initiation is for; None when several active tenants share the issuer."""
        raw_iss = _single(params, "iss")
        issuer = _issuer(raw_iss) if raw_iss else None
        if slug is not None:
            tenant = hot_path.tenant_by_slug(slug)
            if tenant is None:
                raise LoginError("tenant_unknown", f"slug {slug[:63]!r}")
            if tenant.is_awaiting_setup:
                raise LoginError("tenant_awaiting_setup")
            if issuer is not None and issuer != tenant.issuer:
                raise _about(LoginError("issuer_mismatch", f"iss {issuer} is not {tenant.issuer}"), tenant)
            return tenant
        if issuer is None:
            raise LoginError("issuer_missing")
        # Never redirect anywhere for an issuer that is not an active tenant's: `iss` is attacker input.
        candidates = hot_path.tenants_of_issuer(issuer)
        if not candidates:
            inactive = Tenant.objects.filter(issuer=issuer).order_by("name").first()
            error = LoginError("tenant_inactive" if inactive else "issuer_unknown", f"iss {issuer}")
            raise _about(error, inactive)
        if len(candidates) > 1:
            return None
        return candidates[0]


# What a POSTed initiation forwards to its GET, each cut where no valid value is longer (an issuer is at most about 340
# characters; login_hint is cut to its length by the start anyway): the GET's address stays short, and a value cut
# short is refused there, as it would have been here.
_FORWARDED = {"iss": 512, "login_hint": LOGIN_HINT_MAX_LENGTH, "target_link_uri": navigation.MAX_LENGTH + 1}


def _again_by_get(request: HttpRequest) -> HttpResponse:
    """A POST that carries no session cookie: the browser may still hold one, which SameSite=Lax keeps from a
    cross-site POST (Okta's, or a page's that auto-submits), while the answer's new session cookie would replace
    it: the person signed in would be switched without ever being asked. The same start again by GET (303, RFC 9110
    section 15.4.4), a top-level navigation that carries the cookie, so that the initiation sees who is signed in."""
    params = request.POST
    forwarded = {name: value[:limit] for name, limit in _FORWARDED.items() if (value := _single(params, name))}
    query = urlencode(forwarded)
    return HttpResponseRedirect(request.path + (f"?{query}" if query else ""), status=303)


def _about(error: LoginError, tenant: Tenant | None) -> LoginError:
    error.tenant = tenant  # type: ignore[attr-defined]
    return error


def _organisation_picker(request: HttpRequest, params: QueryDict) -> HttpResponse:
    """One Okta org, several Inigo organisations (the app installed twice): the person picks one."""
    issuer = _issuer(_single(params, "iss"))
    forwarded = QueryDict(mutable=True)
    for name in ("iss", "login_hint", "target_link_uri"):
        if value := _single(params, name):
            forwarded[name] = value
    context = {"tenants": hot_path.tenants_of_issuer(issuer), "query": forwarded.urlencode()}
    return render(request, "accounts/pick_organisation.html", context)


@initiate_limits  # a login start like the initiation, counted with it
@method_decorator(never_cache, name="dispatch")
class AuthenticateView(TenantAuthenticationRequestView):
    """SP-initiated login for a known tenant: /oidc/authenticate/?tenant=<slug>[&next=/path]."""

    def get(self, request: HttpRequest) -> HttpResponse:
        tenant = None
        try:
            slug = _single(request.GET, "tenant")
            tenant = hot_path.tenant_by_slug(slug) if slug else None
            if tenant is None:
                raise LoginError("tenant_unknown", f"slug {slug[:63]!r}")
            next_path = same_origin_path(request, _single(request.GET, "next"))
            return self.start_or_ask(request, tenant, login_hint="", next_path=next_path)
        except LoginError as error:
            return login_failed(request, error, tenant=tenant)


@initiate_limits
@method_decorator(never_cache, name="dispatch")
class SwitchView(TenantAuthenticationRequestView):
    """/oidc/switch/<slug>/: the form of the page that asks (accounts.oidc.switch). A POST, under Django's CSRF check,
    so no other site can send it: signs out whoever is signed in (a login event) and starts the sign-in the link
    asked for. A GET is the link itself again: /oidc/authenticate/, which asks."""

    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        return HttpResponseRedirect(reverse("oidc_authentication_init") + "?" + urlencode({"tenant": slug}))

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        tenant = None
        login_hint = _single(request.POST, "login_hint")
        try:
            tenant = hot_path.tenant_by_slug(slug)
            if tenant is None:
                raise LoginError("tenant_unknown", f"slug {slug[:63]!r}")
            next_path = same_origin_path(request, _single(request.POST, "next"))
            # Okta unreachable, the tenant switched off since the page: refused with the person still signed in.
            self.prepare(request, tenant, login_hint=login_hint)
            if request.user.is_authenticated:
                switch_sign_out(request, to=tenant)
            return self.send(request, tenant, next_path=next_path)
        except LoginError as error:
            return login_failed(request, error, tenant=tenant, typed_email=login_hint)


@callback_limits
@method_decorator(never_cache, name="dispatch")
class CallbackView(OIDCAuthenticationCallbackView):
    """A tenant's Sign-in redirect URI, /oidc/callback/<slug>/. The state entry says which tenant's login this
    answer belongs to; the slug says which provider sent it back (each tenant registers only its own)."""

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        state = _single(request.GET, "state")
        pending = states.pending_login(request.session, state) if state else None
        tenant = None
        if pending is not None:
            # The tenant the URL names, read fresh with the session (accounts.oidc.callback_read). The state entry's
            # tenant must be that one (below); another is read by itself, for the refusal's event.
            named = callback_read.tenant_named(request, slug)
            tenant = named if named is not None and named.pk == pending.tenant_id else hot_path.tenant_by_id(
                pending.tenant_id)
        try:
            if pending is None:
                if error := _single(request.GET, "error"):
                    # An error answer with no login of this browser behind it (some providers drop the state
                    # on errors): it is explained in our own words, but it signs nobody out and puts none of
                    # the provider's words on our page (anyone can make such a link).
                    raise _provider_error(error, _single(request.GET, "error_description"))
                raise LoginError("state_missing", "no pending login in this session for that state")
            if tenant is None:
                raise LoginError("tenant_inactive", "the tenant of this login no longer exists")
            if slug != tenant.slug:
                # RFC 9700 section 4.4.2: an answer that arrives at another tenant's redirect URI came from
                # another provider than the one this login was sent to (IdP mix-up). It is refused before
                # anything is sent to any token endpoint, so the code cannot reach the wrong provider.
                raise LoginError("callback_tenant_mismatch", f"state of tenant {tenant.slug}, callback of {slug[:63]}")
            _check_response_issuer(request, tenant)
            if error := _single(request.GET, "error"):
                raise _provider_error(error, _single(request.GET, "error_description"))
            if request.GET.getlist("error"):  # repeated: no one answer to act on, and no code is sent for it
                raise LoginError("callback_malformed", "more than one error in the callback")
            if not tenant.is_active:
                raise LoginError("tenant_inactive")
            if pending.expired:
                raise LoginError("state_expired")
            if not _single(request.GET, "code"):
                raise LoginError("callback_malformed", "no code in the callback")
            self.pending = pending
            setattr(request, TENANT_ATTRIBUTE, tenant)
            request.oidc_redirect_uri = pending.redirect_uri
            if pending.recheck:
                if not request.user.is_authenticated:
                    raise LoginError("session_recheck_failed", "nobody is signed in in this session any more")
                setattr(request, RECHECK_ATTRIBUTE, request.user)
            if pending.reauth:
                if not request.user.is_authenticated:
                    raise LoginError("state_missing", "nobody is signed in in this session any more")
                setattr(request, REAUTH_ATTRIBUTE, request.user)
            # The library removes the state entry and saves the session before the token exchange: single use,
            # even on failure (RFC 6749 section 10.12), committed before anyone is signed in (asynchronously: see
            # SessionStore.removal_commits_asynchronously).
            session = request.session
            session.removal_commits_asynchronously()
            try:
                return super().get(request)
            except UpdateError as exc:
                # Signed out in another tab while this callback ran: the session row, and with it the state entry,
                # is gone before the removal could be saved. No token request has gone out; the browser starts
                # afresh.
                request.session.flush()
                raise LoginError("state_missing", "the session ended while this callback ran") from exc
            finally:
                session.removal_commits_asynchronously(on=False)  # the library saved it, or never came to
        except LoginError as error:
            matched = pending is not None
            if matched and pending.recheck:
                # A re-check with Okta that does not come back with a code for this very person ends the session
                # (login_required, access_denied, another person, any failure), with the notice and an event.
                states.discard(request.session, state)
                person = request.user if request.user.is_authenticated else None
                return session_end(request, reason="session_recheck_failed", user=person,
                                   detail=f"re-check with Okta: {error.reason}: {error.detail}"[:500])
            if matched and pending.reauth and request.user.is_authenticated:
                # A re-authentication for a console change that did not confirm a recent sign-in of this person
                # (another person, an old auth_time, Okta's error): nothing changed, the session goes on as it was.
                states.discard(request.session, state)
                return change_stopped(request, error, tenant=tenant, next_path=pending.next_path)
            if matched:
                states.discard(request.session, state)
                # Only an answer to this browser's own login ends its session (else any page could sign
                # people out with a link to the callback).
                if request.user.is_authenticated:
                    auth.logout(request)
            shown = matched and error.reason in _PROVIDER_ERRORS
            description = _single(request.GET, "error_description") if shown else ""
            return login_failed(
                request, error, tenant=tenant, claims=getattr(request, "oidc_claims", None),
                provider_message=description[:300],
            )

    @property
    def success_url(self) -> str:
        return self.pending.next_path or settings.LOGIN_REDIRECT_URL

    def login_success(self) -> HttpResponse:
        session = self.request.session  # mozilla-django-oidc's fresh store of this session, not read yet
        id_token = getattr(self.request, "oidc_id_token_encrypted", None)
        if self.pending.recheck:
            # Okta still signs this person in: the session goes on, with no login event and no new session.
            if self.user.pk != self.request.user.pk:
                raise LoginError("session_recheck_failed", "Okta answered for another person")
            if id_token:
                session[ID_TOKEN_SESSION_KEY] = id_token
            auth_time.keep(session, getattr(self.request, AUTH_TIME_ATTRIBUTE, None))
            recheck_done(session)
            return HttpResponseRedirect(self.success_url)
        if self.pending.reauth:
            return self.reauth_success(session, id_token)
        key_before, user_before = session.session_key, self.request.user
        for attempt in range(3):
            try:
                # One transaction signs the person in: the session read and its old row deleted in one statement
                # (with what a parallel tab added during the token exchange), a new key (auth.login, against
                # session fixation), the new row, and the login event. A session never exists without its
                # event, and a login waits for one WAL flush here, not three; on PostgreSQL the transaction is two
                # round trips (accounts.hot_path.SignIn).
                with hot_path.sign_in() as signing_in:
                    session.take_over(signing_in)
                    response = super().login_success()  # auth.login
                    if id_token:
                        session[ID_TOKEN_SESSION_KEY] = id_token
                    auth_time.keep(session, getattr(self.request, AUTH_TIME_ATTRIBUTE, None))
                    event = services.login_event_new(self.request, reason="ok", tenant=self.user.tenant,
                                                     user=self.user)
                    signing_in.commit(event=event.row, session_row=session.row_for_sign_in())
                session.inserted()  # the response's save then has nothing left to write
                event.announce()
                return response
            except IntegrityError:
                # A login event reference drawn twice (inigo_sso.references: about once in 10**8 sign-ins among
                # millions of events), or a session key (never): nothing of this sign-in was committed. The same
                # sign-in again, with fresh draws, from the session's row as it is again.
                if attempt == 2:
                    raise
                session.forget(key_before)
                self.request.user = user_before  # else the library would skip auth.login: "already signed in"
        raise AssertionError("unreachable")

    def reauth_success(self, session: Any, id_token: str | None) -> HttpResponse:
        """Okta answered the prompt=login of a console change (accounts.oidc.reauth) for this same person: the session
        goes on, with the new auth_time, and the person is back on the page they left, to make the change again.
        OIDC Core 3.1.2.1: a provider may ignore max_age, so the auth_time it sends is checked here, not trusted."""
        if self.user.pk != self.request.user.pk:
            raise LoginError("reauth_other_person", "Okta answered for another person")
        if id_token:
            session[ID_TOKEN_SESSION_KEY] = id_token
        auth_time.keep(session, getattr(self.request, AUTH_TIME_ATTRIBUTE, None))
        recheck_done(session)
        if not auth_time.is_recent(session):
            auth_time.stale_answer_keep(session)  # never sent round again for this same answer: no loop
            raise LoginError("reauth_stale", f"auth_time {session.get(auth_time.AUTH_TIME_KEY)} is older than "
                                             f"{settings.SSO_RECENT_AUTH_SECONDS} s after prompt=login")
        services.login_event_record(self.request, reason="reauth_ok", tenant=self.user.tenant, user=self.user,
                                    succeeded=True)
        messages.info(self.request, "Okta confirmed it is you. Nothing was changed yet: make your change again.",
                      extra_tags="reauth_ok")
        return HttpResponseRedirect(self.success_url)

    def login_failure(self) -> HttpResponse:
        # The library calls this for a person authenticate() found inactive: the advice depends on who switched
        # them off (Okta's administrator, or Inigo support).
        user = getattr(self, "user", None)
        if user is not None and user.deactivated_by == DeactivatedBy.OKTA:
            raise LoginError("user_removed_in_okta", "the user was deactivated by Okta's provisioning")
        raise LoginError("user_inactive", "the user is deactivated in Inigo")


def _check_response_issuer(request: HttpRequest, tenant: Tenant) -> None:
    """RFC 9207 section 2.4: an `iss` in the authorization response (error responses too) must be the issuer of
    the provider this login was sent to; when that provider promises to send one, its absence is refused."""
    issuers = request.GET.getlist("iss")
    if len(issuers) > 1:
        raise LoginError("callback_iss_mismatch", "more than one iss in the response")
    if issuers:
        if issuers[0] != tenant.issuer:
            raise LoginError("callback_iss_mismatch", f"iss {issuers[0][:200]!r} is not {tenant.issuer}")
        return
    if callback_documents(request, tenant).metadata.authorization_response_iss_parameter_supported:
        raise LoginError("callback_iss_mismatch", "the provider promises iss in responses, and sent none")


@initiate_limits  # it writes a login event per request: counted with the login starts, whose budget it shares
@method_decorator(never_cache, name="dispatch")
class LegacyCallbackView(View):
    """The shared /oidc/callback/ of earlier releases. Answering it would reopen the mix-up attack (it cannot tell
    which provider sent the answer), so it never exchanges a code: it tells the customer's Okta admin what to
    change."""

    def get(self, request: HttpRequest) -> HttpResponse:
        state = _single(request.GET, "state")
        pending = states.pending_login(request.session, state) if state else None
        tenant = Tenant.objects.filter(pk=pending.tenant_id).first() if pending else None
        if pending is not None:
            states.discard(request.session, state)
        return login_failed(request, LoginError("callback_legacy_url", "the shared callback URL"), tenant=tenant)


_PROVIDER_ERRORS = ("access_denied", "user_not_assigned", "provider_error")


def _provider_error(error: str, description: str) -> LoginError:
    """Okta's error callback (RFC 6749 4.1.2.1); the description is shown escaped, never trusted."""
    detail = f"{error[:60]}: {description[:200]}"
    if error == "access_denied" and "not assigned" in description.lower():
        return LoginError("user_not_assigned", detail)
    if error == "access_denied":
        return LoginError("access_denied", detail)
    return LoginError("provider_error", detail)


def _issuer(raw: str) -> str:
    if "://" not in raw:
        raise LoginError("issuer_malformed", "iss is not a URL")
    try:
        return issuer_from_okta_domain(raw, allow_insecure=settings.SSO_ALLOW_INSECURE_ISSUERS)
    except IssuerError as exc:
        raise LoginError("issuer_malformed", str(exc)[:200]) from exc


def _single(params: QueryDict, name: str) -> str:
    """One value of a parameter; repeated parameters are refused by taking none (ambiguous input)."""
    values = params.getlist(name)
    if len(values) != 1 or not isinstance(values[0], str):
        return ""
    return values[0]
