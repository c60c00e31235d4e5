import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection
from django.db.models import Case, Count, Q, QuerySet, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import policy, services, sessions, signins
from accounts.models import Role, User
from accounts.oidc.ratelimits import login_limits
from accounts.oidc.responses import login_failed
from accounts.oidc.views import TenantAuthenticationRequestView
from accounts.policy import Action
from inigo_sso.failures import DATABASE_RETRY_AFTER_SECONDS, FAILURES, LoginError
from tenants.selectors import tenant_for_email

# The home page's lists of people are cut here and say so: the console's People page lists and searches everyone.
HOME_LIST_LIMIT = 500

EMAIL_MAX_LENGTH = 254


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    if user.tenant is None:
        # A staff account ("View site" from the admin): it belongs to no organisation, so there is no home here.
        return render(request, "accounts/staff_home.html")
    context: dict[str, object] = {"members": None, "owner": None}
    if user.role in (Role.OWNER, Role.ADMIN):
        # The owner and admins see who is in the organisation; the owner hands ownership on from the console.
        rank = Case(When(role=Role.OWNER, then=0), When(role=Role.ADMIN, then=1), default=2)
        # People Okta's provisioning created who have not signed in yet are listed apart from the members.
        not_signed_in = Q(provisioned_at__isnull=False, last_login__isnull=True)
        # "Last sign-in" is the latest successful login event (accounts.signins: last_login marks the first).
        signed_in = user.tenant.users.exclude(not_signed_in).annotate(last_sign_in=signins.last_sign_in())
        members, context["members_cut"] = _cut(signed_in.order_by(rank, "email"))
        context["members"] = members
        context["owner"] = next((member for member in members if member.role == Role.OWNER), None)
        context["provisioned"], context["provisioned_cut"] = _cut(
            user.tenant.users.filter(not_signed_in, is_active=True).order_by("email"))
        context["groups"] = user.tenant.groups.annotate(size=Count("members")).order_by("display_name")[:200]
    elif user.role == Role.MEMBER:
        owner = user.tenant.users.filter(is_owner=True)
        context["owner"] = owner.only("name", "email", "first_name", "last_name", "tenant_id").first()
    return render(request, "accounts/home.html", context)


def _cut(people: QuerySet[User]) -> tuple[list[User], bool]:
    """The first HOME_LIST_LIMIT people, and whether there are more (the page then says it shows only those)."""
    rows = list(people[:HOME_LIST_LIMIT + 1])
    return rows[:HOME_LIST_LIMIT], len(rows) > HOME_LIST_LIMIT


@require_POST
@login_required
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """"Sign out of all devices" on the home page: every person, members included, ends their own other sessions
    (SPEC "Who may do what"); this browser stays signed in."""
    if not policy.allowed(request.user, Action.SIGN_OUT, request.user):
        raise PermissionDenied
    sessions.own_sessions_end(request)
    messages.success(request, "You are signed out of every other device and browser. This one stays signed in.")
    return HttpResponseRedirect(reverse("home"))


@never_cache
@require_http_methods(["GET", "POST"])
@login_limits
def login_page(request: HttpRequest) -> HttpResponse:
    """SP-initiated login: the domain of a work email picks the tenant; the email becomes Okta's login_hint."""
    if request.method == "GET":
        # Someone signed in already sees who they are, with links home and to sign out (the template).
        return render(request, "accounts/login.html", {"email": ""})
    email = request.POST.get("email", "").strip()[:EMAIL_MAX_LENGTH]
    tenant = tenant_for_email(email)
    if tenant is None:
        if "@" in email:
            services.login_event_record(request, reason="email_domain_unknown", typed_email=email)
        context = {"email": email, "error": FAILURES["email_domain_unknown"] if "@" in email else None,
                   "invalid": "@" not in email}
        return render(request, "accounts/login.html", context, status=400)
    try:
        return TenantAuthenticationRequestView().start(request, tenant, login_hint=email)
    except LoginError as error:
        return login_failed(request, error, tenant=tenant, typed_email=email)


@require_GET
def me(request: HttpRequest) -> JsonResponse:
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"error": "not_authenticated", "detail": "Sign in first."}, status=401)
    return JsonResponse({
        "email": user.email,
        "name": user.display_name,
        "tenant": user.tenant.slug if user.tenant else None,
        "role": user.role or None,
    })


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """For the load balancer (SPEC): 200 while the database answers, the body naming each part; without the cache
    (Redis) sign-ins go on, so that is `degraded`, still 200. 503 only when the database does not answer."""
    database = "ok" if _database_answers() else "down"
    cache_state = "ok" if _cache_answers() else "down"
    status = "down" if database == "down" else ("degraded" if cache_state == "down" else "ok")
    body = {"status": status, "database": database, "cache": cache_state}
    if database == "ok":
        return JsonResponse(body)
    return JsonResponse(body, status=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return False
    return True


def _cache_answers() -> bool:
    """A write and a read back, under a key of this check's own (several processes check at once): with Redis
    set to ignore its errors (settings), a failing Redis reads None."""
    key = f"healthz:{secrets.token_hex(8)}"
    try:
        cache.set(key, "ok", timeout=5)
        return cache.get(key) == "ok"
    except Exception:  # any cache backend's failure means the same here: the cache is down
        return False
