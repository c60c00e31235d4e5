"""Check a tenant's Okta connection the way a sign-in will use it, and say in plain words what is wrong.

One function for the admin (list action and change-page button), `manage.py check_tenant` and the customer's
setup page. Every document is fetched now, past the cache, so the provider is seen as it is, not as it was an
hour ago. The Client ID and Secret are proven without anyone signing in: the token endpoint is asked to redeem a
code that does not exist, and its error says whether it knew the client (see prove_credentials).
"""

import enum
import logging
import secrets
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

import jwt
from requests.auth import HTTPBasicAuth

from inigo_sso.failures import LoginError
from okta import exchange, http
from okta.addresses import InternalAddressError, refuse_internal_host
from okta.provider import (  # the same key rule sign-in applies
    ProviderBusy,
    ProviderMetadata,
    check_guarded,
    check_slot,
    discovery_url,
    fetch_provider_metadata,
    is_rs256_signing_key,
)

logger = logging.getLogger(__name__)


class ProviderClient(Protocol):
    """What the check needs of a tenant: who it is and its Okta app's values (tenants.Tenant fits). The secret
    and the redirect URI are handed over separately: this package knows nothing of how they are stored."""

    name: str
    slug: str
    issuer: str
    client_id: str


class Check(enum.StrEnum):
    """The steps of the check, in order; the setup page shows one line per step and records the failed ones."""

    DISCOVERY = "discovery"
    KEYS = "keys"
    TOKEN_AUTHENTICATION = "token_authentication"  # noqa: S105 (a step name)
    CREDENTIALS = "credentials"


@dataclass(frozen=True)
class Finding:
    ok: bool
    message: str
    check: Check = Check.DISCOVERY


MAX_CHECK_REQUESTS = 4  # discovery, its issuer read again on a mismatch, keys, token


@dataclass
class ConnectionReport:
    tenant: ProviderClient
    findings: list[Finding] = field(default_factory=list)
    # Set when the check was not run because Inigo's requests to that Okta, or this server's checks, were all in
    # flight: seconds to wait. Nothing was learnt about the values then, so it counts as no failed check.
    busy_retry_in: int | None = None

    @property
    def problems(self) -> list[Finding]:
        return [finding for finding in self.findings if not finding.ok]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def summary(self) -> str:
        name = f"{self.tenant.name} ({self.tenant.slug})"
        if self.busy_retry_in is not None:
            return f"Connection check for {name}: not finished, Inigo is busy; try again in {self.busy_retry_in} s."
        if self.ok:
            return f"Connection check for {name}: no problems found."
        count = len(self.problems)
        return f"Connection check for {name}: {count} problem{'s' if count > 1 else ''} found."

    @property
    def failed_checks(self) -> list[Check]:
        return list(dict.fromkeys(finding.check for finding in self.problems))

    def passed(self, message: str, check: Check = Check.DISCOVERY) -> None:
        self.findings.append(Finding(ok=True, message=message, check=check))

    def failed(self, message: str, check: Check = Check.DISCOVERY) -> None:
        self.findings.append(Finding(ok=False, message=message, check=check))

    def busy(self, retry_in: int) -> None:
        self.busy_retry_in = retry_in
        self.failed(
            f"Inigo is busy with other requests to this Okta right now, so the check did not finish. Nothing says "
            f"the values are wrong: try again in {retry_in} s."
        )


def connection_check(tenant: ProviderClient, *, client_secret: str, redirect_uri: str) -> ConnectionReport:
    """Discovery document, issuer, signing keys, token endpoint authentication, and the Client ID and Secret
    proven at the token endpoint with `redirect_uri` (the tenant's Sign-in redirect URI)."""
    report = ConnectionReport(tenant)
    if not tenant.issuer:
        report.failed(
            "No Okta domain is set: the tenant is awaiting setup. Send the customer a setup link, or enter the "
            "Okta domain, Client ID and Client Secret on the tenant page."
        )
        return report
    try:
        # Checks take the slots of sign-ins' requests to the same Okta, and few run at once in a process: ten checks
        # against an Okta that answers a byte a second hold a few threads, never a server. They never move the
        # issuer's breaker (okta.breaker says why), and are sent while it is open: a check shows when Okta is back.
        with check_slot(MAX_CHECK_REQUESTS):
            metadata = _check_discovery(tenant, report)
            if metadata is not None:
                _check_keys(metadata, report)
                method = _check_token_authentication(metadata, report)
                if method is not None:
                    _check_credentials(
                        metadata, report, client_id=tenant.client_id, client_secret=client_secret,
                        redirect_uri=redirect_uri, method=method,
                    )
    except ProviderBusy as busy:
        report.busy(busy.retry_in)
    except Exception:
        # Provider documents are outside input; whatever they hold, support staff get a sentence, not a trace.
        logger.exception("connection check for tenant %s stopped on an unexpected error", tenant.slug)
        report.failed("The check stopped on an unexpected error; the details are in the server log.")
    logger.info(
        "connection check tenant=%s problems=%d failed=%s", tenant.slug, len(report.problems),
        ",".join(report.failed_checks) or "-",
    )
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
        with check_guarded(tenant.issuer, "discovery"):
            metadata = fetch_provider_metadata(tenant.issuer)
    except LoginError as error:
        if error.reason == "discovery_issuer_mismatch":
            report.passed(f"Okta answers at {url}.")
            stated = _stated_issuer(tenant.issuer, url)
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


