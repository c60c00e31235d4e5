"""Settings for inigo-sso, read from environment variables only (see README, "Configuration")."""

import base64
import hashlib
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from inigo_sso.env import env_bool, env_choice, env_int, env_list, env_nameservers, env_origin, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEVELOPMENT_SECRET_KEY = "django-insecure-inigo-sso-development-key-never-use-in-production"  # noqa: S105

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. With DJANGO_DEBUG=false the development key is refused: "
        'set DJANGO_SECRET_KEY to a long random value, e.g. python -c "import secrets; '
        'print(secrets.token_urlsafe(50))".'
    )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "mozilla_django_oidc",
    "csp",
    "axes",
    "tenants",
    "accounts",
    "scim",
    "support",
]

MIDDLEWARE = [
    "inigo_sso.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads a parameter or a cookie: NUL in any of them is a 400, never a 500 (inigo_sso.text).
    "inigo_sso.middleware.RefuseUnstorableInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # A callback's session and the tenant its URL names, in one round trip, before anything reads the session.
    "accounts.oidc.callback_read.CallbackReadMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "inigo_sso.middleware.PrivatePagesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Who stays signed in: every signed-in request checks the person, their tenant and their session counters.
    "accounts.sessions.SessionCheckMiddleware",
    # Optional per tenant: a due re-check sends the next page navigation through Okta with prompt=none.
    "accounts.oidc.recheck.SessionRecheckMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "inigo_sso.middleware.CSPMiddleware",  # django-csp's, with the policy built once
    "django_ratelimit.middleware.RatelimitMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

# SQLite (development, the browser tests) builds covering indexes without their INCLUDE columns; PostgreSQL, where
# they matter, has them (accounts.LoginEvent's loginevent_tenant_time).
SILENCED_SYSTEM_CHECKS = ["models.W040"]

ROOT_URLCONF = "inigo_sso.urls"
WSGI_APPLICATION = "inigo_sso.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "inigo_sso.logs.support_reference",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A kept connection (CONN_MAX_AGE) the server has ended (a restart, a failover, pg_terminate_backend) is found
    # by Django's SELECT 1 at the first statement of the next request, and replaced: it costs at most the request
    # that was using it (a 503, inigo_sso.database_down). The check is one round trip per request; a socket poll
    # instead misses a peer that vanished silently (commit 25419ab).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A database host that does not answer at all ends in the 503 page within seconds, not after the kernel's
    # TCP retries (minutes) with the person and a server thread waiting. DATABASE_URL's ?connect_timeout= wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    # Shared by every process: discovery documents, keys and rate-limit counters are fetched and counted once for
    # the fleet. When Redis fails, cache calls return nothing instead of raising (IGNORE_EXCEPTIONS): logins fetch
    # from the provider instead, rate limits fail open, and /healthz/ names Redis as the failing part.
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "inigo",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5, "IGNORE_EXCEPTIONS": True},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions live in the database, so a login started on one app server can finish on another.
SESSION_ENGINE = "accounts.session_store"  # the database backend, without the statements a sign-in does not need

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Password guessing at /admin/login/ is locked out per user name and client IP (django-axes); Okta sign-ins
    # carry no user name, so the lockout never touches them.
    "axes.backends.AxesStandaloneBackend",
    # Okta sign-in for tenant users; staff sign in to /admin/ with a password.
    "accounts.oidc.backend.TenantOIDCBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "inigo_sso.errors.admin_locked_out"
AXES_CLIENT_IP_CALLABLE = "inigo_sso.client_ip.client_ip"
AXES_ONLY_ADMIN_SITE = True
AXES_VERBOSE = False  # no banner on every command and worker start
AXES_HANDLER = "inigo_sso.axes_handler.AdminOnlyAxesHandler"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# One date format everywhere, with seconds and the time zone (inigo_sso/formats/en_GB/formats.py).
FORMAT_MODULE_PATH = ["inigo_sso.formats"]
DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
TIME_FORMAT = "H:i:s"
DATETIME_FORMAT = "j M Y, H:i:s T"
SHORT_DATETIME_FORMAT = "j M Y, H:i:s T"

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
# Files browsers ask for at the site's root, whatever the page says (/favicon.ico): served as they are, no 404.
WHITENOISE_ROOT = BASE_DIR / "public"

