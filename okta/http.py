"""Outbound requests to a tenant's provider: always with a timeout, failures as LoginError (never a 500)."""

import logging
from typing import Any

import requests
from django.conf import settings

from inigo_sso.failures import LoginError

logger = logging.getLogger(__name__)

_session = requests.Session()  # connection pooling: one TLS handshake per provider host, not per login


def _timeout() -> tuple[float, float]:
    return settings.OIDC_TIMEOUT


def get_json(url: str, **kwargs: Any) -> tuple[Any, requests.Response]:
    """GET a JSON document. Raises LoginError('provider_unreachable' | 'provider_bad_response')."""
    response = send("GET", url, **kwargs)
    if response.status_code != 200:
        raise LoginError("provider_bad_response", f"GET {url} answered HTTP {response.status_code}")
    return parse_json(response, url), response


def send(method: str, url: str, **kwargs: Any) -> requests.Response:
    try:
        return _session.request(
            method, url, timeout=_timeout(), verify=settings.OIDC_VERIFY_SSL, allow_redirects=False, **kwargs
        )
    except requests.Timeout as exc:
        raise LoginError("provider_unreachable", f"{method} {url} timed out") from exc
    except requests.RequestException as exc:
        # The exception text can carry the URL only; never request bodies (which hold codes and secrets).
        raise LoginError("provider_unreachable", f"{method} {url} failed: {type(exc).__name__}") from exc


def parse_json(response: requests.Response, url: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise LoginError("provider_bad_response", f"{url} did not answer with JSON") from exc
