"""The local identity provider: oidc-provider-mock (a real OpenID Provider: authorization codes, token exchange,
signed ID tokens, userinfo), behind a thin WSGI layer that adds what Okta shows people and the mock does not:

- `/dashboard`: the Okta end-user dashboard, with an "Inigo" tile that starts an IdP-initiated login;
- a sign-in page listing the demo people, instead of the mock's form (which loads its stylesheet from a CDN);
- Okta's refusal of a person who is not assigned to the app: a redirect to the client with `access_denied`,
  Okta's description and the request's `state` (the mock's own "Deny" sends neither description nor state);
- Okta Universal Logout: "Clear user sessions" on the dashboard signs a Global Token Revocation JWT with a key
  published in the provider's JWKS and posts it to Inigo (devidp.universal_logout);
- Okta's re-authentication: `auth_time`, `prompt=login` and `max_age` honoured, or ignored as Okta does for some
  federated people with `--ignore-reauth` (devidp.reauth).

Run it with `python -m devidp.server` (what `make run` does) or, in tests, with `serve_in_thread()`.
"""

import argparse
import base64
import io
import json
import re
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import requests
import werkzeug.serving
from werkzeug.test import EnvironBuilder, run_wsgi_app
from werkzeug.wrappers import Response

from devidp import demo, pages
from devidp.mock_authorization import OneAuthorizationAtATime
from devidp.reauth import Reauthentication
from devidp.universal_logout import UniversalLogout

with warnings.catch_warnings():  # authlib's notices about its own modules: noise in `make run`'s output
    import authlib.deprecate  # it turns its warnings to "always" on import; ignore them after that

    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    import oidc_provider_mock

Environ = dict[str, Any]
StartResponse = Callable[..., Any]

