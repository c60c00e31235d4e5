"""Where a person may be sent after login: only a path on this site (OIDC Core 4: target_link_uri must be
checked, or the login becomes an open redirector)."""

from urllib.parse import urlsplit, urlunsplit

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from inigo_sso.failures import LoginError

MAX_LENGTH = 2000


def same_origin_path(request: HttpRequest, target: str | None) -> str:
    """'/' when no target is given, the target as a local path (query kept) when it is on this site; else
    LoginError('target_link_invalid')."""
    if not target:
        return "/"
    if len(target) > MAX_LENGTH or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        raise LoginError("target_link_invalid", "target_link_uri is not a path on this site")
    parts = urlsplit(target)
    path = parts.path if parts.path.startswith("/") else "/" + parts.path
    if path.startswith("//"):
        raise LoginError("target_link_invalid", "target_link_uri is not a path on this site")
    return urlunsplit(("", "", path, parts.query, ""))
