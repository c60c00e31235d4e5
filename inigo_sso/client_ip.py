"""The client's address, for rate limits, lockouts and login events.

Behind N trusted proxies (DJANGO_NUM_PROXIES) each proxy appends the address it received from to
X-Forwarded-For, so the client is the Nth entry from the right; entries further left are whatever the client
chose to send and are never trusted. With no proxy, REMOTE_ADDR is the client."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    proxies = settings.NUM_PROXIES
    if proxies:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies and is_ip_address(hops[-proxies]):
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "0.0.0.0"  # noqa: S104 (a value, not a bind address)


def is_ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
