from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.db.models import Case, When
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts import services
from accounts.models import Role, User
from accounts.oidc.ratelimits import login_limits
from accounts.oidc.responses import login_failed
from accounts.oidc.views import TenantAuthenticationRequestView
from inigo_sso.failures import FAILURES, LoginError
from tenants.selectors import tenant_for_email

EMAIL_MAX_LENGTH = 254


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    if user.tenant is None:
        # A staff account ("View site" from the admin): it belongs to no organisation, so there is no home here.
        return render(request, "accounts/staff_home.html")
    members = owner = None
    if user.role in (Role.OWNER, Role.ADMIN):
        # The owner and admins see who is in the organisation; only support staff move ownership (admin).
        rank = Case(When(role=Role.OWNER, then=0), When(role=Role.ADMIN, then=1), default=2)
        members = list(user.tenant.users.order_by(rank, "email")[:500])
        owner = next((member for member in members if member.role == Role.OWNER), None)
    elif user.role == Role.MEMBER:
        owner = user.tenant.users.filter(role=Role.OWNER).only("name", "email", "first_name", "last_name").first()
    return render(request, "accounts/home.html", {"members": members, "owner": owner})


@never_cache
@require_http_methods(["GET", "POST"])
@login_limits
def login_page(request: HttpRequest) -> HttpResponse:
    """SP-initiated login: the domain of a work email picks the tenant; the email becomes Okta's login_hint."""
    if request.method == "GET":
        return render(request, "accounts/login.html", {"email": ""})
    email = request.POST.get("email", "").strip()[:EMAIL_MAX_LENGTH]
    tenant = tenant_for_email(email)
    if tenant is None:
        if "@" in email:
            services.login_event_record(request, reason="email_domain_unknown", email=email)
        context = {"email": email, "error": FAILURES["email_domain_unknown"] if "@" in email else None,
                   "invalid": "@" not in email}
        return render(request, "accounts/login.html", context, status=400)
    try:
        return TenantAuthenticationRequestView().start(request, tenant, login_hint=email)
    except LoginError as error:
        return login_failed(request, error, tenant=tenant, email=email)


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
    """For the load balancer: 200 when the database (and Redis, when configured) answer; 503 naming what fails."""
    failing = [part for part, check in _health_checks().items() if not check()]
    if failing:
        return JsonResponse({"status": "unavailable", "failing": failing}, status=503)
    return JsonResponse({"status": "ok"})


def _health_checks() -> dict[str, Callable[[], bool]]:
    checks = {"database": _database_answers}
    if settings.REDIS_URL:
        checks["redis"] = _redis_answers
    return checks


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return False
    return True


def _redis_answers() -> bool:
    from django_redis import get_redis_connection
    from redis.exceptions import RedisError

    try:
        return bool(get_redis_connection("default").ping())
    except RedisError:
        return False