_CDN_STYLESHEET = re.compile(rb"<link[^>]*cdn\.jsdelivr\.net[^>]*>")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class LocalIdentityProvider:
    """The WSGI app. `issuer` is where it is reached (set once the server has its port); `app_url` is Inigo's."""

    def __init__(
        self, *, app_url: str = demo.DEFAULT_APP_URL, issuer: str = demo.DEFAULT_ISSUER, ignore_reauth: bool = False
    ) -> None:
        self.app_url = app_url.rstrip("/")
        self.issuer = issuer
        self.provider = OneAuthorizationAtATime(oidc_provider_mock.app(
            require_nonce=True,
            issue_refresh_token=False,
            user_claims=[
                oidc_provider_mock.User(sub=person.sub, claims=person.claims()) for person in demo.DEMO_PEOPLE
            ],
        ))
        self.universal_logout = UniversalLogout()
        self.reauthentication = Reauthentication(ignore_reauth=ignore_reauth)

    @property
    def dashboard_url(self) -> str:
        return f"{self.issuer}/dashboard"

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
        if path == "/" and method == "GET":
            return Response(status=302, headers={"Location": "/dashboard"})(environ, start_response)
        if path == "/dashboard" and method == "GET":
            html = pages.dashboard(
                tile_url=demo.tile_url(app_url=self.app_url, issuer=self.issuer), app_url=self.app_url,
                issuer=self.issuer,
            )
            return _html(html)(environ, start_response)
        if path == "/dashboard/clear-user-sessions" and method == "POST":
            return self._clear_user_sessions(environ, start_response)
        if path == "/jwks" and method == "GET":
            return self._jwks(environ, start_response)
        if path == "/oauth2/authorize" and method == "GET":
            return self._sign_in_page(environ, start_response)
        if path == "/oauth2/authorize" and method == "POST":
            return self._sign_in(environ, start_response)
        if path == "/oauth2/token" and method == "POST" and _client_id(environ) == demo.REFUSED_CLIENT_ID:
            return self._refuse_client(environ, start_response)
        if path == "/oauth2/token" and method == "POST":
            return self._token(environ, start_response)
        return self._provider(environ, start_response)

    # --- the authorization endpoint ---------------------------------------------------------------------------
    def _sign_in_page(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        # The mock checks the request first (client, redirect_uri, response_type, nonce); only a request it
        # would show its own form for gets ours.
        body, status, headers = run_wsgi_app(self.provider, environ, buffered=True)
        if not status.startswith("200"):
            return self._relay(b"".join(body), status, headers, start_response)
        query = _query(environ)
        earlier = self.reauthentication.signed_in(environ)
        if earlier is not None and self.reauthentication.ignore_reauth and self.reauthentication.asks_again(query):
            return self._answer_at_once(environ, start_response, earlier)
        html = pages.sign_in(
            client_id=query.get("client_id", ""), redirect_uri=query.get("redirect_uri", ""),
            login_hint=query.get("login_hint", ""),
        )
        return _html(html)(environ, start_response)

    def _sign_in(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        form = _form(environ)
        sub = form.get("sub", "").strip()
        person = demo.person_by_email(sub) or demo.person_by_sub(sub)
        if person is not None:
            form["sub"] = person.sub
        elif _EMAIL.match(sub):
            self._remember_someone_else(sub.lower())
            form["sub"] = sub.lower()
        if person is not None and not person.assigned:
            return self._refuse_not_assigned(environ, start_response)
        encoded = urlencode(form).encode()
        environ["wsgi.input"] = io.BytesIO(encoded)
        environ["CONTENT_LENGTH"] = str(len(encoded))
        body, status, headers = run_wsgi_app(self.provider, environ, buffered=True)
        if status.startswith("302") and form.get("sub"):  # a sign-in on the page: the browser's session here
            headers.add("Set-Cookie", self.reauthentication.remember(form["sub"]))
        return self._relay(b"".join(body), status, headers, start_response)

    def _answer_at_once(self, environ: Environ, start_response: StartResponse, earlier: Any) -> Iterable[bytes]:
        """--ignore-reauth: prompt=login and max_age ignored, as Okta does for some federated people: a code for the
        person already signed in, without the page, whose ID token keeps the earlier auth_time."""
        signed = dict(environ, REQUEST_METHOD="POST", CONTENT_TYPE="application/x-www-form-urlencoded")
        encoded = urlencode({"sub": earlier.sub}).encode()
        signed.update({"wsgi.input": io.BytesIO(encoded), "CONTENT_LENGTH": str(len(encoded))})
        body, status, headers = run_wsgi_app(self.provider, signed, buffered=True)
        code = parse_qs(urlsplit(headers.get("Location", "")).query).get("code", [""])[0]
        if code:
            self.reauthentication.earlier_auth_times[code] = earlier.auth_time
        return self._relay(b"".join(body), status, headers, start_response)

    def _token(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(raw)
        code = parse_qs(raw.decode("utf-8", "replace")).get("code", [""])[0]
        body, status, headers = run_wsgi_app(self.provider, environ, buffered=True)
        body = b"".join(body)
        if status.startswith("200") and code in self.reauthentication.earlier_auth_times:
            body = json.dumps(self.reauthentication.token_response(code, json.loads(body))).encode()
            headers["Content-Length"] = str(len(body))
        start_response(status, list(headers.items()))
        return [body]

    def _refuse_not_assigned(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """What Okta does for a person the Inigo app is not assigned to: back to the client with an error."""
        check = dict(environ, REQUEST_METHOD="GET", CONTENT_LENGTH="0", **{"wsgi.input": io.BytesIO()})
        body, status, headers = run_wsgi_app(self.provider, check, buffered=True)
        if not status.startswith("200"):  # an invalid request never goes back to its redirect_uri
            return self._relay(b"".join(body), status, headers, start_response)
        query = _query(environ)
        error = {"error": "access_denied", "error_description": demo.NOT_ASSIGNED_DESCRIPTION}
        if "state" in query:
            error["state"] = query["state"]
        redirect_uri = query["redirect_uri"]
        location = f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(error)}"
        return Response(status=302, headers={"Location": location})(environ, start_response)

    def _remember_someone_else(self, email: str) -> None:
        """A person typed in by email gets a name, as an Okta profile would have."""
        given_name = re.split(r"[._+-]", email.split("@")[0])[0].capitalize() or email
        claims = {"email": email, "email_verified": True, "given_name": given_name, "name": given_name,
                  "preferred_username": email}
        builder = EnvironBuilder(path=f"/users/{email}", method="PUT", data=json.dumps(claims),
                                 content_type="application/json", base_url=self.issuer)
        try:
            run_wsgi_app(self.provider, builder.get_environ(), buffered=True)
        finally:
            builder.close()

    def _refuse_client(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """Okta's answer to a token request with a wrong Client ID or Secret (RFC 6749 5.2: invalid_client, 401)."""
        error = {"error": "invalid_client", "error_description": demo.REFUSED_DESCRIPTION}
        response = Response(json.dumps(error), status=401, mimetype="application/json",
                            headers={"WWW-Authenticate": 'Basic realm="local-idp"', "Cache-Control": "no-store"})
        return response(environ, start_response)

    # --- Universal Logout ------------------------------------------------------------------------------------
    def clear_user_sessions(self, email: str) -> int:
        """Okta's "Clear User Sessions" with logout-enabled apps: Inigo's answer (204 when it signed them out)."""
        return self.universal_logout.send(
            issuer=self.issuer, client_id=demo.TENANT_CLIENT_ID, app_url=self.app_url, email=email
        )

    def _clear_user_sessions(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        email = _form(environ).get("email", "").strip().lower()
        try:
            status = self.clear_user_sessions(email) if _EMAIL.match(email) else None
        except requests.RequestException:
            status = 0
        return _html(pages.sessions_cleared(email=email, status=status))(environ, start_response)

    def _jwks(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """The mock's key, plus the one Universal Logout tokens are signed with (Okta uses the same JWKS)."""
        body, status, headers = run_wsgi_app(self.provider, environ, buffered=True)
        document = json.loads(b"".join(body))
        document["keys"] += [self.universal_logout.public_jwk(), self.reauthentication.public_jwk()]
        encoded = json.dumps(document).encode()
        headers["Content-Length"] = str(len(encoded))
        start_response(status, list(headers.items()))
        return [encoded]

    # --- everything else: the mock, with its pages' CDN stylesheet replaced by ours ---------------------------
    def _provider(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        body, status, headers = run_wsgi_app(self.provider, environ, buffered=True)
        return self._relay(b"".join(body), status, headers, start_response)

    def _relay(self, body: bytes, status: str, headers: Any, start_response: StartResponse) -> list[bytes]:
        if headers.get("Content-Type", "").startswith("text/html"):
            body = _CDN_STYLESHEET.sub(pages.stylesheet_tag().encode(), body)
            headers["Content-Length"] = str(len(body))
        start_response(status, list(headers.items()))
        return [body]


def _html(html: str) -> Response:
    return Response(html, mimetype="text/html", headers={"Cache-Control": "no-store"})


def _query(environ: Environ) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(environ.get("QUERY_STRING", "")).items()}


def _form(environ: Environ) -> dict[str, str]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length).decode("utf-8", "replace")
    return {name: values[0] for name, values in parse_qs(body, keep_blank_values=True).items()}


def _client_id(environ: Environ) -> str:
    """The client of a token request: HTTP Basic (client_secret_basic) or the form (client_secret_post). The form
    is read and put back, for the mock to read again."""
    scheme, _, credentials = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            return unquote(base64.b64decode(credentials).decode().partition(":")[0])  # RFC 6749 2.3.1
        except ValueError:
            return ""
    form = _form(environ)
    encoded = urlencode(form).encode()
    environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(encoded), str(len(encoded))
    return form.get("client_id", "")


_TLS_HANDSHAKE = 0x16  # the first byte of a TLS record carrying a ClientHello (RFC 8446 5.1)


class _RequestLog(werkzeug.serving.WSGIRequestHandler):
    """One short line a request, path only: like gunicorn's log, never a query string (codes, states)."""

    quiet = False

    def handle_one_request(self) -> None:
        # Someone typed https:// for this plain-http server: say so in words, to them and in the console, instead
        # of failing to parse a TLS handshake as a request line.
        try:
            first = self.rfile.peek(1)[:1]  # type: ignore[attr-defined]  # a BufferedReader (StreamRequestHandler)
        except OSError:  # timed out or reset while idle: the connection is done, as the parent would decide
            self.close_connection = True
            return
        if first and first[0] == _TLS_HANDSHAKE:
            self._answer_tls_attempt()
            return
        super().handle_one_request()

    def _answer_tls_attempt(self) -> None:
        self.close_connection = True
        address = f"http://127.0.0.1:{self.server.server_port}"
        words = (f"The local identity provider speaks plain http, not https: use {address} "
                 f"(and, as the Okta domain of a tenant, {address} with its http:// scheme).")
        if not self.quiet:
            print(f"[local-idp] An https request arrived: {words}", file=sys.stderr, flush=True)
        body = (words + "\n").encode()
        head = f"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}"
        with suppress(OSError):  # the client gave up on a handshake that never came
            self.wfile.write(head.encode() + b"\r\nConnection: close\r\n\r\n" + body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if not self.quiet:
            # A request line that did not parse leaves no path (werkzeug logs its 400 all the same).
            path = getattr(self, "path", "").split("?", 1)[0]
            print(f"[local-idp] {getattr(self, 'command', None) or '-'} {path or '-'} {code}", file=sys.stderr,
                  flush=True)

    def log_message(self, format: str, *args: Any) -> None:
        if not self.quiet:
            super().log_message(format, *args)


class _QuietRequestLog(_RequestLog):
    quiet = True


def make_server(
    *, port: int = demo.DEFAULT_PORT, app_url: str = demo.DEFAULT_APP_URL, quiet: bool = False,
    ignore_reauth: bool = False,
) -> tuple[werkzeug.serving.BaseWSGIServer, LocalIdentityProvider]:
    """Bind 127.0.0.1:`port` (0: any free port); the provider's issuer is the address it got."""
    identity_provider = LocalIdentityProvider(app_url=app_url, ignore_reauth=ignore_reauth)
    server = werkzeug.serving.make_server(
        "127.0.0.1", port, identity_provider, threaded=True,
        request_handler=_QuietRequestLog if quiet else _RequestLog,
    )
    identity_provider.issuer = f"http://127.0.0.1:{server.server_port}"
    return server, identity_provider


@contextmanager
def serve_in_thread(*, port: int = 0, app_url: str = demo.DEFAULT_APP_URL) -> Iterator[LocalIdentityProvider]:
    server, identity_provider = make_server(port=port, app_url=app_url, quiet=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield identity_provider
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A local identity provider that plays Okta, for development.")
    parser.add_argument("--port", type=int, default=demo.DEFAULT_PORT)
    parser.add_argument("--app-url", default=demo.DEFAULT_APP_URL, help="where Inigo runs (the tile links there)")
    parser.add_argument("--ignore-reauth", action="store_true",
                        help="answer prompt=login and max_age=0 at once with the earlier sign-in, as Okta does for "
                             "some federated people")
    arguments = parser.parse_args(argv)
    try:
        server, identity_provider = make_server(port=arguments.port, app_url=arguments.app_url,
                                                ignore_reauth=arguments.ignore_reauth)
    except OSError as exc:
        print(f"The local identity provider cannot listen on 127.0.0.1:{arguments.port}: {exc.strerror}. "
              "Is another `make run` still running? Stop it, or use `make run LOCAL_IDP=0`.", file=sys.stderr)
        return 1
    print(f"[local-idp] Listening at {identity_provider.issuer} (dashboard: {identity_provider.dashboard_url})",
          file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
