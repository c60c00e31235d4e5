"""Looking up a domain's verification record in DNS (SPEC "Email domains, verified"), with dnspython.

One TXT lookup of `_inigo-challenge.<domain>` through `SSO_DNS_NAMESERVERS` (else the system's resolver): each query
waits SSO_DNS_QUERY_SECONDS at most and the whole lookup SSO_DNS_LOOKUP_SECONDS, whatever the servers do (no
answer, SERVFAIL, a truncated answer retried over TCP). The lookup runs in one of the few check slots of this
process (okta.provider.check_slot), so a flood of "Verify" clicks against a DNS server that never answers holds a
few threads, never every thread of a server."""

import enum
import time
from dataclasses import dataclass

import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver
from django.conf import settings

from okta.provider import ProviderBusy, check_slot


class Outcome(enum.Enum):
    FOUND = "found"  # a TXT value at the name is the expected one
    MISSING = "missing"  # no such name, or no TXT record at it (yet)
    OTHER_VALUE = "other_value"  # TXT records are there, none with the expected value
    NO_ANSWER = "no_answer"  # the DNS server did not answer in time, or answered with an error
    BUSY = "busy"  # this server's check slots were all taken: nothing was asked


@dataclass(frozen=True)
class Lookup:
    outcome: Outcome
    values: tuple[str, ...] = ()  # the TXT values found (OTHER_VALUE), each record's strings joined
    problem: str = ""  # NO_ANSWER: what the server did, in words
    retry_in: int = 0  # BUSY: seconds


def challenge_lookup(name: str, expected: str) -> Lookup:
    """Whether one TXT record at `name` holds `expected` (exactly, case and all: it is a random token)."""
    try:
        with check_slot(requests=1):
            return _lookup(name, expected)
    except ProviderBusy as busy:
        return Lookup(Outcome.BUSY, retry_in=busy.retry_in)


def _lookup(name: str, expected: str) -> Lookup:
    started = time.monotonic()
    try:
        answer = resolver().resolve(name, dns.rdatatype.TXT, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return Lookup(Outcome.MISSING)
    except dns.exception.Timeout:
        return Lookup(Outcome.NO_ANSWER, problem=f"no answer within {time.monotonic() - started:.0f} s")
    except dns.resolver.NoNameservers:
        return Lookup(Outcome.NO_ANSWER, problem="the DNS server answered with an error (SERVFAIL or REFUSED)")
    except (dns.exception.DNSException, OSError) as exc:  # no resolver configured, network unreachable, ...
        return Lookup(Outcome.NO_ANSWER, problem=type(exc).__name__)
    values = tuple(txt_value(record.strings) for record in answer)
    return Lookup(Outcome.FOUND) if expected in values else Lookup(Outcome.OTHER_VALUE, values=values)


def txt_value(strings: tuple[bytes, ...]) -> str:
    """One TXT record's value: its character-strings joined (a value longer than 255 bytes is split into several,
    RFC 1035 section 3.3.14 and RFC 7208 section 3.3)."""
    return b"".join(strings).decode("utf-8", "replace")


def resolver() -> dns.resolver.Resolver:
    servers = settings.SSO_DNS_NAMESERVERS
    if servers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(host, port) for host, port in servers]
    else:
        resolver = dns.resolver.Resolver()  # /etc/resolv.conf; NoResolverConfiguration without one
    resolver.timeout = settings.SSO_DNS_QUERY_SECONDS
    resolver.lifetime = settings.SSO_DNS_LOOKUP_SECONDS
    resolver.use_edns(0, 0, 1232)  # the payload size of DNS Flag Day 2020; larger answers come over TCP
    return resolver
