"""A real DNS server on loopback for the tests (dnslib's, in-process, UDP and TCP on one port), and a silent one.

The zone is a dict the test changes while the server runs: a name -> its TXT records (each a list of character-
strings, as published), or a special answer (SERVFAIL). A name not in the zone is NXDOMAIN. UDP answers larger
than EDNS's 1232 bytes are truncated, as a real server's are, so the resolver asks again over TCP."""

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from dnslib import QTYPE, RCODE, RR, TXT, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer

SERVFAIL = "SERVFAIL"
Records = list[list[bytes]] | str


class _ZoneResolver(BaseResolver):
    def __init__(self, zone: dict[str, Records]) -> None:
        self.zone = zone
        self.questions: list[str] = []

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        self.questions.append(name)
        records = self.zone.get(name)
        if records is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif records == SERVFAIL:
            reply.header.rcode = RCODE.SERVFAIL
        elif request.q.qtype == QTYPE.TXT:
            for strings in records:
                reply.add_answer(RR(name, QTYPE.TXT, rdata=TXT(strings), ttl=60))
        return reply  # the name exists without a record of that type: NOERROR and no answer


class _TruncatingHandler(DNSHandler):
    """Over UDP, an answer larger than 1232 bytes is sent as a truncated one (TC set, no records) that keeps its
    question, as RFC 1035 section 4.1.1 servers do (dnslib's own truncation drops the question, which a resolver
    then does not take for the answer to its query)."""

    UDP_LIMIT = 1232

    def get_reply(self, data: bytes) -> bytes:
        if self.protocol != "udp":
            return super().get_reply(data)
        request = DNSRecord.parse(data)
        reply = self.server.resolver.resolve(request, self)
        packed = reply.pack()
        if len(packed) <= self.UDP_LIMIT:
            return packed
        truncated = reply.truncate()
        truncated.add_question(request.q)
        return truncated.pack()


class DNSZone:
    """The zone served; `publish` and `withdraw` change it while the server runs."""

    def __init__(self, resolver: _ZoneResolver, port: int) -> None:
        self._resolver = resolver
        self.port = port

    @property
    def nameservers(self) -> list[tuple[str, int]]:
        """For settings.SSO_DNS_NAMESERVERS."""
        return [("127.0.0.1", self.port)]

    @property
    def questions(self) -> list[str]:
        return self._resolver.questions

    def publish(self, name: str, *values: str | list[bytes]) -> None:
        """TXT records at `name`: a value as one string, or already split into character-strings."""
        self._resolver.zone[name.lower()] = [
            [value.encode()] if isinstance(value, str) else value for value in values
        ]

    def fail(self, name: str) -> None:
        self._resolver.zone[name.lower()] = SERVFAIL

    def clear(self) -> None:
        self._resolver.zone.clear()
        self._resolver.questions.clear()


@contextmanager
def dns_server() -> Iterator[DNSZone]:
    resolver = _ZoneResolver({})
    udp, tcp = _servers_on_one_port(resolver)
    port = udp.server.server_address[1]
    udp.start_thread()
    tcp.start_thread()
    try:
        yield DNSZone(resolver, port)
    finally:
        udp.stop()
        tcp.stop()
        udp.server.server_close()
        tcp.server.server_close()


def _servers_on_one_port(resolver: _ZoneResolver) -> tuple[DNSServer, DNSServer]:
    """UDP on a free port, and TCP on the same one (drawn again when that one is taken for TCP)."""
    logger = DNSLogger("-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
    for _attempt in range(20):
        udp = DNSServer(resolver, address="127.0.0.1", port=0, handler=_TruncatingHandler, logger=logger)
        port = udp.server.server_address[1]
        try:
            tcp = DNSServer(resolver, address="127.0.0.1", port=port, tcp=True, handler=_TruncatingHandler,
                            logger=logger)
        except OSError:
            udp.server.server_close()
            continue
        return udp, tcp
    raise RuntimeError("no port free for both UDP and TCP on 127.0.0.1")


@contextmanager
def silent_dns_server() -> Iterator[list[tuple[str, int]]]:
    """A UDP port that receives every question and never answers (SSO_DNS_NAMESERVERS for it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield [("127.0.0.1", sock.getsockname()[1])]
    finally:
        sock.close()
