"""A tenant's provider metadata and signing keys, cached per issuer in the Django cache.

After warm-up a login reads both from the cache: the only outbound request left is the token exchange
(and userinfo when the ID token lacks profile claims). Keys are refetched at once when a token names a key
id we do not know, because Okta rotates its signing keys (OIDC Core 10.1.1).
"""

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
from django.conf import settings
from django.core.cache import cache

from inigo_sso.failures import LoginError
from okta import breaker, http

logger = logging.getLogger(__name__)

DISCOVERY_TTL = 60 * 60
KEYS_TTL_DEFAULT = 60 * 60
KEYS_TTL_MIN, KEYS_TTL_MAX = 5 * 60, 24 * 60 * 60
MAX_KEYS = 50
KEYS_REFETCH_INTERVAL = 30  # at most one forced refetch per issuer per interval: unknown kids are attacker input
_MAX_AGE = re.compile(r"max-age=(\d+)")


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str
    end_session_endpoint: str
    token_endpoint_auth_methods: tuple[str, ...]
    # RFC 9207 section 3: the provider promises an `iss` in every authorization response, so one without it is
    # refused (section 2.4).
    authorization_response_iss_parameter_supported: bool = False

    @property
    def uses_client_secret_basic(self) -> bool:
        # OIDC Discovery 1.0 section 3: when the list is omitted, the default is client_secret_basic.
        return "client_secret_basic" in self.token_endpoint_auth_methods


def _cache_key(kind: str, issuer: str) -> str:
    # v3: documents cached before every back-channel endpoint had to share the issuer's origin are not reused.
    return f"oidc:{kind}:v3:{hashlib.sha256(issuer.encode()).hexdigest()[:40]}"


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


@dataclass(frozen=True)
class LoginDocuments:
    """What a callback needs of the provider's documents, read from the cache in one round trip."""

    metadata: ProviderMetadata
    keys: list[dict[str, Any]] | None  # the cached signing keys (JWKs), None when none are cached
    breaker: breaker.Reading  # the issuer's breaker, for the token request this callback sends


def provider_metadata(issuer: str) -> ProviderMetadata:
    """The provider's metadata, from the cache or fetched once and checked."""
    return _documents(issuer, with_keys=False).metadata


def login_documents(issuer: str) -> LoginDocuments:
    """The provider's metadata and its cached signing keys, for a callback: one round trip to the shared cache
    where two separate reads would take two."""
    return _documents(issuer, with_keys=True)


def _documents(issuer: str, *, with_keys: bool) -> LoginDocuments:
    key, keys = _cache_key("discovery", issuer), _cache_key("jwks", issuer)
    cached = cache.get_many([key, *breaker.keys(issuer), *([keys] if with_keys else [])])
    reading = breaker.reading_from(issuer, cached)
    if cached.get(key) is not None:
        # No request goes out for cached documents, so an open breaker refuses nothing here: the start at the Okta
        # tile still redirects. The token request of the callback reads the breaker from this reading.
        return LoginDocuments(ProviderMetadata(**cached[key]), cached.get(keys), reading)
    return LoginDocuments(_fetch_metadata(issuer, key, reading), None, reading)


def _fetch_metadata(issuer: str, key: str, reading: breaker.Reading) -> ProviderMetadata:
    with guarded(issuer, "discovery", reading=reading):
        if (document := cache.get(key)) is not None:  # fetched by the login we waited for
            return ProviderMetadata(**document)
        metadata = fetch_provider_metadata(issuer)
    cache.set(key, metadata.__dict__, DISCOVERY_TTL)
    return metadata


# --- at most a few requests to one issuer in flight, per process ---------------------------------------------------
# A cold burst of logins needs one fetch of the issuer's documents, not one each; and a provider that accepts
# connections and never answers, or answers a byte at a time, then holds a few threads for its timeouts, never every
# thread of a server. Token and userinfo requests (one per login) have slots of their own, more of them, so a healthy
# burst of sign-ins is not refused for being a burst: a login waits for a slot only while the requests holding them
# are younger than a healthy provider's answer takes (settings.OIDC_PROVIDER_PATIENCE_SECONDS), then gives up.
# Connection checks take the same slots (a check is requests to the same Okta), and fewer of them run at once in a
# process (settings.OIDC_MAX_CHECKS_PER_PROCESS): a flood of checks against a slow Okta cannot fill a server either.
_SLOT_GROUPS = {"discovery": "documents", "keys": "documents", "token": "exchange", "userinfo": "exchange"}


