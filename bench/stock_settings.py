"""Stock mozilla-django-oidc 5.0.2 for one provider, configured as its documentation's Quick start says, for the
benchmark's side-by-side run: the library's own backend (`mozilla_django_oidc.auth.OIDCAuthenticationBackend`), its
views through `mozilla_django_oidc.urls`, RS256 with OIDC_OP_JWKS_ENDPOINT, PKCE on, Django's own user model and the
middleware of `django-admin startproject`. Not part of the app: it imports nothing from accounts/ or tenants/.

Shared with the inigo-sso run so that only the sign-in code differs: the same PostgreSQL server (another database),
the same persistent-connection settings (CONN_MAX_AGE=60 and health checks, as inigo_sso.settings), database sessions,
the same scopes (`openid email profile`), gunicorn.conf.py, and the query-counting middleware when asked for.
"""

import os

import dj_database_url

PROVIDER = os.environ["BENCH_PROVIDER_URL"].rstrip("/")

DEBUG = False
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "mozilla_django_oidc",  # after django.contrib.auth, as the documentation says
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
if os.environ.get("BENCH_COUNT_QUERIES") == "1":
    MIDDLEWARE = ["bench.querycount.QueryCountMiddleware", *MIDDLEWARE]

ROOT_URLCONF = "bench.stock_urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SESSION_ENGINE = "django.contrib.sessions.backends.db"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}

# --- mozilla-django-oidc, as https://mozilla-django-oidc.readthedocs.io/en/stable/installation.html says ----------
AUTHENTICATION_BACKENDS = ("mozilla_django_oidc.auth.OIDCAuthenticationBackend",)
OIDC_RP_CLIENT_ID = os.environ["BENCH_CLIENT_ID"]
OIDC_RP_CLIENT_SECRET = os.environ["BENCH_CLIENT_SECRET"]
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_OP_JWKS_ENDPOINT = f"{PROVIDER}/jwks"
OIDC_OP_AUTHORIZATION_ENDPOINT = f"{PROVIDER}/oauth2/authorize"
OIDC_OP_TOKEN_ENDPOINT = f"{PROVIDER}/oauth2/token"
OIDC_OP_USER_ENDPOINT = f"{PROVIDER}/userinfo"
OIDC_USE_PKCE = True
# The local provider's ID tokens carry no `kid` (Okta's do); the library's documented switch for that. Its JWKS holds
# one key, so the same key is found either way.
OIDC_VERIFY_KID = False
OIDC_RP_SCOPES = "openid email profile"  # what inigo-sso asks for, so both receive the same claims
LOGIN_REDIRECT_URL = "/"
LOGIN_REDIRECT_URL_FAILURE = "/login-failed/"  # a path of its own, so the benchmark can tell a failure
LOGOUT_REDIRECT_URL = "/"