def _stated_issuer(issuer: str, url: str) -> str:
    """The issuer the document states. fetch_provider_metadata does not hand it back with the mismatch, so it is
    read once more; only this failure path pays the extra request."""
    try:
        with check_guarded(issuer, "discovery"):
            document, _response = http.get_json(url)
    except LoginError:
        return "an issuer Inigo could not read a second time"
    issuer = document.get("issuer") if isinstance(document, dict) else None
    if not isinstance(issuer, str) or not issuer:
        return "no issuer at all"
    return issuer[:200]


def _check_keys(metadata: ProviderMetadata, report: ConnectionReport) -> None:
    try:
        with check_guarded(metadata.issuer, "keys"):
            document, _response = http.get_json(metadata.jwks_uri)
    except LoginError as error:
        why = _why_unreachable(error) if error.reason == "provider_unreachable" else error.detail
        report.failed(f"Inigo cannot read Okta's signing keys at {metadata.jwks_uri}: {why}.", Check.KEYS)
        return
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        report.failed(f"The document at {metadata.jwks_uri} is not a key set (it has no list of keys).", Check.KEYS)
        return
    usable = [jwk for jwk in keys if is_rs256_signing_key(jwk) and _readable(jwk)]
    if not usable:
        report.failed(
            f"Okta publishes no RS256 signing key at {metadata.jwks_uri}, so Inigo cannot verify any sign-in.",
            Check.KEYS,
        )
        return
    count = len(usable)
    report.passed(
        f"Okta publishes {count} RS256 signing key{'s' if count > 1 else ''} at {metadata.jwks_uri}.", Check.KEYS
    )


def _readable(jwk: dict) -> bool:
    try:
        jwt.PyJWK(jwk, algorithm="RS256")
    except jwt.PyJWKError:
        return False
    return True


def _check_token_authentication(metadata: ProviderMetadata, report: ConnectionReport) -> str | None:
    """The client authentication Inigo will use, or None when the provider allows neither secret method."""
    methods = ", ".join(metadata.token_endpoint_auth_methods)
    method = token_auth_method(metadata)
    if method is None:
        report.failed(
            f"Okta's token endpoint accepts only {methods}, but Inigo sends a client secret (client_secret_basic "
            "or client_secret_post). In the customer's Okta app, Client authentication must be 'Client secret'.",
            Check.TOKEN_AUTHENTICATION,
        )
        return None
    report.passed(f"Okta's token endpoint accepts {methods}; Inigo will use {method}.", Check.TOKEN_AUTHENTICATION)
    return method


def token_auth_method(metadata: ProviderMetadata) -> str | None:
    """The order accounts.oidc.backend's token exchange prefers: HTTP Basic when the provider allows it (RFC 6749
    section 2.3.1 makes it the one every server supports), else the form body; None when it allows neither."""
    if metadata.uses_client_secret_basic:
        return "client_secret_basic"
    if "client_secret_post" in metadata.token_endpoint_auth_methods:
        return "client_secret_post"
    return None


class Credentials(enum.Enum):
    """What the token endpoint's answer to a made-up code says about the Client ID and Secret."""

    ACCEPTED = "accepted"  # invalid_grant: it knew the client and refused only the code
    REJECTED = "rejected"  # invalid_client or HTTP 401: the Client ID or Secret is wrong
    WRONG_GRANT_TYPE = "wrong_grant_type"  # unauthorized_client: right credentials, no authorization-code grant
    UNANSWERED = "unanswered"  # invalid_request, 429, 5xx, no answer: nothing learnt either way


