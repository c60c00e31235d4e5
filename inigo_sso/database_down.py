"""While PostgreSQL cannot be reached, every request ends in a 503 that says so and to try again in a minute (SPEC
"Errors a person can meet"), never a 500.

Where this sits: the 500 handler (inigo_sso.urls.handler500), the one place every uncaught exception of a request
arrives, with the exception still in hand (sys.exc_info()). Django turns an exception into a response at each
middleware layer (convert_exception_to_response), so a middleware at the top of MIDDLEWARE would only ever see a
500 response, never the OperationalError behind it; and process_exception sees only what views raise, not the
session reads of AuthenticationMiddleware and SessionCheckMiddleware, which come before any view on every request
with a session cookie (the sessions are in PostgreSQL), nor SessionMiddleware's save of the response. The handler
sees all of them and costs a healthy request nothing: no statement, no middleware. With DJANGO_DEBUG on, Django
shows its traceback page instead of calling the handler (development only).

Only errors that mean "the server cannot be used now" count (database_unreachable); a programming error stays the
500 page it is."""

import logging
import sys

import psycopg
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers

from inigo_sso.errors import SCIM_ERROR_SCHEMA
from inigo_sso.errors import server_error as unexpected_error
from inigo_sso.failures import DATABASE_RETRY_AFTER_SECONDS, FAILURES
from inigo_sso.logs import support_reference

REASON = "database_unreachable"
# PostgreSQL's SQLSTATEs (its manual, appendix A) that say the server cannot serve this connection now, besides
# class 08 (connection exception): 57P01 admin_shutdown (pg_terminate_backend, a fast shutdown or restart),
# 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up, shutting down, in recovery), 53300
# too_many_connections. A statement timeout (57014), a deadlock (40P01) or a serialization failure (40001) are
# OperationalErrors too, but of one statement on a server that answers: not this page.
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
_SCIM_PREFIX = "/scim/"
_JSON_PREFIXES = ("/api/", "/oidc/global-token-revocation/")
_HEALTH_PATH = "/healthz/"

logger = logging.getLogger("inigo.database")


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the 503 of an unreachable database, else the 500 page."""
    error = sys.exc_info()[1]
    if error is None or not database_unreachable(error):
        return unexpected_error(request)
    _log(error)
    _stop_session_reads(request)
    response = database_down_response(request)
    response._has_been_logged = True  # type: ignore[attr-defined]  # django.utils.log: our one line above is enough
    return response


def database_unreachable(error: BaseException) -> bool:
    """Django's OperationalError or InterfaceError raised from the driver's error (Django chains it as
    __cause__), when the server refused, dropped or never answered the connection."""
    cause = error.__cause__
    if not isinstance(error, (OperationalError, InterfaceError)) or not isinstance(cause, psycopg.Error):
        return False
    if isinstance(error, InterfaceError):
        # psycopg 3 raises it for a cursor used after it was closed: a program's mistake, unless the connection
        # under it is gone.
        return _a_connection_is_lost()
    sqlstate = cause.sqlstate
    # No SQLSTATE: the client's own verdict (connection refused, a timeout connecting, the server closed the
    # connection, the connection is closed), as the server never answered.
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES


def _a_connection_is_lost() -> bool:
    """Any of this thread's database connections closed or broken, from the driver's own state (no round trip)."""
    for wrapper in connections.all(initialized_only=True):
        raw = wrapper.connection
        if raw is not None and (getattr(raw, "closed", False) or getattr(raw, "broken", False)):
            return True
    return False


def database_down_response(request: HttpRequest) -> HttpResponse:
    """The 503 in the shape its caller reads: SCIM Error JSON for Okta's provisioning (RFC 7644 section 3.12),
    JSON for scripts, Universal Logout and the load balancer, our failure page for people."""
    if request.path.startswith(_SCIM_PREFIX):
        response = _scim_error()
    elif request.path.startswith(_JSON_PREFIXES):
        response = _json_error()
    elif request.path == _HEALTH_PATH:
        response = JsonResponse({"status": "down", "database": "down"}, status=503)
    else:
        response = _page(request)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


def _detail() -> str:
    failure = FAILURES[REASON]
    return f"{failure.explanation} {failure.action}"


def _scim_error() -> HttpResponse:
    body = {"schemas": [SCIM_ERROR_SCHEMA], "status": "503", "detail": _detail()}
    return JsonResponse(body, status=503, content_type="application/scim+json")


def _json_error() -> HttpResponse:
    return JsonResponse({"error": REASON, "detail": _detail()}, status=503)


def _page(request: HttpRequest) -> HttpResponse:
    # Rendered without the request, so that no context processor reads the person or their messages: both live
    # in the session, in the database that is down. The reference is the request's, as on every page without a
    # login event.
    context = {"failure": FAILURES[REASON], "reason": REASON, "tenant": None, **support_reference(request)}
    return HttpResponse(render_to_string("errors/login_failed.html", context), status=503)


def _stop_session_reads(request: HttpRequest) -> None:
    """A session whose read failed would be read again by the middleware the response passes back through
    (PrivatePagesMiddleware asks who is signed in): another connection attempt, another wait for the connect
    timeout, another error. Emptying the in-memory copy stops that; the row is untouched, as SessionMiddleware
    saves no session with a 5xx response, so the person is still signed in once the database is back."""
    session = getattr(request, "session", None)
    if session is not None:
        session.clear()


def _log(error: BaseException) -> None:
    # The error's class and SQLSTATE only: its message names the host, and a connection string's password must
    # never reach a log.
    cause = error.__cause__
    logger.warning(
        "database unreachable (%s, SQLSTATE %s): answered 503", type(cause).__name__,
        getattr(cause, "sqlstate", None) or "none", extra={"event": REASON, "status": 503},
    )