class ProviderBusy(Exception):
    """A connection check was not sent: Inigo's requests to that Okta (or this server's checks) are all in flight.
    Not "cannot reach Okta": nothing was tried. `retry_in`: seconds until the oldest of them has surely ended."""

    def __init__(self, retry_in: float) -> None:
        self.retry_in = max(1, int(retry_in + 0.999))
        super().__init__(f"busy; try again in {self.retry_in} s")


class _Slots:
    def __init__(self, size: int) -> None:
        self.size = size
        self.started: list[float] = []  # when each request in flight began (time.monotonic)
        self.changed = threading.Condition()

    @contextmanager
    def hold(self, patience: float, refuse: Callable[[float], Exception]) -> Iterator[None]:
        """A slot, waiting at most `patience` seconds past the start of the oldest request in flight; else
        `refuse(oldest start)` is raised."""
        with self.changed:
            while len(self.started) >= self.size:
                # A person is waiting. Once the requests in flight have taken longer than a healthy provider takes
                # to answer, queueing behind them would only tie up this thread too: give up at once.
                remaining = min(self.started) + patience - time.monotonic()
                if remaining <= 0:
                    raise refuse(min(self.started))
                self.changed.wait(remaining)
            mine = time.monotonic()
            self.started.append(mine)
        try:
            yield
        finally:
            with self.changed:
                self.started.remove(mine)
                self.changed.notify_all()


_slots: dict[tuple[str, str], _Slots] = {}
_slots_lock = threading.Lock()


def _issuer_slots(issuer: str, group: str) -> _Slots:
    with _slots_lock:
        slots = _slots.get((issuer, group))
        if slots is None:
            slots = _slots[issuer, group] = _Slots(settings.OIDC_MAX_REQUESTS_PER_ISSUER[group])
    return slots


@contextmanager
def guarded(issuer: str, kind: str, *, reading: breaker.Reading | None = None) -> Iterator[None]:
    """Around every request of a sign-in to an issuer: its breaker (okta.breaker), and a slot of its group.
    `kind`: 'discovery' (the first request of a login: a tarpit shows here), 'keys', 'token' or 'userinfo' (after
    the provider has answered once in this login, so waiters are more patient). `reading`: the breaker as this
    request read it already (login_documents), so that a healthy sign-in reads the cache no second time."""
    if reading is None or reading.issuer != issuer:
        reading = breaker.read(issuer)
    probe = _admitted(reading)

    def refuse(_oldest: float) -> LoginError:
        if probe:
            breaker.probe_release(issuer)
        return LoginError("provider_unreachable", f"{issuer}: its earlier requests have not come back")

    with _issuer_slots(issuer, _SLOT_GROUPS[kind]).hold(settings.OIDC_PROVIDER_PATIENCE_SECONDS[kind], refuse):
        try:
            yield
        except LoginError as error:
            # Only what ties up threads is evidence against the provider; an answer, however bad, is an answer.
            if error.reason == "provider_unreachable":
                breaker.failure_note(reading, probe=probe)
            else:
                breaker.success_note(reading, probe=probe)
            raise
        breaker.success_note(reading, probe=probe)


def _admitted(reading: breaker.Reading) -> bool:
    """Whether a request may go out under this breaker reading: True when it goes as the probe of a half-open
    breaker, False when it goes as usual; refused with provider_unreachable while the breaker is open."""
    now = time.time()
    state = breaker.state(reading, now)
    if state is breaker.State.CLOSED:
        return False
    if state is breaker.State.HALF_OPEN and breaker.probe_claim(reading.issuer):
        return True
    raise LoginError(
        "provider_unreachable",
        f"{reading.issuer}: not contacted, its breaker opened after {reading.opened_failures} failures; "
        f"next try in {max(0, int(reading.retry_at - now))} s",
    )


