"""Typed readers for settings that come from environment variables."""

import ipaddress
import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}.")
    return value


def env_origin(name: str) -> str:
    """An origin such as `https://sso.inigo.example` (scheme, host, optional port; no path), or '' when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return ""
    value = raw.rstrip("/")
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest or any(c in rest for c in "/?#@ "):
        raise ImproperlyConfigured(
            f"{name} must be an origin such as https://sso.inigo.example (no path), not {raw!r}."
        )
    return f"{scheme.lower()}://{rest}"


def env_nameservers(name: str) -> list[tuple[str, int]]:
    """Comma-separated DNS servers as `host` or `host:port` (IPv6 as `[::1]:5353`): [(address, port), ...]; port
    53 by default. Addresses only: a server's name would need a DNS server to find it."""
    servers: list[tuple[str, int]] = []
    for item in env_list(name):
        host, port = _host_and_port(item)
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} lists {item!r}: give each DNS server as an IP address, optionally with :port "
                "(e.g. 10.0.0.2,127.0.0.1:5353,[::1]:53)."
            ) from None
        servers.append((host, port))
    return servers


def _host_and_port(item: str) -> tuple[str, int]:
    if item.startswith("["):  # [IPv6]:port
        host, _, rest = item[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif item.count(":") == 1:  # IPv4:port
        host, port = item.split(":")
    else:  # IPv4 or bare IPv6
        host, port = item, "53"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ImproperlyConfigured(f"{item!r} has no valid port (1 to 65535).")
    return host, int(port)
