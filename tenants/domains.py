"""Email domains that route a work email on /login/ to its tenant."""

import re
from collections.abc import Iterable

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})+$")


def parse_email_domains(value: str | Iterable[str]) -> list[str]:
    """'Acme.com, @acme.co.uk' or ['acme.com'] -> ['acme.com', 'acme.co.uk'] (lower case, unique, in order).

    Raises ValueError naming the first entry that is not a domain."""
    items = re.split(r"[\s,;]+", value) if isinstance(value, str) else list(value)
    domains: list[str] = []
    for item in items:
        domain = item.strip().lower().lstrip("@")
        if not domain:
            continue
        if not _DOMAIN.match(domain):
            raise ValueError(f"{item.strip()!r} is not an email domain (expected something like acme.com).")
        if domain not in domains:
            domains.append(domain)
    return domains


def domain_of_email(email: str) -> str | None:
    local, at, domain = (email or "").strip().rpartition("@")
    if not at or not local or not domain:
        return None
    domain = domain.lower()
    return domain if _DOMAIN.match(domain) else None
