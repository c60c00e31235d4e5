"""The benchmark's OpenID Provider, run in its own process: oidc-provider-mock (a Flask app built on authlib) behind
a WSGI layer that counts the requests it receives per endpoint and can add a simulated network delay, served on
loopback by one threaded gunicorn worker (one process: the mock keeps its codes and people in memory).

gunicorn, not werkzeug's development server: that one answers every request with `Connection: close`, so no
client could keep a connection open, whereas Okta keeps HTTP/1.1 connections alive and an app server that pools
them pays the TCP and TLS handshakes once, not per login.

    python -m bench.provider --port 8123 [--delay-ms 50] [--delay-all] [--import-key-per-token]

The delay applies to the back-channel requests an app server makes (discovery, keys, token, userinfo), or with
--delay-all to every request, the browser's authorize page included. Control endpoints, for the benchmark only:
GET /_bench/hits (counts per path), POST /_bench/reset (zero them), POST /_bench/config {"delay_ms", "delay_all"}.

One change to the provider's own work: oidc-provider-mock 0.3 imports its RSA private key from a JWK dict for every
ID token it signs, and that import (joserfc, with OpenSSL's key check) costs about 60 ms of CPU, ten times the rest of
the token endpoint. A real provider's CPU is not on the relying party's machine; here it would take most of the two
cores from the apps being measured. So the key is imported once and reused (the tokens are the same: same key, same
header, same claims). --import-key-per-token keeps the mock's behaviour.
"""

import argparse
import json
import logging
import threading
import time
import warnings
import weakref
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.app.base import BaseApplication

# What an app server asks of the provider (the browser's authorize request is not one of them).
BACK_CHANNEL = {
    "/.well-known/openid-configuration": "discovery",
    "/jwks": "keys",
    "/oauth2/token": "token",
    "/userinfo": "userinfo",
}
CONTROL_PREFIX = "/_bench/"
# Counted with the paths: back-channel requests that arrived on a connection the provider had not served before.
# Each is a TCP and a TLS handshake at Okta, two round trips before the request itself.
NEW_CONNECTIONS = "new back-channel connections"

StartResponse = Callable[..., Any]


class CountingDelayingProvider:
    """WSGI middleware around the provider: counts each request per path, sleeps before answering when a delay
    is set (a threaded server keeps serving others meanwhile, as a slow network would)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], *, delay_ms: float = 0, delay_all: bool = False) -> None:
        self.app = app
        self.delay_s = delay_ms / 1000
        self.delay_all = delay_all
        self.hits: Counter[str] = Counter()
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()  # the sockets of connections served
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            return self._control(environ, start_response, path[len(CONTROL_PREFIX):])
        connection = environ.get("gunicorn.socket")
        with self._lock:
            self.hits[path] += 1
            if path in BACK_CHANNEL and connection is not None and connection not in self._connections:
                self._connections.add(connection)
                self.hits[NEW_CONNECTIONS] += 1
        if self.delay_s and (self.delay_all or path in BACK_CHANNEL):
            time.sleep(self.delay_s)
        return self.app(environ, start_response)

    def _control(self, environ: dict[str, Any], start_response: StartResponse, name: str) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        if name == "hits" and method == "GET":
            with self._lock:
                document: Any = dict(self.hits)
        elif name == "reset" and method == "POST":
            with self._lock:
                self.hits.clear()
            document = {}
        elif name == "config" and method == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            config = json.loads(body or b"{}")
            self.delay_s = float(config.get("delay_ms", self.delay_s * 1000)) / 1000
            self.delay_all = bool(config.get("delay_all", self.delay_all))
            document = {"delay_ms": self.delay_s * 1000, "delay_all": self.delay_all}
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        body = json.dumps(document).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def sign_with_one_imported_key() -> None:
    """Let oidc-provider-mock sign ID tokens with a key object imported once, not re-imported per token."""
    from joserfc.jwk import import_key
    from oidc_provider_mock import _app

    imported: dict[str, Any] = {}

    def resolve_client_private_key(self: Any, client: Any) -> Any:
        jwk = _app.storage.jwk.as_dict(is_private=True)
        key = imported.get(jwk["n"])
        if key is None:
            key = imported[jwk["n"]] = import_key(jwk)
        return key

    _app.OpenIDCode.resolve_client_private_key = resolve_client_private_key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=0)
    parser.add_argument("--delay-all", action="store_true")
    parser.add_argument("--import-key-per-token", action="store_true", help="the mock's own (slow) signing")
    args = parser.parse_args()
    # One line per request would cost the provider more than the requests themselves.
    logging.basicConfig(level=logging.WARNING)
    warnings.simplefilter("ignore")  # authlib's deprecation notices about the mock's own code
    for name in ("werkzeug", "oidc_provider_mock", "authlib"):
        logging.getLogger(name).setLevel(logging.ERROR)

    import oidc_provider_mock  # here, not at the top: bench.run imports BACK_CHANNEL without loading the provider

    from devidp.mock_authorization import OneAuthorizationAtATime

    if not args.import_key_per_token:
        sign_with_one_imported_key()
    provider = OneAuthorizationAtATime(oidc_provider_mock.app(require_nonce=True, issue_refresh_token=False))
    app = CountingDelayingProvider(provider, delay_ms=args.delay_ms, delay_all=args.delay_all)
    print(f"provider listening on http://127.0.0.1:{args.port}", flush=True)
    ProviderServer(app, args.port).run()


class ProviderServer(BaseApplication):  # type: ignore[misc]
    """gunicorn in this process's terms: one gthread worker serving `app`, keeping idle connections open."""

    def __init__(self, app: Callable[..., Iterable[bytes]], port: int) -> None:
        self.application = app
        self.port = port
        super().__init__()

    def load_config(self) -> None:
        # Enough threads for every request of a concurrency-8 run waiting out its delay at once, with stock's three
        # requests per login; idle connections wait in the worker's poller, not in a thread.
        settings = {"bind": f"127.0.0.1:{self.port}", "workers": 1, "worker_class": "gthread", "threads": 64,
                    "keepalive": 30, "timeout": 120, "loglevel": "warning", "accesslog": None,
                    "control_socket_disable": True}
        for name, value in settings.items():
            if name in self.cfg.settings:
                self.cfg.set(name, value)

    def load(self) -> Callable[..., Iterable[bytes]]:
        return self.application


if __name__ == "__main__":
    main()
