"""The one search of login events, for support staff's admin (every tenant) and the customer's console (their
own): exact matches only, each on an index, so a search at two million events is a few index lookups, never a scan.

A term is tried as each thing it could be: a support reference (unique; printed in capitals, found in any case), an
email (the verified one and the typed, unverified one: UPPER() indexes, so any case), a subject (`sub`) and an IP
address. What the term cannot be is not searched."""

import ipaddress
import re

from django.db.models import Q, QuerySet
from django.db.models.functions import Upper

from accounts.models import LoginEvent
from inigo_sso.references import EVENT_REFERENCE_LENGTH

_IP = re.compile(r"^[0-9a-fA-F.:]{3,45}$")


def login_events_matching(events: QuerySet[LoginEvent], term: str) -> QuerySet[LoginEvent]:
    """`events` narrowed to those the term names exactly; all of them for an empty term."""
    term = term.strip()
    if not term:
        return events
    matches = Q(subject=term[:255])
    if len(term) == EVENT_REFERENCE_LENGTH:
        matches |= Q(reference=term.upper())
    if "@" in term:
        # UPPER(email) = UPPER(term): the expression of the index loginevent_email_upper, on every database
        # (email__iexact would be a LIKE on SQLite). The typed, unverified email (login form, login_hint) is
        # searched too, on its own index.
        events = events.alias(email_upper=Upper("email"), typed_email_upper=Upper("typed_email"))
        matches |= Q(email_upper=term[:254].upper()) | Q(typed_email_upper=term[:254].upper())
    if (address := ip_address(term)) is not None:
        matches |= Q(ip_address=address)
    return events.filter(matches)


def ip_address(term: str) -> str | None:
    """The term as an IP address in its canonical form, or None when it is not one."""
    if not _IP.match(term):
        return None
    try:
        return str(ipaddress.ip_address(term))
    except ValueError:
        return None