@dataclass(frozen=True)
class CredentialsAnswer:
    verdict: Credentials
    status: int | None  # the HTTP status, None when no answer came
    error: str  # the OAuth error code, or a few words on why there was none


def prove_credentials(
    metadata: ProviderMetadata, *, client_id: str, client_secret: str, redirect_uri: str, method: str
) -> CredentialsAnswer:
    """Ask the token endpoint to redeem an authorization code that does not exist, in a request that is
    complete and right in every other part: grant type, the tenant's redirect URI, a PKCE verifier, the client
    authenticated as a sign-in would. RFC 6749 section 5.2: the server authenticates the client first, and
    answers invalid_client (HTTP 401 with Basic) when it cannot; only a client it knows gets as far as the code,
    which then earns invalid_grant. No code is ever redeemed: the one sent is random and was never issued."""
    payload = {
        "grant_type": "authorization_code",
        "code": secrets.token_urlsafe(32),
        "redirect_uri": redirect_uri,
        # RFC 7636 section 4.1: 43 to 128 characters of [A-Za-z0-9-._~]; token_urlsafe(48) gives 64.
        "code_verifier": secrets.token_urlsafe(48),
    }
    auth = None
    if method == "client_secret_basic":
        auth = HTTPBasicAuth(client_id, client_secret)  # as accounts.oidc.backend.get_token sends it
    else:
        payload.update(client_id=client_id, client_secret=client_secret)
    try:
        with check_guarded(metadata.issuer, "token"):
            response = http.send("POST", metadata.token_endpoint, data=payload, auth=auth)
    except LoginError as error:
        return CredentialsAnswer(Credentials.UNANSWERED, None, _why_unreachable(error))
    error = exchange.oauth_error(response)[:60]
    status = response.status_code
    if error == "invalid_client" or status == 401:
        verdict = Credentials.REJECTED
    elif error == "invalid_grant" and status == 400:
        verdict = Credentials.ACCEPTED
    elif error == "unauthorized_client" and status == 400:
        verdict = Credentials.WRONG_GRANT_TYPE
    else:  # invalid_request, 429, 5xx, a 200 for a code never issued, an unreadable body: no verdict
        verdict = Credentials.UNANSWERED
    return CredentialsAnswer(verdict, status, error or "no OAuth error code")


def _check_credentials(
    metadata: ProviderMetadata, report: ConnectionReport, *, client_id: str, client_secret: str,
    redirect_uri: str, method: str,
) -> None:
    if not client_secret:
        report.failed(
            "No client secret is stored (or it cannot be decrypted with the current keys), so every sign-in "
            "fails. Enter the Client Secret from the customer's Okta app on the tenant page.",
            Check.CREDENTIALS,
        )
        return
    answer = prove_credentials(
        metadata, client_id=client_id, client_secret=client_secret, redirect_uri=redirect_uri, method=method
    )
    said = f"HTTP {answer.status} {answer.error}" if answer.status is not None else answer.error
    if answer.verdict is Credentials.ACCEPTED:
        report.passed(
            "Okta accepts the Client ID and Client Secret (asked to redeem a made-up sign-in code, it refused "
            "only the code).",
            Check.CREDENTIALS,
        )
    elif answer.verdict is Credentials.REJECTED:
        report.failed(
            f"Okta refused the Client ID or Client Secret ({said}): no one can sign in with them. Copy both again "
            "from the Inigo app in Okta (General tab, Client Credentials).",
            Check.CREDENTIALS,
        )
    elif answer.verdict is Credentials.WRONG_GRANT_TYPE:
        report.failed(
            f"Okta accepts the Client ID and Client Secret, but the app may not use the authorization code "
            f"grant ({said}). In the Inigo app in Okta, General tab, Grant type: tick Authorization Code.",
            Check.CREDENTIALS,
        )
    else:
        report.failed(
            f"Okta's token endpoint could not answer whether the Client ID and Client Secret are right ({said}). "
            "Nothing says they are wrong: try again in a few minutes.",
            Check.CREDENTIALS,
        )


def _why_unreachable(error: LoginError) -> str:
    """Why a request to Okta failed, in okta.http's words for the exception it raised the LoginError from: could not
    connect, no answer in time, an answer that stalled or trickled past the deadline, a connection broken off
    mid-answer, TLS, or an answer too large or undecodable."""
    return http.fault(error.__cause__).value
