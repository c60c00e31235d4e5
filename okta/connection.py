"""Check a tenant's Okta connection the way a sign-in will use it, and say in plain words what is wrong.

One function for the admin (list action and change-page button) and `manage.py check_tenant`. Every document is
fetched now, past the cache, so support staff see the provider as it is, not as it was an hour ago.
"""

import logging
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

import jwt
import requests

from inigo_sso.failures import LoginError
from okta import http
from okta.addresses import InternalAddressError, refuse_internal_host
from okta.provider import (  # the same key rule sign-in applies
    ProviderMetadata,
    discovery_url,
    fetch_provider_metadata,
    is_rs256_signing_key,
)

logger = logging.getLogger(__name__)


class ProviderClient(Protocol):
    """What the check needs of a tenant: who it is and its Okta app's values (tenants.Tenant fits)."""

    name: str
    slug: str
    issuer: str
    client_id: str

    @property
    def has_client_secret(self) -> bool: ...


@dataclass(frozen=True)
class Finding:
    ok: bool
    message: str


@dataclass
class ConnectionReport:
    tenant: ProviderClient
    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [finding for finding in self.findings if not finding.ok]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def summary(self) -> str:
        name = f"{self.tenant.name} ({self.tenant.slug})"
        if self.ok:
            return f"Connection check for {name}: no problems found."
        count = len(self.problems)
        return f"Connection check for {name}: {count} problem{'s' if count > 1 else ''} found."

    def passed(self, message: str) -> None:
        self.findings.append(Finding(ok=True, message=message))

    def failed(self, message: str) -> None:
        self.findings.append(Finding(ok=False, message=message))


def connection_check(tenant: ProviderClient) -> ConnectionReport:
    """Discovery document, issuer, signing keys, token endpoint authentication and the stored secret."""
    report = ConnectionReport(tenant)
    try:
        metadata = _check_discovery(tenant, report)
        if metadata is not None:
            _check_keys(metadata, report)
            _check_token_authentication(metadata, report)
    except Exception:
        # Provider documents are outside input; whatever they hold, support staff get a sentence, not a trace.
        logger.exception("connection check for tenant %s stopped on an unexpected error", tenant.slug)
        report.failed("The check stopped on an unexpected error; the details are in the server log.")
    _check_client_secret(tenant, report)
    logger.info("connection check tenant=%s problems=%d", tenant.slug, len(report.problems))
    return report


def _check_discovery(tenant: ProviderClient, report: ConnectionReport) -> ProviderMetadata | None:
    url = discovery_url(tenant.issuer)
    # The admin form refuses such hosts, but a tenant may come from elsewhere (add_tenant, an old row) or its DNS
    # may have changed since: never make requests into our own network on anyone's behalf.
    try:
        refuse_internal_host(urlsplit(tenant.issuer).hostname or "")
    except InternalAddressError as exc:
        report.failed(f"Inigo did not contact {url}: {exc}")
        return None
    try:
        metadata = fetch_provider_metadata(tenant.issuer)
    except LoginError as error:
        if error.reason == "discovery_issuer_mismatch":
            report.passed(f"Okta answers at {url}.")
            stated = _stated_issuer(url)
            report.failed(
                f"Issuer mismatch: Inigo has {tenant.issuer} on file, but Okta's discovery document says {stated}. "
                "Every sign-in is refused until they match. If that is the customer's Okta org (ask them), enter "
                "it as the Okta domain."
            )
        elif error.reason == "provider_unreachable":
            report.failed(f"Inigo cannot reach Okta at {url}: {_why_unreachable(error)}. Check the Okta domain.")
        else:
            report.failed(
                f"Okta at {url} answered, but not with a usable OpenID Connect discovery document "
                f"({error.detail}). Check that the Okta domain is the customer's Okta org, for example "
                "acme.okta.com, and not the address of a page."
            )
        return None
    report.passed(f"Okta answers at {url}.")
    report.passed(f"Okta states the issuer {metadata.issuer}, the same as Inigo has on file.")
    return metadata


def _stated_issuer(url: str) -> str:
    """The issuer the document states. fetch_provider_metadata does not hand it back with the mismatch, so it is
    read once more; only this failure path pays the extra request."""
    try:
        document, _response = http.get_json(url)
    except LoginError:
        return "an issuer Inigo could not read a second time"
    issuer = document.get("issuer") if isinstance(document, dict) else None
    if not isinstance(issuer, str) or not issuer:
        return "no issuer at all"
    return issuer[:200]


def _check_keys(metadata: ProviderMetadata, report: ConnectionReport) -> None:
    try:
        document, _response = http.get_json(metadata.jwks_uri)
    except LoginError as error:
        why = _why_unreachable(error) if error.reason == "provider_unreachable" else error.detail
        report.failed(f"Inigo cannot read Okta's signing keys at {metadata.jwks_uri}: {why}.")
        return
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        report.failed(f"The document at {metadata.jwks_uri} is not a key set (it has no list of keys).")
        return
    usable = [jwk for jwk in keys if is_rs256_signing_key(jwk) and _readable(jwk)]
    if not usable:
        report.failed(
            f"Okta publishes no RS256 signing key at {metadata.jwks_uri}, so Inigo cannot verify any sign-in."
        )
        return
    count = len(usable)
    report.passed(f"Okta publishes {count} RS256 signing key{'s' if count > 1 else ''} at {metadata.jwks_uri}.")


def _readable(jwk: dict) -> bool:
    try:
        jwt.PyJWK(jwk, algorithm="RS256")
    except jwt.PyJWKError:
        return False
    return True


def _check_token_authentication(metadata: ProviderMetadata, report: ConnectionReport) -> None:
    methods = ", ".join(metadata.token_endpoint_auth_methods)
    # The order accounts.oidc.backend prefers: HTTP Basic when the provider allows it, else the form body.
    if metadata.uses_client_secret_basic:
        chosen = "client_secret_basic"
    elif "client_secret_post" in metadata.token_endpoint_auth_methods:
        chosen = "client_secret_post"
    else:
        report.failed(
            f"Okta's token endpoint accepts only {methods}, but Inigo sends a client secret (client_secret_basic "
            "or client_secret_post). In the customer's Okta app, Client authentication must be 'Client secret'."
        )
        return
    report.passed(f"Okta's token endpoint accepts {methods}; Inigo will use {chosen}.")


def _check_client_secret(tenant: ProviderClient, report: ConnectionReport) -> None:
    if tenant.has_client_secret:
        report.passed(
            "A client secret is stored. Only a real sign-in can prove Okta accepts it (this check does not send it)."
        )
    else:
        report.failed(
            "No client secret is stored (or it cannot be decrypted with the current keys), so every sign-in "
            "fails. Enter the Client Secret from the customer's Okta app on the tenant page."
        )


def _why_unreachable(error: LoginError) -> str:
    cause = error.__cause__
    if isinstance(cause, requests.Timeout):
        return "it did not answer in time"
    if isinstance(cause, requests.ConnectionError):
        return "the connection failed (the host name may be wrong, or the server is down or refuses connections)"
    return "the request failed"
