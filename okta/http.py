"""Outbound requests to a tenant's provider: the only way Inigo talks to an Okta org.

Every request here
- goes only to an address okta.addresses allows, checked on the address the socket connects to after DNS and
  pinned for that connection (no second lookup between check and connect: DNS rebinding cannot slip in);
- has timeouts that fit a person waiting: for connecting and for each read (settings.OIDC_TIMEOUT), and one
  deadline for the whole response, whose size is capped too (a provider that answers a byte at a time, or without
  end, is cut off);
- follows no redirects and uses no proxy from the environment (either would bypass the address check);
- fails as LoginError('provider_unreachable' | 'provider_address_refused' | 'provider_bad_response'), never a 500:
  whatever requests, urllib3, http.client, ssl or the socket raise is mapped to a Fault (see `fault`), which names
  the reason and the words for support staff and the connection check.

The response deadline (settings.OIDC_RESPONSE_DEADLINE_SECONDS) starts when the request has been sent, and bounds
every byte of the answer: status line, headers and body. It is enforced in the one place every byte passes through:
http.client reads a response from a file over the socket, and ours (_DeadlineReader) sets the socket's timeout to
min(read timeout, time left) before each read, so the read that would outlast the deadline ends at it. That holds
for TLS as for plain connections (an SSLSocket honours its timeout the same way), and needs no thread or timer that
could outlive the request or touch a connection back in the pool. It costs a clock read and a settimeout per read of
the socket and one more buffered file per response: about 4 us of CPU per response (an answer of a few KB is one
read), against 450-550 us for a request to a provider on loopback, which measures the same with and without it.
What precedes the answer has bounds of its own, the connect timeout: connecting (per address), the TLS handshake
(CPython bounds the whole handshake, not each read, by the socket's timeout) and sending the request (sendall,
likewise); the DNS lookup has the system resolver's. Worst case for a request on a new TLS connection to a single
address: 3 + 3 + 3 + 8 s; on a pooled connection (every login's token request, once warm) the deadline alone, 8 s.
"""

import enum
import functools
import io
import logging
import socket
import ssl
import time
from collections.abc import Iterator
from http.client import HTTPException, HTTPResponse
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
import urllib3.exceptions
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
    """Resolve the host once, refuse it when any of its addresses is internal, connect to a checked address; read
    each answer within the response deadline.

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

    def getresponse(self) -> Any:
        # The request has been sent: from now on every read of the answer waits at most until the deadline.
        # http.client builds the response with response_class(sock, method=...), before it reads the status line.
        self.response_class = functools.partial(
            _DeadlineResponse, deadline=time.monotonic() + settings.OIDC_RESPONSE_DEADLINE_SECONDS,
            read_timeout=self.timeout,  # type: ignore[attr-defined]  # urllib3 set it to the read timeout
        )
        return super().getresponse()  # type: ignore[misc]


class ResponseTooSlow(TimeoutError):
    """The answer did not arrive in full within the response deadline. A TimeoutError (socket.timeout), so urllib3
    and requests treat it as the read timeout it stands for."""


class ResponseTooLarge(Exception):
    """The answer is larger than settings.OIDC_MAX_RESPONSE_BYTES."""


class _DeadlineReader(io.RawIOBase):
    """The socket file http.client reads a response from (status line, headers, body), each read of the socket
    waiting at most min(read timeout, time left before the deadline)."""

    def __init__(self, raw: io.RawIOBase, sock: socket.socket, deadline: float, read_timeout: Any) -> None:
        super().__init__()
        self._raw, self._sock, self._deadline = raw, sock, deadline
        self._read_timeout = read_timeout if isinstance(read_timeout, int | float) else None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise ResponseTooSlow("the answer did not arrive within the response deadline")
        cut_by_deadline = self._read_timeout is None or left < self._read_timeout
        self._sock.settimeout(left if cut_by_deadline else self._read_timeout)
        try:
            return self._raw.readinto(buffer)
        except TimeoutError as exc:
            if cut_by_deadline:
                raise ResponseTooSlow("the answer did not arrive within the response deadline") from exc
            raise

    def close(self) -> None:
        self._raw.close()  # lets the socket close once the connection has let go of it, as http.client's file does
        super().close()


class _DeadlineResponse(HTTPResponse):
    """http.client's response, reading through a _DeadlineReader."""

    def __init__(self, sock: socket.socket, *args: Any, deadline: float, read_timeout: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)  # opens self.fp = sock.makefile("rb"); nothing is read yet
        self.fp = io.BufferedReader(_DeadlineReader(self.fp.detach(), sock, deadline, read_timeout))


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
    # One session serves every login of every tenant: a cookie one provider sets must never ride along on another
    # person's request.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    adapter = CheckedAddressAdapter(pool_connections=32, pool_maxsize=16, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


_session = _new_session()  # connection pooling: one TLS handshake per provider host, not per login


def request_seconds() -> float:
    """The longest one request to a provider can take: connecting, then the whole response."""
    return settings.OIDC_TIMEOUT[0] + settings.OIDC_RESPONSE_DEADLINE_SECONDS


def get_json(url: str, **kwargs: Any) -> tuple[Any, requests.Response]:
    """GET a JSON document."""
    response = send("GET", url, **kwargs)
    if response.status_code != 200:
        raise LoginError("provider_bad_response", f"GET {url} answered HTTP {response.status_code}")
    return parse_json(response, url), response


