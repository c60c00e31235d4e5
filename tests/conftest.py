"""Shared fixtures: two tenants, each with its own real OpenID Provider on loopback, and a browser that clicks
through the provider's login page."""

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.test import Client

from inigo_sso.client_ip import is_ip_address
from tenants.models import Tenant
from tests.dns_server import DNSZone, dns_server
from tests.oidc_provider import ProviderHarness

ACME_SECRET = "acme-client-secret-Zx81kQ2vN4"
GLOBEX_SECRET = "globex-client-secret-Pq73mW9sT1"


@pytest.fixture(scope="session")
def _acme_provider() -> Iterator[ProviderHarness]:
    with ProviderHarness().serve() as harness:
        yield harness


@pytest.fixture(scope="session")
def _globex_provider() -> Iterator[ProviderHarness]:
    with ProviderHarness().serve() as harness:
        yield harness


@pytest.fixture
def provider(_acme_provider: ProviderHarness) -> Iterator[ProviderHarness]:
    _acme_provider.reset()
    yield _acme_provider
    _acme_provider.reset()


@pytest.fixture
def other_provider(_globex_provider: ProviderHarness) -> Iterator[ProviderHarness]:
    _globex_provider.reset()
    yield _globex_provider
    _globex_provider.reset()


@pytest.fixture(scope="session")
def _dns_server() -> Iterator[DNSZone]:
    with dns_server() as zone:
        yield zone


@pytest.fixture
def dns_zone(_dns_server: DNSZone, settings: Any) -> DNSZone:
    """A real DNS server on loopback (UDP and TCP), empty, that Inigo asks to verify email domains."""
    _dns_server.clear()
    settings.SSO_DNS_NAMESERVERS = _dns_server.nameservers
    return _dns_server


def fake_dns(monkeypatch: pytest.MonkeyPatch, answer: Callable[[str], str | None]) -> list[str]:
    """socket.getaddrinfo answers `answer(host)`, an address, for the hosts it knows, and looks up the others as
    usual (this machine has no DNS). Returns the hosts it answered, in order."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        address = answer(str(host))
        if address is None:
            return real(host, port, *args, **kwargs)
        asked.append(str(host))
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.fixture
def public_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Host names resolve to a public address; addresses and localhost resolve as usual. Returns the names."""
    return fake_dns(monkeypatch, lambda host: None if host == "localhost" or is_ip_address(host) else "93.184.216.34")


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def acme(db: None, provider: ProviderHarness) -> Tenant:
    return Tenant.objects.create(
        name="Acme", slug="acme", okta_domain=provider.issuer, client_id="inigo-acme",
        client_secret=ACME_SECRET, email_domains="acme.test",
    )


@pytest.fixture
def globex(db: None, other_provider: ProviderHarness) -> Tenant:
    return Tenant.objects.create(
        name="Globex", slug="globex", okta_domain=other_provider.issuer, client_id="inigo-globex",
        client_secret=GLOBEX_SECRET, email_domains="globex.test",
    )


def profile(sub: str, domain: str = "acme.test", **extra: Any) -> dict[str, Any]:
    first = sub.capitalize()
    return {"email": f"{sub}@{domain}", "given_name": first, "family_name": "Tester", "name": f"{first} Tester",
            **extra}


class Browser:
    """A person's browser: the Django test client for Inigo, plain HTTP for the provider's login page."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def start(self, path: str, params: dict[str, str] | None = None, method: str = "get") -> HttpResponse:
        return getattr(self.client, method)(path, params or {})

    def login(
        self,
        provider: ProviderHarness,
        sub: str,
        *,
        claims: dict[str, Any] | None = None,
        path: str = "/oidc/initiate/",
        params: dict[str, str] | None = None,
        method: str = "get",
    ) -> HttpResponse:
        """Click the tile (or start at `path`), sign in at the provider as `sub`, come back to the callback."""
        provider.set_user(sub, claims if claims is not None else profile(sub))
        started = self.start(path, params if params is not None else {"iss": provider.issuer}, method)
        assert started.status_code == 302, started.content[:500]
        return self.client.get(provider.authorize(started["Location"], sub))

    def me(self) -> HttpResponse:
        return self.client.get("/api/me/")


@pytest.fixture
def browser(client: Client) -> Browser:
    return Browser(client)


@pytest.fixture
def postgres(db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL (row locks); this run uses {connection.vendor}. Set DATABASE_URL=postgres://...")


def without_claims(*names: str) -> Any:
    return lambda claims: {k: v for k, v in claims.items() if k not in names}


def with_claims(**changes: Any) -> Any:
    return lambda claims: {**claims, **changes}


def assert_refused(browser: Browser, response: HttpResponse, reason: str, status: int = 403) -> None:
    """A refused login: the failure page with its status, a login event with the reason, no user, no session."""
    from accounts.models import LoginEvent, User

    assert response.status_code == status, response.content[:300]
    assert "Location" not in response
    assert b"Sign-in stopped" in response.content
    assert LoginEvent.objects.get().reason == reason
    assert not User.objects.exists()
    assert browser.me().status_code == 401