# --- Transport security -------------------------------------------------------------------------------------
HTTPS = env_bool("DJANGO_HTTPS", not DEBUG)
# How many proxies (load balancers) in front of the app append to X-Forwarded-For; 0: REMOTE_ADDR is the client.
NUM_PROXIES = env_int("DJANGO_NUM_PROXIES", 0)
if env_bool("DJANGO_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
if HTTPS:
    # RFC 6265bis section 4.1.3.2: a __Host- cookie is accepted only with Secure, Path=/ and no Domain, so no
    # other host of the domain (nor plain http) can set or shadow it. Django's defaults are Path=/ and no Domain.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
# Both reach beyond this app: includeSubDomains forces https on every host of the parent domain, and preload
# (once submitted to hstspreload.org) is hard to undo. Off unless the operator chooses them (README).
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS and env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = HTTPS and env_bool("DJANGO_HSTS_PRELOAD", False)
# `check --deploy` would warn about each one left off; leaving it off is the documented choice above.
SILENCED_SYSTEM_CHECKS += [  # with models.W040 above: an assignment here once dropped it (noise in `make run`)
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
]
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
# Lax, not Strict: the browser must send the session cookie on the top-level redirect back from Okta to
# /oidc/callback/, or the state entry bound to this browser could not be found.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 60 * 60
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Every page is served from here: no inline script, no external asset. Forms may lead on to a tenant's Okta
# (the login form's answer is a redirect there), which form-action must allow.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", "https:"],
    }
}

# --- Single sign-on -----------------------------------------------------------------------------------------


def _development_encryption_key(secret_key: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(f"inigo-sso-fernet:{secret_key}".encode()).digest()).decode()


SSO_ENCRYPTION_KEYS = env_list("SSO_ENCRYPTION_KEYS")
if not SSO_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SSO_ENCRYPTION_KEYS is not set. With DJANGO_DEBUG=false client secrets must be encrypted with keys "
            "of your own: set it to one or more comma-separated Fernet keys, e.g. python -c "
            '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())".'
        )
    SSO_ENCRYPTION_KEYS = [_development_encryption_key(SECRET_KEY)]
SSO_ALLOW_INSECURE_ISSUERS = env_bool("SSO_ALLOW_INSECURE_ISSUERS", False)
# Internal networks Inigo may contact as a tenant's provider (okta.addresses): none in production; loopback and
# private ranges for local providers when SSO_ALLOW_INSECURE_ISSUERS is on. Tests that prove the refusal set an
# exact list instead.
SSO_ALLOWED_INTERNAL_NETWORKS: list[str] = (
    ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]
    if SSO_ALLOW_INSECURE_ISSUERS
    else []
)
if SSO_ALLOW_INSECURE_ISSUERS:  # local providers on http://127.0.0.1
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append("http:")
SSO_RATE_LIMIT = env_str("SSO_RATE_LIMIT", "30/m")
# The deployment's public origin: commands (setup_link, check_tenant) have no request to take a host from.
SSO_PUBLIC_URL = env_origin("SSO_PUBLIC_URL")
SSO_SETUP_LINK_DAYS = 7
# How recent an Okta sign-in (the ID token's auth_time) must be for a change on the customer console (SPEC "The
# customer console"): older, and the change goes through Okta with prompt=login first (accounts.oidc.reauth).
SSO_RECENT_AUTH_SECONDS = env_int("SSO_RECENT_AUTH_SECONDS", 600)
RATELIMIT_USE_CACHE = "default"
RATELIMIT_VIEW = "accounts.oidc.ratelimits.rate_limited"
RATELIMIT_FAIL_OPEN = True  # a cache outage must not lock everybody out
RATELIMIT_IP_META_KEY = "inigo_sso.client_ip.client_ip"

