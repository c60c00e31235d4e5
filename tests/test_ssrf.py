"""Server-side request forgery: Inigo contacts only addresses it may, checked on the address each connection
actually goes to (after DNS, pinned for the connection), for every request to a provider.

These tests run with an exact allow-list (SSO_ALLOWED_INTERNAL_NETWORKS): the provider under test listens on
127.0.0.2, the one internal address allowed, and the internal service an attacker aims at listens on 127.0.0.1,
which is not allowed. Nothing switches the check off."""

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from accounts.models import LoginEvent, User
from inigo_sso.failures import LoginError
from okta import addresses, http
from okta import provider as okta_provider
from tenants.models import Tenant
from tenants.services import tenant_connection_check
from tests.conftest import Browser, fake_dns
from tests.oidc_provider import ProviderHarness

ONLY_THE_PROVIDER = override_settings(SSO_ALLOWED_INTERNAL_NETWORKS=["127.0.0.2/32"])


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "224.0.0.1",
    "0.0.0.0",  # noqa: S104 (an address to classify, not a bind)
    "::1", "::", "fe80::1", "fc00::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1",  # IPv4-mapped
    "::127.0.0.1", "::10.0.0.1",  # IPv4-compatible (deprecated, still routed by some stacks)
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",  # NAT64 (RFC 6052) of 127.0.0.1 and 169.254.169.254
    "64:ff9b:1::a00:1",  # local-use NAT64 (RFC 8215) of 10.0.0.1
    "2002:7f00:1::", "2002:a9fe:a9fe::1",  # 6to4 of 127.0.0.1 and 169.254.169.254
    "::ffff:0:7f00:1",  # SIIT IPv4-translated (RFC 6145) of 127.0.0.1
    "fec0::1",  # site-local (deprecated, still routed inside some networks)
    "192.0.0.9", "240.0.0.1",  # IETF protocol assignments; reserved
])
def test_internal_addresses_in_every_form_are_refused(address):
    assert addresses.is_internal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::6810:84e5", "64:ff9b::5db8:d822", "2002:5db8:d822::"])
def test_public_addresses_in_every_form_are_allowed(address):
    assert not addresses.is_internal(ipaddress.ip_address(address))


@pytest.fixture
def internal_service() -> Iterator[dict[str, Any]]:
    """A listener on 127.0.0.1 that counts every connection made to it: the internal target of the attack."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    seen = {"port": listener.getsockname()[1], "connections": 0}
    running = True

    def accept() -> None:
        while running:
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            seen["connections"] += 1
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield seen
    running = False
    thread.join(2)
    listener.close()


@pytest.fixture(scope="module")
def _provider_on_127_0_0_2() -> Iterator[ProviderHarness]:
    with ProviderHarness(host="127.0.0.2").serve() as harness:
        yield harness


@pytest.fixture
def far_provider(_provider_on_127_0_0_2: ProviderHarness) -> Iterator[ProviderHarness]:
    _provider_on_127_0_0_2.reset()
    yield _provider_on_127_0_0_2
    _provider_on_127_0_0_2.reset()


@pytest.fixture
def far(db: None, far_provider: ProviderHarness) -> Tenant:
    return Tenant.objects.create(name="Far", slug="far", okta_domain=far_provider.issuer, client_id="inigo-far",
                                 client_secret="far-secret")


def resolving(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    """Make these names resolve to these addresses, in turn (the last answer repeats); returns the lookups."""

    def answer(host: str) -> str | None:
        queue = answers.get(host)
        if queue is None:
            return None
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return fake_dns(monkeypatch, answer)


@ONLY_THE_PROVIDER
@pytest.mark.parametrize("endpoint", ["jwks_uri", "token_endpoint", "userinfo_endpoint"])
def test_a_discovery_document_naming_an_internal_endpoint_is_never_followed(
    client, far_provider, far, internal_service, endpoint
):
    # Another origin than the issuer's: refused with the document, before any request could go there (SPEC
    # "Secrets stay with their issuer"); okta.http's address check at connect stays behind it (tests below).
    target = f"http://127.0.0.1:{internal_service['port']}/steal"
    far_provider.discovery_rewrite = lambda document: {**document, endpoint: target}

    response = client.get("/oidc/authenticate/", {"tenant": "far"})

    assert response.status_code == 502
    assert "Location" not in response
    assert LoginEvent.objects.get().reason == "provider_bad_response"
    assert internal_service["connections"] == 0
    assert not User.objects.exists()


@ONLY_THE_PROVIDER
def test_the_connection_check_does_not_contact_an_internal_keys_endpoint(far_provider, far, internal_service):
    far_provider.discovery_rewrite = lambda document: {
        **document, "jwks_uri": f"http://127.0.0.1:{internal_service['port']}/keys"
    }

    report = tenant_connection_check(far, origin="http://testserver")

    assert not report.ok
    assert any("jwks_uri is not on the issuer's origin" in finding.message for finding in report.problems)
    assert internal_service["connections"] == 0


@ONLY_THE_PROVIDER
@pytest.mark.parametrize(
    "address", ["127.0.0.1", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::", "::127.0.0.1"]
)
def test_a_name_resolving_to_an_internal_address_in_any_form_is_refused_at_connect(
    monkeypatch, internal_service, address
):
    resolving(monkeypatch, {"okta.attacker.test": [address]})
    sockets_opened = connections_recorded(monkeypatch)

    with pytest.raises(LoginError) as refused:
        http.get_json(f"http://okta.attacker.test:{internal_service['port']}/.well-known/openid-configuration")

    assert refused.value.reason == "provider_address_refused"
    assert sockets_opened == []  # refused before any socket, whatever the form could reach
    assert internal_service["connections"] == 0


def connections_recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Record every socket okta.http opens, and open none (no traffic leaves this machine)."""
    opened: list[tuple[str, int]] = []

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        opened.append(address)
        raise OSError("no connection in this test")

    monkeypatch.setattr(http, "create_connection", create_connection)
    return opened


