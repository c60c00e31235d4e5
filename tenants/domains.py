"""Email domains that route a work email on /login/ to its tenant (SPEC "Email domains, verified").

A domain is stored and compared in its IDNA A-label form (`bücher.example` is `xn--bcher-kva.example`, RFC 5890
section 2.3.2.1), lower case, and shown in Unicode. Conversion follows IDNA 2008 with the UTS #46 mapping (the
`idna` package), as browsers and mail software map what a person types."""

import re
from collections.abc import Iterable

import idna

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})+$")

# Anyone can have an address at these: a tenant that routed one would receive strangers at its Okta.
PUBLIC_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com", "icloud.com", "me.com",
    "aol.com", "proton.me", "protonmail.com", "gmx.com", "mail.com", "yandex.com", "zoho.com",
})

# SPEC "Email domains, verified": the TXT record a customer publishes to prove they control a domain.
CHALLENGE_LABEL = "_inigo-challenge"
CHALLENGE_PREFIX = "inigo-domain-verification="


class DomainError(ValueError):
    """Not a domain, or one Inigo never routes; the message says which, in words for the person who typed it."""


def a_label(value: str) -> str | None:
    """'Bücher.Example' -> 'xn--bcher-kva.example'; None for what is not a domain name of at least two labels
    (an IP address, a single label, a name with spaces or symbols)."""
    text = value.strip().rstrip(".")
    if not text or len(text) > 253:
        return None
    try:
        encoded = idna.encode(text, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return None
    if not _DOMAIN.match(encoded) or encoded.rpartition(".")[2].isdigit():  # a numeric TLD: an IPv4 address
        return None
    return encoded


def unicode_domain(domain: str) -> str:
    """'xn--bcher-kva.example' -> 'bücher.example', for people to read; the stored form when it does not decode."""
    try:
        return idna.decode(domain)
    except (idna.IDNAError, UnicodeError):
        return domain


def email_domain(value: str, *, allow_public: bool = False) -> str:
    """One domain as a person typed it ('@Acme.com', 'bücher.example') -> its A-label; DomainError when it is not
    a domain or (unless `allow_public`) is a public mail domain."""
    typed = value.strip()
    domain = a_label(typed.lstrip("@"))
    if domain is None:
        raise DomainError(f"{typed!r} is not an email domain (expected something like acme.com).")
    if domain in PUBLIC_MAIL_DOMAINS and not allow_public:
        raise DomainError(
            f"{unicode_domain(domain)} is a public mail domain: anyone can have an address there, so it cannot "
            "send people to one organisation's Okta. People with such addresses sign in from their Okta dashboard."
        )
    return domain


def parse_email_domains(value: str | Iterable[str], *, allow_public: bool = False) -> list[str]:
    """'Acme.com, @acme.co.uk, bücher.example' -> ['acme.com', 'acme.co.uk', 'xn--bcher-kva.example'] (A-labels,
    unique, in order). Raises DomainError naming the first entry that is not a domain, or is a public one (unless
    `allow_public`: a list saved before that rule existed, which tenant_for_email never routes anyway)."""
    items = re.split(r"[\s,;]+", value) if isinstance(value, str) else list(value)
    domains: list[str] = []
    for item in items:
        if not item.strip():
            continue
        domain = email_domain(item, allow_public=allow_public)
        if domain not in domains:
            domains.append(domain)
    return domains


def domain_of_email(email: str) -> str | None:
    """The A-label of a typed email's domain: 'jane@Bücher.example' -> 'xn--bcher-kva.example' (SPEC: /login/
    compares the typed domain the way domains are stored); None when there is no domain to look for."""
    local, at, domain = (email or "").strip().rpartition("@")
    if not at or not local or not domain:
        return None
    return a_label(domain)


def challenge_name(domain: str) -> str:
    return f"{CHALLENGE_LABEL}.{domain}"


def challenge_value(token: str) -> str:
    return f"{CHALLENGE_PREFIX}{token}"