@contextmanager
def check_guarded(issuer: str, kind: str) -> Iterator[None]:
    """Around every request of a connection check: a slot of the issuer's group, as a sign-in takes, but never its
    breaker (read, tripped or closed; see okta.breaker). A busy slot raises ProviderBusy."""

    def refuse(oldest: float) -> ProviderBusy:
        return ProviderBusy(oldest + http.request_seconds() - time.monotonic())

    with _issuer_slots(issuer, _SLOT_GROUPS[kind]).hold(settings.OIDC_PROVIDER_PATIENCE_SECONDS["discovery"], refuse):
        yield


_checks: dict[int, _Slots] = {}  # by size: one while the setting stays as it is


@contextmanager
def check_slot(requests: int) -> Iterator[None]:
    """One of the few connection checks a process runs at once; ProviderBusy when they are all running. `requests`:
    how many requests one check sends at most, for the time a person is told to wait."""
    size = settings.OIDC_MAX_CHECKS_PER_PROCESS
    with _slots_lock:
        slots = _checks.get(size) or _checks.setdefault(size, _Slots(size))

    def refuse(oldest: float) -> ProviderBusy:
        return ProviderBusy(oldest + requests * http.request_seconds() - time.monotonic())

    with slots.hold(0, refuse):
        yield


def forget(*issuers: str) -> None:
    """Drop what is cached for these issuers (their tenant's values changed): documents, keys, breaker counts."""
    cache.delete_many([_cache_key(kind, issuer) for issuer in issuers if issuer
                       for kind in ("discovery", "jwks", "jwks-refetch")])
    for issuer in issuers:
        if issuer:
            breaker.forget(issuer)


def fetch_provider_metadata(issuer: str) -> ProviderMetadata:
    document, _response = http.get_json(discovery_url(issuer))
    if not isinstance(document, dict):
        raise LoginError("provider_bad_response", "discovery document is not a JSON object")
    # OIDC Discovery 1.0 section 4.3: the issuer in the document must be exactly the issuer we asked; else an
    # attacker who controls a document could make us accept tokens from another issuer.
    if document.get("issuer") != issuer:
        raise LoginError(
            "discovery_issuer_mismatch", f"expected issuer {issuer}, the document says {document.get('issuer')!r}"
        )
    endpoints = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        endpoints[name] = _endpoint(document, name, required=True)
    for name in ("userinfo_endpoint", "end_session_endpoint"):
        endpoints[name] = _endpoint(document, name, required=False)
    # Every endpoint stays on the issuer's own origin (scheme, host and port; RFC 6454 section 4). The browser is
    # sent to the first two, so another origin would make Inigo an open redirector. The back channel sends the
    # Client Secret (token), the access token (userinfo) and trusts what it reads (keys), so another origin there
    # would hand the customer's credentials, or a forger's keys, to whoever a discovery document names (SPEC
    # "Secrets stay with their issuer").
    issuer_origin = _origin(issuer)
    for name in ("authorization_endpoint", "end_session_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        if endpoints[name] and _origin(endpoints[name]) != issuer_origin:
            raise LoginError("provider_bad_response", f"{name} is not on the issuer's origin")
    # Inigo appends its own query to the authorization endpoint (RFC 6749 section 3.1); one that carries a query or
    # a fragment already would garble the request, or slip a state of the provider's choosing into it.
    parts = urlsplit(endpoints["authorization_endpoint"])
    if parts.query or parts.fragment or "?" in endpoints["authorization_endpoint"]:
        raise LoginError("provider_bad_response", "authorization_endpoint carries a query or fragment")
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if not isinstance(methods, list):
        raise LoginError("provider_bad_response", "token_endpoint_auth_methods_supported is not a list")
    return ProviderMetadata(
        issuer=issuer,
        token_endpoint_auth_methods=tuple(str(m) for m in methods),
        authorization_response_iss_parameter_supported=document.get(
            "authorization_response_iss_parameter_supported") is True,
        **endpoints,
    )


_DEFAULT_PORTS = {"https": 443, "http": 80}


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the port made explicit (`https://acme.okta.com:443` is
    `https://acme.okta.com`). A URL that carries a user name or password has no origin Inigo sends anything to."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise LoginError("provider_bad_response", "the discovery document names an unreadable URL") from exc
    if parts.username is not None or parts.password is not None:
        raise LoginError("provider_bad_response", "the discovery document names a URL with a user name in it")
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), port if port is not None else _DEFAULT_PORTS.get(scheme)


