"""Outbound requests to a tenant's provider: the only way Inigo talks to an Okta org.

Every request here
- goes only to an address okta.addresses allows, checked on the address the socket connects to after DNS and
  pinned for that connection (no second lookup between check and connect: DNS rebinding cannot slip in);
- has a timeout that fits a person waiting (settings.OIDC_TIMEOUT);
- follows no redirects and uses no proxy from the environment (either would bypass the address check);
- fails as LoginError('provider_unreachable' | 'provider_address_refused' | 'provider_bad_response'), never a 500.
"""

import logging
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util.connection import create_connection

from inigo_sso.failures import LoginError
from okta.addresses import InternalAddressError, allowed_address, resolve

logger = logging.getLogger(__name__)


class AddressRefused(NewConnectionError):
    """The host resolved to an address Inigo may not contact; no connection was opened."""


class _CheckedConnectionMixin:
    """Resolve the host once, refuse it when any of its addresses is internal, connect to a checked address.

    TLS still verifies the certificate against the host name (urllib3 uses `host` for SNI and hostname checks,
    not the address the socket was opened to)."""

    def _new_conn(self) -> Any:
        host, port = self._dns_host, self.port  # type: ignore[attr-defined]
        try:
            addresses = resolve(host, port)
        except InternalAddressError as exc:
            raise NewConnectionError(self, str(exc)) from exc  # type: ignore[arg-type]
        refused = [address for _family, address in addresses if not allowed_address(address)]
        if refused or not addresses:
            # One internal answer is enough to refuse the name: which answer a retry gets is the resolver's choice.
            raise AddressRefused(self, f"{host} resolves to {refused[0] if refused else 'nothing'}, an internal "  # type: ignore[arg-type]
                                       "address Inigo does not contact")
        error: OSError | None = None
        for _family, address in addresses:
            try:
                return create_connection(
                    (str(address), port),
                    timeout=self.timeout,  # type: ignore[attr-defined]
                    source_address=self.source_address,  # type: ignore[attr-defined]
                    socket_options=self.socket_options,  # type: ignore[attr-defined]
                )
            except OSError as exc:
                error = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}")  # type: ignore[arg-type]


class _CheckedHTTPConnection(_CheckedConnectionMixin, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_CheckedConnectionMixin, HTTPSConnection):
    pass


class _CheckedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class CheckedAddressAdapter(HTTPAdapter):
    """A requests transport adapter whose connections go only to allowed addresses (no maintained library
    does this for requests today: advocate, the known one, was last released in 2020 and knows no NAT64)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _CheckedHTTPConnectionPool, "https": _CheckedHTTPSConnectionPool,
        }


def _new_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no HTTP(S)_PROXY or .netrc from the environment: a proxy would skip our check
    adapter = CheckedAddressAdapter(pool_connections=32, pool_maxsize=16, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


_session = _new_session()  # connection pooling: one TLS handshake per provider host, not per login


def get_json(url: str, **kwargs: Any) -> tuple[Any, requests.Response]:
    """GET a JSON document."""
    response = send("GET", url, **kwargs)
    if response.status_code != 200:
        raise LoginError("provider_bad_response", f"GET {url} answered HTTP {response.status_code}")
    return parse_json(response, url), response


def send(method: str, url: str, **kwargs: Any) -> requests.Response:
    try:
        return _session.request(
            method, url, timeout=settings.OIDC_TIMEOUT, verify=settings.OIDC_VERIFY_SSL, allow_redirects=False,
            **kwargs,
        )
    except requests.ConnectionError as exc:
        if _refused_address(exc):
            raise LoginError("provider_address_refused", f"{method} {url}: {_refused_address(exc)}") from exc
        raise LoginError("provider_unreachable", f"{method} {url} failed: {type(exc).__name__}") from exc
    except requests.Timeout as exc:
        raise LoginError("provider_unreachable", f"{method} {url} timed out") from exc
    except requests.RequestException as exc:
        # The exception text can carry the URL only; never request bodies (which hold codes and secrets).
        raise LoginError("provider_unreachable", f"{method} {url} failed: {type(exc).__name__}") from exc


def _refused_address(exc: requests.ConnectionError) -> str:
    """The refusal's words when the connection was refused by our address check, else ''."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, AddressRefused):
        return str(reason).split(": ", 1)[-1][:200]
    return ""


def parse_json(response: requests.Response, url: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise LoginError("provider_bad_response", f"{url} did not answer with JSON") from exc