def send(method: str, url: str, **kwargs: Any) -> requests.Response:
    try:
        response = _session.request(
            method, url, timeout=settings.OIDC_TIMEOUT, verify=settings.OIDC_VERIFY_SSL, allow_redirects=False,
            stream=True, **kwargs,
        )
        with response:
            response._content = _read_body(response)
        return response
    # Everything the HTTP stack raises: requests' exceptions and ssl's are OSErrors; urllib3's own (raised while
    # the body is read) are HTTPErrors; http.client's HTTPExceptions are wrapped by urllib3, caught here all the same.
    except (OSError, urllib3.exceptions.HTTPError, HTTPException, ResponseTooLarge) as exc:
        raise _login_error(method, url, exc) from exc


def _read_body(response: requests.Response) -> bytes:
    """The whole body, within the size cap (and the response deadline, which every read of the socket keeps)."""
    body = bytearray()
    # read1 returns whatever has arrived, so the size cap is checked as the body grows; iter_content would wait for
    # a whole chunk of 16 KiB first.
    while chunk := response.raw.read1(16 * 1024, decode_content=True):
        body += chunk
        if len(body) > settings.OIDC_MAX_RESPONSE_BYTES:
            raise ResponseTooLarge
    return bytes(body)


class Fault(enum.Enum):
    """Why a request to a provider failed, in words for support staff (the LoginError's detail) and for the
    connection check ("Inigo cannot reach Okta at <url>: <words>.")."""

    ADDRESS_REFUSED = "its address is internal, and Inigo does not contact internal addresses"
    CONNECT = "the connection failed (the host name may be wrong, or the server is down or refuses connections)"
    TIMEOUT = "it did not answer in time"
    TOO_SLOW = "its answer stalled or trickled, and did not arrive in full in time"
    BROKEN = "the connection broke off before its answer was complete"
    TLS = "the TLS connection failed (its certificate may not be trusted, or not be for this host name)"
    TOO_LARGE = "its answer is larger than Inigo reads"
    UNDECODABLE = "its answer's Content-Encoding cannot be decoded"
    FAILED = "the request failed"

    @property
    def reason(self) -> str:
        """The LoginError reason: an answer that is there but unusable is a bad response, the rest unreachable."""
        if self is Fault.ADDRESS_REFUSED:
            return "provider_address_refused"
        if self in (Fault.TOO_LARGE, Fault.UNDECODABLE):
            return "provider_bad_response"
        return "provider_unreachable"


# The first fault whose exceptions appear anywhere in the chain wins: requests wraps urllib3, which wraps http.client,
# ssl and the socket, so the same chain holds a generic error outside and the precise one inside.
_FAULTS: tuple[tuple[Fault, tuple[type[BaseException], ...]], ...] = (
    (Fault.ADDRESS_REFUSED, (AddressRefused,)),
    (Fault.TOO_LARGE, (ResponseTooLarge,)),
    (Fault.TOO_SLOW, (ResponseTooSlow,)),
    (Fault.UNDECODABLE, (urllib3.exceptions.DecodeError, requests.exceptions.ContentDecodingError)),
    # Before TIMEOUT: urllib3's NewConnectionError is a ConnectTimeoutError, for compatibility, whatever happened.
    (Fault.CONNECT, (NewConnectionError, socket.gaierror)),
    (Fault.TIMEOUT, (TimeoutError, urllib3.exceptions.TimeoutError, requests.Timeout)),
    (Fault.BROKEN, (urllib3.exceptions.ProtocolError, HTTPException, ConnectionError)),
    (Fault.TLS, (ssl.SSLError, ssl.CertificateError, urllib3.exceptions.SSLError, requests.exceptions.SSLError)),
)


def fault(exc: BaseException | None) -> Fault:
    """The fault an exception of the HTTP stack stands for (Fault.FAILED for one it does not know, or None)."""
    chain = list(_chain(exc))
    for candidate, types in _FAULTS:
        if any(isinstance(link, types) for link in chain):
            return candidate
    return Fault.FAILED


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """The exception and every exception it wraps: causes, contexts, urllib3's `reason` and exception arguments."""
    pending, seen = [exc], set()
    while pending and len(seen) < 50:
        link = pending.pop()
        if not isinstance(link, BaseException) or id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        pending += [link.__cause__, link.__context__, getattr(link, "reason", None), *link.args]


def _login_error(method: str, url: str, exc: BaseException) -> LoginError:
    found = fault(exc)
    # The detail names the URL and the fault only; exception texts could carry request bodies (codes, secrets).
    words = (_refused_address(exc) or found.value) if found is Fault.ADDRESS_REFUSED else found.value
    return LoginError(found.reason, f"{method} {url}: {words}")


def _refused_address(exc: BaseException) -> str:
    """The words of our address check's refusal (host and address), '' when it is not in the chain."""
    refusal = next((link for link in _chain(exc) if isinstance(link, AddressRefused)), None)
    return str(refusal).split(": ", 1)[-1][:200] if refusal is not None else ""


def parse_json(response: requests.Response, url: str) -> Any:
    try:
        return response.json()
    except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested thousands deep
        raise LoginError("provider_bad_response", f"{url} did not answer with JSON") from exc