def _endpoint(document: dict[str, Any], name: str, *, required: bool) -> str:
    value = document.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise LoginError("provider_bad_response", f"discovery document lacks {name}")
    scheme = urlsplit(value).scheme
    if scheme != "https" and not (scheme == "http" and settings.SSO_ALLOW_INSECURE_ISSUERS):
        raise LoginError("provider_bad_response", f"{name} is not an https URL")
    return value


def signing_keys(
    metadata: ProviderMetadata, kid: str | None, *, cached: list[dict[str, Any]] | None = None
) -> list[jwt.PyJWK]:
    """The RS256 keys that may have signed a token with this `kid`: the one key with that id, or every RS256
    signing key when the token names none (OIDC Core 10.1: kid may be omitted; then each key is tried).
    `cached`: the keys as login_documents read them moments ago, instead of reading the cache again."""
    keys = cached if cached is not None else _cached_keys(metadata)
    if kid is not None and not _with_kid(keys, kid):
        keys = _refetch_keys(metadata)
        if not _with_kid(keys, kid):
            raise LoginError("id_token_unknown_kid", f"no key with kid {kid[:80]!r} in the provider's JWKS")
    matching = _with_kid(keys, kid) if kid is not None else keys
    try:
        return [jwt.PyJWK(jwk, algorithm="RS256") for jwk in matching]
    except jwt.PyJWKError as exc:
        raise LoginError("provider_bad_response", "the provider's JWKS holds a key that cannot be read") from exc


def _with_kid(keys: list[dict[str, Any]], kid: str) -> list[dict[str, Any]]:
    return [jwk for jwk in keys if jwk.get("kid") == kid]


def _cached_keys(metadata: ProviderMetadata) -> list[dict[str, Any]]:
    key = _cache_key("jwks", metadata.issuer)
    cached = cache.get(key)
    if cached is not None:
        return cached
    with guarded(metadata.issuer, "keys"):
        if (cached := cache.get(key)) is not None:  # fetched by the login we waited for
            return cached
        return _fetch_and_cache_keys(metadata)


def _refetch_keys(metadata: ProviderMetadata) -> list[dict[str, Any]]:
    if cache.add(_cache_key("jwks-refetch", metadata.issuer), 1, KEYS_REFETCH_INTERVAL):
        return _fetch_and_cache_keys(metadata)
    # Another login refetched a moment ago; use what it stored.
    return cache.get(_cache_key("jwks", metadata.issuer)) or []


def _fetch_and_cache_keys(metadata: ProviderMetadata) -> list[dict[str, Any]]:
    document, response = http.get_json(metadata.jwks_uri)
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise LoginError("provider_bad_response", "the JWKS document has no key list")
    keys = [jwk for jwk in document["keys"] if is_rs256_signing_key(jwk)]
    if len(keys) > MAX_KEYS:
        # Okta publishes two or three; thousands would make every token without a kid try each of them.
        raise LoginError("provider_bad_response", f"the JWKS holds {len(keys)} signing keys (at most {MAX_KEYS})")
    cache.set(_cache_key("jwks", metadata.issuer), keys, _keys_ttl(response.headers.get("Cache-Control", "")))
    return keys


def is_rs256_signing_key(jwk: Any) -> bool:
    return (
        isinstance(jwk, dict)
        and jwk.get("kty") == "RSA"
        and jwk.get("use", "sig") == "sig"
        and jwk.get("alg", "RS256") == "RS256"
        and isinstance(jwk.get("n"), str)
        and isinstance(jwk.get("e"), str)
    )


def _keys_ttl(cache_control: str) -> int:
    match = _MAX_AGE.search(cache_control or "")
    if not match:
        return KEYS_TTL_DEFAULT
    digits = match.group(1)
    # Any value longer than KEYS_TTL_MAX's digits is above it; int() of thousands of digits would raise
    # (Python's int max_str_digits), and a provider's header must never fail a login.
    if len(digits) > len(str(KEYS_TTL_MAX)):
        return KEYS_TTL_MAX
    return max(KEYS_TTL_MIN, min(KEYS_TTL_MAX, int(digits)))
