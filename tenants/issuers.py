"""From what a customer pastes as their Okta domain to the issuer their ID tokens carry."""

import re
from urllib.parse import urlsplit

from inigo_sso.client_ip import is_ip_address
from okta.addresses import InternalAddressError, refuse_internal_host

# Okta custom authorization servers live under /oauth2/{id}; the org authorization server has no path.
_AUTHORIZATION_SERVER_PATH = re.compile(r"^/oauth2/[A-Za-z0-9_-]{1,64}$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


# Okta's own domains (SPEC "Secrets stay with their issuer"): what the self-service setup page accepts. A custom URL
# domain can be anyone's, so support staff enter those in admin.
OKTA_DOMAINS = ("okta.com", "oktapreview.com", "okta-emea.com", "okta-gov.com", "okta.mil")
CUSTOM_DOMAIN_REFUSED = (
    "This is not an Okta domain (an address ending in okta.com, oktapreview.com, okta-emea.com, okta-gov.com or "
    "okta.mil). Custom URL domains are entered by Inigo support: enter your organisation's Okta address here, for "
    "example acme.okta.com, or ask Inigo support to set up your custom domain."
)


class IssuerError(ValueError):
    """The value cannot be an Okta issuer; the message says why, in words for support staff."""


def issuer_from_okta_domain(okta_domain: str, *, allow_insecure: bool) -> str:
    """`acme.okta.com`, `https://acme.okta.com/` -> `https://acme.okta.com`; a custom authorization server
    path such as `/oauth2/default` is kept. Refuses anything that is not an issuer."""
    value = (okta_domain or "").strip()
    if not value:
        raise IssuerError("Enter the customer's Okta domain, for example acme.okta.com.")
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise IssuerError("This is not a valid web address.") from exc
    scheme = parts.scheme.lower()
    if scheme == "http" and not allow_insecure:
        raise IssuerError("Okta domains use https://. Plain http:// is only allowed for local development.")
    if scheme not in ("https", "http"):
        raise IssuerError("Okta domains use https://.")
    if parts.username is not None or parts.password is not None:
        raise IssuerError("The address must not contain a user name or password.")
    if parts.query or value.rstrip().endswith("?"):
        raise IssuerError("The address must not contain a query string (the part after '?').")
    if parts.fragment or "#" in value:
        raise IssuerError("The address must not contain a fragment (the part after '#').")
    host = (parts.hostname or "").lower()
    if not host or not (_HOSTNAME.match(host) or is_ip_address(host)):
        raise IssuerError("The address has no valid host name.")
    path = parts.path.rstrip("/")
    if path and not _AUTHORIZATION_SERVER_PATH.match(path):
        raise IssuerError(
            f"The address points to a page ({parts.path}), not to an Okta org. Enter only the domain, "
            "for example acme.okta.com, or an authorization server such as acme.okta.com/oauth2/default."
        )
    netloc = host if port is None else f"{host}:{port}"
    if ":" in host:  # an IPv6 literal
        netloc = f"[{host}]" if port is None else f"[{host}]:{port}"
    return f"{scheme}://{netloc}{path}"


def is_okta_domain(issuer: str) -> bool:
    """The issuer's host is an org under one of Okta's own domains (`acme.okta.com`, not `okta.com` itself)."""
    host = (urlsplit(issuer).hostname or "").lower()
    return any(host.endswith("." + domain) for domain in OKTA_DOMAINS)


def refuse_private_host(issuer: str) -> None:
    """Refuse an issuer whose host is or resolves to an internal address (okta.addresses), as IssuerError for
    the forms and commands that save a domain."""
    try:
        refuse_internal_host(urlsplit(issuer).hostname or "")
    except InternalAddressError as exc:
        raise IssuerError(str(exc)) from exc
