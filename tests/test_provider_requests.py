"""What a login asks of the provider: discovery and keys once per issuer (cached), then one request per login;
keys refetched when Okta rotates them; every provider fault ends on a page, never a 500."""

import datetime
import gzip
import ipaddress
import json
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.test import override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import LoginEvent, User
from inigo_sso.failures import LoginError
from okta import breaker, http
from tenants.models import Tenant
from tests.conftest import Browser
from tests.oidc_provider import ProviderHarness, query_of
from tests.test_connection_check import connection_check, problems_of

PROVIDER_PATHS = ("/.well-known/openid-configuration", "/jwks", "/oauth2/token", "/userinfo")


def outbound(provider: ProviderHarness) -> dict[str, int]:
    return {path: provider.hits[path] for path in PROVIDER_PATHS if provider.hits[path]}


def test_a_cold_login_fetches_discovery_keys_and_token_once_each(browser: Browser, provider, acme):
    browser.login(provider, "alice")

    assert outbound(provider) == {"/.well-known/openid-configuration": 1, "/jwks": 1, "/oauth2/token": 1}


def test_a_warm_login_makes_exactly_one_outbound_request(client, browser: Browser, provider, acme):
    browser.login(provider, "alice")
    client.logout()
    provider.set_user("bob", {"email": "bob@acme.test", "name": "Bob Tester"})  # clears the counters

    response = browser.login(provider, "bob")

    assert response.status_code == 302
    assert outbound(provider) == {"/oauth2/token": 1}


def test_tenants_of_one_issuer_share_its_cached_documents(client, browser: Browser, provider, acme):
    Tenant.objects.create(name="Acme EU", slug="acme-eu", okta_domain=provider.issuer, client_id="inigo-acme-eu",
                          client_secret="eu-secret")
    browser.login(provider, "alice", path="/oidc/authenticate/", params={"tenant": "acme"})
    client.logout()
    provider.set_user("erik", {"email": "erik@acme.test", "name": "Erik"})

    browser.login(provider, "erik", path="/oidc/authenticate/", params={"tenant": "acme-eu"})

    assert outbound(provider) == {"/oauth2/token": 1}
    assert User.objects.get(sub="erik").tenant.slug == "acme-eu"


def test_it_survives_signing_key_rotation_with_one_refetch(client, browser: Browser, provider, acme):
    browser.login(provider, "alice")
    client.logout()
    provider.forge_id_token(key=provider.add_key("rotated-2027"))  # Okta starts signing with a new key
    provider.set_user("bob", {"email": "bob@acme.test", "name": "Bob"})

    response = browser.login(provider, "bob")

    assert response.status_code == 302
    assert outbound(provider) == {"/jwks": 1, "/oauth2/token": 1}
    client.logout()
    provider.set_user("carol", {"email": "carol@acme.test", "name": "Carol"})
    browser.login(provider, "carol")
    assert outbound(provider) == {"/oauth2/token": 1}  # the new key is cached now


def test_unknown_kids_do_not_make_it_refetch_keys_on_every_login(client, browser: Browser, provider, acme):
    from tests.oidc_provider import SigningKey

    browser.login(provider, "alice")
    client.logout()
    provider.forge_id_token(key=SigningKey("attacker-1"))
    refetches = 0
    for sub in ("m1", "m2", "m3"):
        browser.login(provider, sub)  # clears the provider's counters first
        refetches += provider.hits["/jwks"]
        client.logout()

    assert refetches == 1  # one forced refetch per 30 s per issuer, not one per token
    assert LoginEvent.objects.filter(reason="id_token_unknown_kid").count() == 3


def test_it_refuses_a_discovery_document_that_names_another_issuer(client, provider, acme):
    provider.discovery_rewrite = lambda doc: {**doc, "issuer": "https://evil.example"}

    response = client.get("/oidc/initiate/", {"iss": provider.issuer})

    assert response.status_code == 502
    assert "Location" not in response
    assert LoginEvent.objects.get().reason == "discovery_issuer_mismatch"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_provider_ends_on_a_502_page(client, db):
    Tenant.objects.create(name="Down", slug="down", okta_domain=f"http://127.0.0.1:{_closed_port()}",
                          client_id="x", client_secret="y")

    response = client.get("/oidc/authenticate/", {"tenant": "down"})

    assert response.status_code == 502
    assert b"Okta cannot be reached" in response.content
    assert LoginEvent.objects.get().reason == "provider_unreachable"


def test_a_provider_that_times_out_ends_on_a_502_page(client, db):
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        Tenant.objects.create(name="Slow", slug="slow", okta_domain=f"http://127.0.0.1:{port}", client_id="x",
                              client_secret="y")
        with override_settings(OIDC_TIMEOUT=(0.5, 0.5)):
            response = client.get("/oidc/authenticate/", {"tenant": "slow"})

    assert response.status_code == 502
    assert LoginEvent.objects.get().reason == "provider_unreachable"


