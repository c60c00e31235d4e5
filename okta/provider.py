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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
from django.conf import settings
from django.core.cache import cache

from inigo_sso.failures import LoginError
from okta import http

logger = logging.getLogger(__name__)

DISCOVERY_TTL = 60 * 60
KEYS_TTL_DEFAULT = 60 * 60
KEYS_TTL_MIN, KEYS_TTL_MAX = 5 * 60, 24 * 60 * 60
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
    return f"oidc:{kind}:v2:{hashlib.sha256(issuer.encode()).hexdigest()[:40]}"


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def provider_metadata(issuer: str) -> ProviderMetadata:
    """The provider's metadata, from the cache or fetched once and checked."""
    key, unreachable = _cache_key("discovery", issuer), _cache_key("unreachable", issuer)
    cached = cache.get_many([key, unreachable])  # one round trip to the shared cache per login
    if cached.get(unreachable):
        # Every login of this issuer fails at once for a short while after one found it unreachable, also when
        # its documents are cached (its token endpoint may be what hangs).
        raise LoginError("provider_unreachable", f"{issuer} failed moments ago; not tried again yet")
    if cached.get(key) is not None:
        return ProviderMetadata(**cached[key])
    with _fetch_slot(issuer, "discovery"):
        if (document := cache.get(key)) is not None:  # fetched by the login we waited for
            return ProviderMetadata(**document)
        try:
            metadata = fetch_provider_metadata(issuer)
        except LoginError as error:
            note_failure(issuer, error)
            raise
    cache.set(key, metadata.__dict__, DISCOVERY_TTL)
    return metadata


# --- at most a few fetches of one issuer's documents in flight, per process ---------------------------------------
# A cold burst of logins needs one fetch, not one each; and a provider that accepts connections and never answers
# (a tarpit) then holds these few threads for the read timeout, never every thread of a server. The token exchange
# (one per login) is not limited here: a healthy burst of sign-ins is never refused for being a burst; a hanging
# token endpoint is bounded by the timeouts and the failure mark below.
class _FetchSlots:
    """Up to OIDC_MAX_FETCHES_PER_ISSUER fetches of one issuer's documents at once, in this process."""

    def __init__(self) -> None:
        self.started: list[float] = []  # when each fetch in flight began (time.monotonic)
        self.changed = threading.Condition()

    @contextmanager
    def hold(self, issuer: str, patience: float) -> Iterator[None]:
        with self.changed:
            while len(self.started) >= settings.OIDC_MAX_FETCHES_PER_ISSUER:
                # A person is waiting. Once the fetches in flight have taken longer than a healthy provider takes
                # to answer, queueing behind them would only tie up this thread too: give up at once.
                remaining = min(self.started) + patience - time.monotonic()
                if remaining <= 0:
                    raise LoginError("provider_unreachable", f"{issuer}: its earlier fetches have not come back")
                self.changed.wait(remaining)
            mine = time.monotonic()
            self.started.append(mine)
        try:
            yield
        finally:
            with self.changed:
                self.started.remove(mine)
                self.changed.notify_all()


_slots: dict[str, _FetchSlots] = {}
_slots_lock = threading.Lock()


@contextmanager
def _fetch_slot(issuer: str, kind: str) -> Iterator[None]:
    """`kind` 'discovery' (the first request of a login: a tarpit shows here) or 'keys' (fetched after the token
    endpoint answered, so the provider is alive: waiters are more patient)."""
    with _slots_lock:
        slots = _slots.setdefault(issuer, _FetchSlots())
    with slots.hold(issuer, settings.OIDC_FETCH_PATIENCE_SECONDS[kind]):
        yield


# --- one tenant's outage costs other tenants nothing --------------------------------------------------------------
# When a provider cannot be reached, every login for it would wait out the timeouts again, each holding a server
# thread. For a short while after a failure, logins for that issuer fail at once instead (the page says "try again
# in a minute"); the mark lives in the shared cache, so every server learns it from the first one that waited.
UNREACHABLE_TTL = 30


def note_failure(issuer: str, error: LoginError) -> None:
    """Remember that the issuer could not be reached (not that it answered badly: that is no stall)."""
    if error.reason == "provider_unreachable":
        cache.set(_cache_key("unreachable", issuer), 1, UNREACHABLE_TTL)


def forget(*issuers: str) -> None:
    """Drop what is cached for these issuers (their tenant's values changed): documents, keys, failure marks."""
    cache.delete_many([_cache_key(kind, issuer) for issuer in issuers if issuer
                       for kind in ("discovery", "jwks", "jwks-refetch", "unreachable")])


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
    # The browser is sent to these two: they must stay on the issuer's own host, or a discovery document could
    # make Inigo an open redirector to any site.
    for name in ("authorization_endpoint", "end_session_endpoint"):
        if endpoints[name] and _origin(endpoints[name]) != _origin(issuer):
            raise LoginError("provider_bad_response", f"{name} is not on the issuer's host")
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


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


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


def signing_keys(metadata: ProviderMetadata, kid: str | None) -> list[jwt.PyJWK]:
    """The RS256 keys that may have signed a token with this `kid`: the one key with that id, or every RS256
    signing key when the token names none (OIDC Core 10.1: kid may be omitted; then each key is tried)."""
    keys = _cached_keys(metadata)
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
    with _fetch_slot(metadata.issuer, "keys"):
        if (cached := cache.get(key)) is not None:  # fetched by the login we waited for
            return cached
        try:
            return _fetch_and_cache_keys(metadata)
        except LoginError as error:
            note_failure(metadata.issuer, error)
            raise


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
    return max(KEYS_TTL_MIN, min(KEYS_TTL_MAX, int(match.group(1))))
