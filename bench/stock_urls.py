"""URLs of the stock mozilla-django-oidc side: the library's own `mozilla_django_oidc.urls` under /oidc/ (as its
documentation says), and /api/me/ answering the same JSON as inigo-sso's, so both runs end a login the same way."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.http import require_GET


@require_GET
def me(request: HttpRequest) -> JsonResponse:
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"error": "not_authenticated", "detail": "Sign in first."}, status=401)
    return JsonResponse({"email": user.email, "name": user.get_full_name(), "tenant": None, "role": None})


urlpatterns = [
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("api/me/", me),
]