# mozilla-django-oidc: only the settings that are the same for every tenant live here. Endpoints, client ID and
# secret are per tenant and set per request by accounts.oidc (nothing tenant-specific is read from settings).
OIDC_RP_SCOPES = "openid email profile"
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True  # RFC 7636, with S256 (the library's default method)
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_PKCE_CODE_VERIFIER_SIZE = 64
# 32 characters from a 62-letter alphabet drawn with `secrets` (get_random_string): about 190 bits each.
OIDC_STATE_SIZE = 32
OIDC_NONCE_SIZE = 32
OIDC_MAX_STATES = 20
# The library reverses this name without arguments; the redirect URI it builds is replaced by each tenant's own
# (accounts.oidc.redirects) in the authorization request and in the token request.
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_callback_legacy"
OIDC_OP_LOGOUT_URL_METHOD = "accounts.oidc.logout.provider_logout_url"
# Every outbound request has a timeout that fits a person waiting at a login: 3 s to connect (a healthy Okta
# answers a TCP/TLS handshake in well under a second from anywhere) and 5 s for each read (its token endpoint
# answers in tens of milliseconds). Past that, the page says "try again in a minute" rather than keeping a
# person, and a server thread, waiting.
OIDC_TIMEOUT = (3, 5)  # connect, read (seconds)
# Requests to one issuer in flight at once in one process (okta/provider.py): its shared documents (discovery, keys:
# one fetch serves every login waiting for it) and the per-login token and userinfo requests. A further login waits
# for a slot while the requests holding them are younger than these patiences, then fails; so a provider that hangs
# or trickles ties up these few threads, never every thread of a server. Discovery is the first request of a login,
# where a hanging provider shows; the others follow an answer from the same provider in the same login.
OIDC_MAX_REQUESTS_PER_ISSUER = {"documents": 2, "exchange": 4}
OIDC_PROVIDER_PATIENCE_SECONDS = {"discovery": 0.5, "keys": 2.0, "token": 2.0, "userinfo": 2.0}
# A whole response, not each read, within this many seconds, and at most this many bytes: a provider that answers
# one byte at a time, or without end, is cut off (each read also has OIDC_TIMEOUT's read timeout).
OIDC_RESPONSE_DEADLINE_SECONDS = 8
OIDC_MAX_RESPONSE_BYTES = 512 * 1024
OIDC_VERIFY_SSL = True
# The breaker of each issuer (okta/breaker.py; README, "When a customer's Okta fails"): it opens when 3 requests in a
# row failed, or half of at least 5 in a window of 30 s that begins at a failure; then it refuses that Okta's
# sign-ins for 30 s, and one request probes. A failure is a timeout or a failed connection.
OIDC_BREAKER = {"window_seconds": 30, "cooldown_seconds": 30, "min_requests": 5, "failure_ratio": 0.5,
                "consecutive_failures": 3}
# Connection checks (setup page, admin, check_tenant) running at once in one process; more are told to try again.
# Email domain verifications (tenants.dns_challenge) take the same slots.
OIDC_MAX_CHECKS_PER_PROCESS = 2

# Email domains, verified (SPEC): the DNS servers that look up a domain's TXT record ([] = the system's resolver),
# 2 s for each query, and the whole lookup within 3.5 s (dnspython overshoots by ~0.2 s), so the page answers
# within 5 s whatever DNS does.
SSO_DNS_NAMESERVERS = env_nameservers("SSO_DNS_NAMESERVERS")
SSO_DNS_QUERY_SECONDS = 2.0
SSO_DNS_LOOKUP_SECONDS = 3.5

# One JSON line per request and per login event, each with its request id (plain text for `make run`).
LOG_FORMAT = env_choice("DJANGO_LOG_FORMAT", "plain" if DEBUG else "json", ("json", "plain"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "inigo_sso.logs.RequestIdFilter"},
        "redact_setup_tokens": {"()": "inigo_sso.logs.RedactSetupTokensFilter"},
    },
    "formatters": {
        "json": {"()": "inigo_sso.logs.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        # To stderr, written by a thread of each process: a request only queues its lines (inigo_sso.logs).
        "console": {"()": "inigo_sso.logs.QueuedHandler", "formatter": LOG_FORMAT,
                    "filters": ["request_id", "redact_setup_tokens"]},
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Our request line replaces Django's own 4xx/5xx request warnings.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}

CSRF_FAILURE_VIEW = "inigo_sso.errors.csrf_failure"