def test_every_outbound_request_has_a_timeout(monkeypatch, provider, acme, browser: Browser):
    seen = []
    original = http._session.request

    def spy(method, url, **kwargs):
        seen.append(kwargs.get("timeout"))
        return original(method, url, **kwargs)

    monkeypatch.setattr(http._session, "request", spy)
    browser.login(provider, "alice")

    assert seen and all(timeout == (3, 5) for timeout in seen)


@pytest.mark.parametrize(("status", "document", "reason", "page_status"), [
    (400, {"error": "invalid_grant"}, "token_rejected", 400),
    (401, {"error": "invalid_client"}, "client_rejected", 502),
    (500, {"error": "server_error"}, "provider_bad_response", 502),
    (200, ["not", "an", "object"], "provider_bad_response", 502),
    (200, {"access_token": "x"}, "id_token_missing", 403),
])
def test_token_endpoint_faults_end_on_a_page(browser: Browser, provider, acme, status, document, reason, page_status):
    provider.token_response = (status, document)

    response = browser.login(provider, "alice")

    assert response.status_code == page_status
    assert LoginEvent.objects.get().reason == reason
    assert not User.objects.exists()


def test_a_tenant_whose_secret_cannot_be_decrypted_is_refused_before_the_token_exchange(
    client, browser: Browser, provider, acme
):
    other_key = Fernet.generate_key().decode()  # the key that encrypted the secret was removed too early
    with override_settings(SSO_ENCRYPTION_KEYS=[other_key]):
        response = browser.login(provider, "alice")

    assert response.status_code == 502
    assert LoginEvent.objects.get().reason == "tenant_no_secret"
    assert provider.token_requests == []




class KeepAliveProvider(ThreadingHTTPServer):
    """A provider's HTTP/1.1 server that keeps connections open, as Okta's do (the test provider's werkzeug server
    closes every connection), over plain http or TLS. Counts the connections it accepts. Answers GET and POST:
    - /small: a small JSON document;
    - /large: announces an answer twice as large as Inigo reads, sends just over what Inigo reads and holds the
      rest back until `rest` is set, so the connection looks idle while its answer is unfinished;
    - /.well-known/openid-configuration: a discovery document whose token endpoint is /stall-body;
    - /raw: `script`, whatever it holds, then the end of the stream;
    - and one way each to misbehave after the request (MISBEHAVIOURS), holding on until `rest` is set."""

    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _KeepAliveHandler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self.connections = 0
        self.rest = threading.Event()
        self.script = b""  # what /raw answers, byte for byte, before it closes the connection

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server_port}"


class _KeepAliveHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once, as a provider's do (no 40 ms delayed ACK)
    server: KeepAliveProvider

    def setup(self) -> None:  # once per connection
        super().setup()
        self.server.connections += 1

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()

    def do_GET(self) -> None:
        misbehave = MISBEHAVIOURS.get(self.path)
        if misbehave is not None:
            self.close_connection = True
            with suppress(OSError):  # Inigo may have given up and closed the connection meanwhile
                misbehave(self)
            return
        body = json.dumps({"path": self.path}).encode()
        if self.path == "/.well-known/openid-configuration":
            body = json.dumps(_discovery_document(self.server.url)).encode()
        if self.path == "/large":
            body = b" " * (2 * settings.OIDC_MAX_RESPONSE_BYTES)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path == "/large":
            sent = settings.OIDC_MAX_RESPONSE_BYTES + 1
            self.wfile.write(body[:sent])
            self.wfile.flush()
            self.server.rest.wait(10)
            body = body[sent:]
        with suppress(OSError):  # the client may have closed the connection meanwhile
            self.wfile.write(body)

    def head(self, length: int, *headers: str) -> None:
        """A status line and headers announcing `length` bytes of JSON, sent at once."""
        lines = ["HTTP/1.1 200 OK", "Content-Type: application/json", f"Content-Length: {length}", *headers]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _discovery_document(issuer: str) -> dict[str, str]:
    return {"issuer": issuer, "authorization_endpoint": f"{issuer}/authorize", "token_endpoint": f"{issuer}/stall-body",
            "jwks_uri": f"{issuer}/small", "userinfo_endpoint": f"{issuer}/small"}


def _stall_body(handler: _KeepAliveHandler) -> None:
    handler.head(100)
    handler.wfile.write(b'{"access_token": ')
    handler.wfile.flush()
    handler.server.rest.wait(30)


