"""Which network addresses Inigo may contact on a tenant's behalf: public ones only.

A tenant's Okta domain, and every URL its discovery document names, is outside input. Without this check a
tenant (or anyone who can make one) could point Inigo's server at the inside of our own network: the metadata
service, Redis, an admin port on 127.0.0.1 (server-side request forgery). The check is made on the address a
connection actually goes to, after DNS (okta.http pins it), so a name that resolves to a public address when a
domain is saved and to 127.0.0.1 a second later (DNS rebinding) is refused too.
"""

import ipaddress
import socket

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 ranges that carry an IPv4 address inside them: a packet to one of these reaches that IPv4 address
# through a translator or tunnel, so the embedded address is what must be checked. Python 3.11 calls several
# of them global (`is_global` is True for 64:ff9b::7f00:1, which is 127.0.0.1 through NAT64).
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT (RFC 6145)
_IETF_PROTOCOL_ASSIGNMENTS = ipaddress.IPv4Network("192.0.0.0/24")  # RFC 6890: none of it is a provider


class InternalAddressError(ValueError):
    """Inigo refuses to contact this host; the message says why, in words for support staff."""


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, IPv4-compatible, NAT64, 6to4), else None."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    packed = address.packed
    if address in _IPV4_TRANSLATED or any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(packed[-4:])
    if address in _IPV4_COMPATIBLE and address not in (ipaddress.IPv6Address("::"), ipaddress.IPv6Address("::1")):
        return ipaddress.IPv4Address(packed[-4:])
    return None


def is_internal(address: IPAddress) -> bool:
    """True for loopback, private, link-local, shared, reserved and multicast addresses, in either family and
    in every IPv6 form that embeds one of them."""
    inner = embedded_ipv4(address)
    if inner is not None:
        return is_internal(inner)
    if isinstance(address, ipaddress.IPv6Address) and (address in _SIX_TO_FOUR or any(
        address in network for network in _NAT64
    )):
        return True  # a translator range whose embedded address we could not read: refuse
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return True  # fec0::/10, deprecated but still routed inside some networks
    if isinstance(address, ipaddress.IPv4Address) and address in _IETF_PROTOCOL_ASSIGNMENTS:
        return True
    return not address.is_global or address.is_multicast or address.is_reserved


def allowed_address(address: IPAddress) -> bool:
    """May Inigo connect to this address? Public addresses always; internal ones only on the allow-list that
    local runs and tests set (SSO_ALLOWED_INTERNAL_NETWORKS, implied as loopback by SSO_ALLOW_INSECURE_ISSUERS)."""
    if not is_internal(address):
        return True
    inner = embedded_ipv4(address) or address
    return any(inner in network for network in allowed_internal_networks())


def allowed_internal_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(value, strict=False) for value in settings.SSO_ALLOWED_INTERNAL_NETWORKS]


def resolve(host: str, port: int) -> list[tuple[int, IPAddress]]:
    """Every (family, address) the host resolves to, for TCP. Raises InternalAddressError when the name cannot
    be resolved."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise InternalAddressError(f"The host {host} cannot be found (DNS lookup failed).") from exc
    return [(info[0], ipaddress.ip_address(info[4][0].split("%", 1)[0])) for info in infos]


def refuse_internal_host(host: str, port: int = 443) -> None:
    """Refuse a host that is or resolves to an address Inigo may not contact (used when a domain is saved, so
    support staff hear of it then; okta.http checks again at every connection)."""
    for _family, address in resolve(host, port):
        if not allowed_address(address):
            raise InternalAddressError(
                f"The host {host} resolves to {address}, an internal address. Okta domains are public."
            )