@override_settings(SSO_ALLOWED_INTERNAL_NETWORKS=[])
def test_the_checked_address_is_the_one_connected_to(monkeypatch, db):
    # Public when the domain is saved and when the connection is checked; internal at any later lookup. Pinning
    # means the socket goes to the address that was checked, with no second lookup in between.
    asked = resolving(monkeypatch, {"pinned.attacker.test": ["93.184.216.34", "93.184.216.34", "127.0.0.1"]})
    opened = connections_recorded(monkeypatch)
    addresses.refuse_internal_host("pinned.attacker.test")

    with pytest.raises(LoginError):
        http.get_json("http://pinned.attacker.test:8443/.well-known/openid-configuration")

    assert opened == [("93.184.216.34", 8443)]
    assert len(asked) == 2


@override_settings(SSO_ALLOWED_INTERNAL_NETWORKS=[])
def test_dns_rebinding_after_the_domain_was_checked_is_refused(monkeypatch, db, internal_service):
    # Public when support staff save the domain, 127.0.0.1 a moment later when Inigo connects.
    asked = resolving(monkeypatch, {"rebind.attacker.test": ["93.184.216.34", "127.0.0.1"]})
    issuer = f"http://rebind.attacker.test:{internal_service['port']}"
    addresses.refuse_internal_host("rebind.attacker.test")  # the save-time check passes

    with pytest.raises(LoginError) as refused:
        okta_provider.provider_metadata(issuer)

    assert refused.value.reason == "provider_address_refused"
    assert len(asked) == 2
    assert internal_service["connections"] == 0


def test_browser_redirects_stay_on_the_issuers_host(client, provider, acme):
    provider.discovery_rewrite = lambda document: {**document, "authorization_endpoint": "https://phish.example/a"}

    response = client.get("/oidc/authenticate/", {"tenant": "acme"})

    assert response.status_code == 502
    assert "Location" not in response
    assert LoginEvent.objects.get().reason == "provider_bad_response"


def test_a_login_still_works_through_the_checked_connections(browser: Browser, provider, acme):
    response = browser.login(provider, "alice")

    assert response.status_code == 302
    assert browser.me().json()["email"] == "alice@acme.test"


@override_settings(SSO_ALLOWED_INTERNAL_NETWORKS=[])
def test_a_name_with_one_internal_answer_among_public_ones_is_refused(monkeypatch, db):
    real = socket.getaddrinfo

    def mixed(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host != "mixed.attacker.test":
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", mixed)
    opened = connections_recorded(monkeypatch)

    with pytest.raises(LoginError) as refused:
        http.get_json("http://mixed.attacker.test:8443/.well-known/openid-configuration")

    assert refused.value.reason == "provider_address_refused"
    assert opened == []


class Trickle:
    """Answers HTTP 200 and then one byte every 0.2 s, without end."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.running = True
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/token"

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
        while self.running:
            try:
                conn.sendall(b" ")
            except OSError:
                break
            threading.Event().wait(0.2)
        conn.close()

    def close(self) -> None:
        self.running = False
        self.listener.close()


@override_settings(OIDC_RESPONSE_DEADLINE_SECONDS=1)
def test_a_provider_answering_a_byte_at_a_time_is_cut_off_at_the_deadline():
    trickle = Trickle()
    began = time.monotonic()
    try:
        with pytest.raises(LoginError) as cut_off:
            http.send("POST", trickle.url, data={"code": "x"})
    finally:
        trickle.close()

    assert cut_off.value.reason == "provider_unreachable"
    assert time.monotonic() - began < 3


@override_settings(OIDC_MAX_RESPONSE_BYTES=1000)
def test_an_endless_answer_is_cut_off_at_the_size_cap(far_provider, far):
    far_provider.discovery_rewrite = lambda document: {**document, "padding": "x" * 5000}

    with pytest.raises(LoginError) as refused:
        okta_provider.fetch_provider_metadata(far.issuer)

    assert refused.value.reason == "provider_bad_response"