def _trickle_headers(handler: _KeepAliveHandler) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " + b"x" * 1000
    for byte in head:  # a byte every 50 ms: each read gets something long before the read timeout
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        if handler.server.rest.wait(0.05):
            return


def _reset_after_headers(handler: _KeepAliveHandler) -> None:
    handler.head(100)
    # SO_LINGER with a zero timeout: close() sends a TCP reset instead of an orderly end.
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()


def _gzip_garbage(handler: _KeepAliveHandler) -> None:
    garbage = b"this is not gzip at all" * 10
    handler.head(len(garbage), "Content-Encoding: gzip")
    handler.wfile.write(garbage)


def _short_body(handler: _KeepAliveHandler) -> None:
    handler.head(1000)
    handler.wfile.write(b'{"access_token": "x"}')
    handler.wfile.flush()
    handler.connection.shutdown(socket.SHUT_WR)  # an orderly end of the stream, 979 bytes short


def _raw(handler: _KeepAliveHandler) -> None:
    handler.wfile.write(handler.server.script)
    handler.connection.shutdown(socket.SHUT_WR)


MISBEHAVIOURS: dict[str, Callable[[_KeepAliveHandler], None]] = {
    "/raw": _raw, "/stall-body": _stall_body, "/trickle-headers": _trickle_headers,
    "/reset-after-headers": _reset_after_headers, "/gzip-garbage": _gzip_garbage, "/short-body": _short_body,
}


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate and its key for 127.0.0.1, in one PEM file (the client trusts it as its CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path_factory.mktemp("tls") / "provider.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return path


@contextmanager
def _serving(tls_certificate: Path | None = None) -> Iterator[KeepAliveProvider]:
    context = None
    if tls_certificate is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls_certificate)
    http._session.close()  # no connection pooled by another test
    server = KeepAliveProvider(context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        if tls_certificate is None:
            yield server
        else:
            with override_settings(OIDC_VERIFY_SSL=str(tls_certificate)):
                yield server
    finally:
        server.rest.set()
        server.shutdown()
        server.server_close()
        http._session.close()


@pytest.fixture
def keepalive_provider() -> Iterator[KeepAliveProvider]:
    with _serving() as server:
        yield server


@pytest.fixture(params=["http", "https"])
def misbehaving_provider(request: pytest.FixtureRequest, tls_certificate: Path) -> Iterator[KeepAliveProvider]:
    with _serving(tls_certificate if request.param == "https" else None) as server:
        yield server


def test_requests_to_a_provider_share_one_connection(keepalive_provider: KeepAliveProvider):
    # A new connection to Okta is a TCP and a TLS handshake: two round trips before the request itself. A login's
    # token request reuses the connection the last login (or discovery) opened.
    for _ in range(3):
        document, _response = http.get_json(f"{keepalive_provider.url}/small")
        assert document["path"] == "/small"

    assert keepalive_provider.connections == 1


def test_a_connection_whose_answer_was_cut_off_is_never_reused(keepalive_provider: KeepAliveProvider):
    # An answer Inigo stopped reading (larger than it reads) is unfinished on its connection: that connection is
    # closed, so the next request cannot read the old answer's rest as its own answer. (urllib3 also drops a pooled
    # connection with bytes waiting; here the rest is held back, so only closing it keeps it out of the pool.)
    http.get_json(f"{keepalive_provider.url}/small")
    with pytest.raises(LoginError) as refused:
        http.get_json(f"{keepalive_provider.url}/large")

    document, _response = http.get_json(f"{keepalive_provider.url}/small")

    assert refused.value.reason == "provider_bad_response"
    assert document["path"] == "/small"
    assert keepalive_provider.connections == 2


# --- every fault of a provider ends as a LoginError, within the deadline -----------------------------------------
@override_settings(OIDC_RESPONSE_DEADLINE_SECONDS=1)
@pytest.mark.parametrize(("path", "fault"), [
    ("/stall-body", http.Fault.TOO_SLOW),  # stops mid-body: cut at the deadline, not after the 5 s read timeout
    ("/trickle-headers", http.Fault.TOO_SLOW),  # status line and headers a byte at a time, without end
    ("/reset-after-headers", http.Fault.BROKEN),
    ("/short-body", http.Fault.BROKEN),  # Content-Length longer than what is sent before the end of the stream
    ("/large", http.Fault.TOO_LARGE),  # cut off at the size cap
    ("/gzip-garbage", http.Fault.UNDECODABLE),
])
def test_a_provider_fault_ends_as_a_login_error_within_the_deadline(misbehaving_provider: KeepAliveProvider,
                                                                    path: str, fault: http.Fault):
    began = time.monotonic()
    with pytest.raises(LoginError) as failed:
        http.send("POST", f"{misbehaving_provider.url}{path}", data={"client_secret": "never-in-a-detail"})
    took = time.monotonic() - began

    assert failed.value.reason == fault.reason
    assert http.fault(failed.value.__cause__) is fault
    assert failed.value.detail == f"POST {misbehaving_provider.url}{path}: {fault.value}"
    assert took < settings.OIDC_RESPONSE_DEADLINE_SECONDS + 0.5, f"{path} ended after {took:.2f} s"


@override_settings(OIDC_RESPONSE_DEADLINE_SECONDS=1)
def test_a_token_endpoint_that_stalls_mid_answer_ends_on_the_502_page(client, db, keepalive_provider):
    Tenant.objects.create(name="Stalls", slug="stalls", okta_domain=keepalive_provider.url, client_id="x",
                          client_secret="y")
    started = client.get("/oidc/authenticate/", {"tenant": "stalls"})
    assert started.status_code == 302, started.content[:300]

    response = client.get("/oidc/callback/stalls/", {"code": "a-code", "state": query_of(started["Location"])["state"]})

    assert response.status_code == 502
    assert b"Okta cannot be reached" in response.content
    assert LoginEvent.objects.get().reason == "provider_unreachable"
    # The stall counts against the issuer's breaker (okta.breaker), which one failure does not open: the next start
    # redirects to Okta as before (its discovery document is cached).
    reading = breaker.read(keepalive_provider.url)
    assert (reading.failures, reading.opened_at) == (1, None)
    assert client.get("/oidc/authenticate/", {"tenant": "stalls"}).status_code == 302


@override_settings(OIDC_RESPONSE_DEADLINE_SECONDS=1)
def test_the_connection_check_says_the_token_endpoint_answered_too_slowly(db, keepalive_provider):
    tenant = Tenant.objects.create(name="Stalls", slug="stalls", okta_domain=keepalive_provider.url, client_id="x",
                                   client_secret="y")

    problems = problems_of(connection_check(tenant))

    assert problems[-1] == (
        f"Okta's token endpoint could not answer whether the Client ID and Client Secret are right "
        f"({http.Fault.TOO_SLOW.value}). Nothing says they are wrong: try again in a few minutes."
    )


def test_a_certificate_inigo_does_not_trust_ends_as_a_login_error(tls_certificate: Path):
    with (_serving(tls_certificate) as server, override_settings(OIDC_VERIFY_SSL=True),  # the system's CAs only
          pytest.raises(LoginError) as failed):
        http.send("GET", f"{server.url}/small")

    assert failed.value.reason == "provider_unreachable"
    assert http.fault(failed.value.__cause__) is http.Fault.TLS


_STATUS_LINES = st.sampled_from([
    b"HTTP/1.1 200 OK", b"HTTP/1.0 200 OK", b"HTTP/1.1 500 Oops", b"HTTP/1.1 abc", b"HTTP/2 200", b"ICY 200 OK", b"",
    b"HTTP/1.1 200 " + b"x" * 70000,
])
_HEADERS = st.sampled_from([
    b"Content-Type: application/json", b"Content-Length: 12", b"Content-Length: 0", b"Content-Length: -1",
    b"Content-Length: 99999999999999999999999", b"Content-Length: 5, 7", b"Transfer-Encoding: chunked",
    b"Transfer-Encoding: gzip, chunked", b"Content-Encoding: gzip", b"Content-Encoding: deflate",
    b"Content-Encoding: br", b"Content-Encoding: zstd", b"Content-Encoding: gzip, gzip", b"Connection: close",
    b"X-Latin: \xff\xfe", b"no colon here", b" folded", b"X-Long: " + b"x" * 70000,
]) | st.binary(max_size=30)
_BODIES = st.sampled_from([
    b'{"access_token": "x"}', b"5\r\nhello\r\n0\r\n\r\n", b"zz\r\nhello\r\n", b"ffffffffffffffffffffff\r\nx",
    gzip.compress(b'{"a": 1}'), gzip.compress(b'{"a": 1}')[:12], zlib.compress(b'{"a": 1}'), b"",
]) | st.binary(max_size=300)


@hypothesis_settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status=_STATUS_LINES, headers=st.lists(_HEADERS, max_size=5), body=_BODIES)
def test_whatever_a_provider_answers_is_a_response_or_a_login_error(keepalive_provider: KeepAliveProvider,
                                                                    status: bytes, headers: list[bytes], body: bytes):
    keepalive_provider.script = b"\r\n".join([status, *headers, b"", body])

    try:
        http.send("GET", f"{keepalive_provider.url}/raw")
    except LoginError as error:
        assert error.reason in ("provider_unreachable", "provider_bad_response")
