"""The floor of a callback on this machine: the least a Django app behind the same gunicorn can do for a login, run
as the `alt` column (`python -m bench --alt-settings bench.floor`). Settings module, URLs and views in one.

Not a product and not safe: one fixed state and nonce, no session, no database, no user, no CSRF or PKCE, no
tenant. Its callback does only what no login can do without: the token request (one POST on a kept-alive
connection) and the ID token's RS256 check (PyJWT, with the keys fetched once per process). What a real callback
adds on top of it is the price of everything that makes it a sign-in.
"""

import os
import threading
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import path

PROVIDER = os.environ["BENCH_PROVIDER_URL"].rstrip("/")
CLIENT_ID = os.environ["BENCH_CLIENT_ID"]
CLIENT_SECRET = os.environ["BENCH_CLIENT_SECRET"]
STATE, NONCE = "floor-state", "floor-nonce"  # fixed: the floor keeps nothing between requests

DEBUG = False
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.floor"
DATABASES: dict[str, Any] = {}
USE_TZ = True

_session = requests.Session()  # connections to the provider kept alive and pooled, as okta.http keeps them
_documents: dict[str, Any] = {}
_lock = threading.Lock()


def _provider() -> dict[str, Any]:
    """The token endpoint and signing keys, fetched once per process."""
    with _lock:
        if not _documents:
            metadata = _session.get(f"{PROVIDER}/.well-known/openid-configuration", timeout=5).json()
            keys = jwt.PyJWKSet.from_dict(_session.get(metadata["jwks_uri"], timeout=5).json())
            _documents.update(token_endpoint=metadata["token_endpoint"], key=keys.keys[0].key)
        return _documents


def initiate(request: HttpRequest) -> HttpResponse:
    query = urlencode({"response_type": "code", "client_id": CLIENT_ID, "scope": "openid email profile",
                       "redirect_uri": request.build_absolute_uri("/oidc/callback/floor/"), "state": STATE,
                       "nonce": NONCE})
    return HttpResponseRedirect(f"{PROVIDER}/oauth2/authorize?{query}")


def callback(request: HttpRequest) -> HttpResponse:
    documents = _provider()
    answer = _session.post(documents["token_endpoint"], auth=(CLIENT_ID, CLIENT_SECRET), timeout=5, data={
        "grant_type": "authorization_code", "code": request.GET["code"],
        "redirect_uri": request.build_absolute_uri("/oidc/callback/floor/"),
    })
    claims = jwt.decode(answer.json()["id_token"], documents["key"], algorithms=["RS256"], audience=CLIENT_ID,
                        issuer=PROVIDER)
    if claims.get("nonce") != NONCE or request.GET.get("state") != STATE:
        return HttpResponse(status=400)
    response = HttpResponseRedirect("/")
    response.set_cookie("floor", signing.dumps(claims["email"]))
    return response


def me(request: HttpRequest) -> HttpResponse:
    try:
        return JsonResponse({"email": signing.loads(request.COOKIES.get("floor", ""))})
    except signing.BadSignature:
        return JsonResponse({}, status=403)


urlpatterns = [
    path("oidc/initiate/", initiate),
    path("oidc/callback/floor/", callback),
    path("api/me/", me),
]
