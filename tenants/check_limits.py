"""At most a few failed connection checks an hour: per setup link, and per tenant for checks of new values.

A check sends the typed Client ID and Secret to Okta. Without a limit, a setup link (or a console session)
could be used to try secrets against the token endpoint without end, and each try holds a server thread for as
long as that Okta takes. A check that passes, or one that was not run (busy), counts nothing. The counts live in
the shared cache, as the sign-in rate limits do (accounts.oidc.ratelimits), and fail open when it is down.
"""

import time
from datetime import UTC, datetime

from django.core.cache import cache

FAILED_CHECKS_PER_HOUR = 10
WINDOW_SECONDS = 60 * 60


def setup_link_scopes(*, link_pk: int, tenant_pk: int) -> list[str]:
    """What a check from a setup page counts against: its link, and its tenant's checks of new values."""
    return [f"link:{link_pk}", *tenant_scopes(tenant_pk=tenant_pk)]


def tenant_scopes(*, tenant_pk: int) -> list[str]:
    """What a check of new values from the customer console counts against: the tenant's checks, shared with its
    setup links (tenants.credentials)."""
    return [f"tenant:{tenant_pk}"]


def _key(scope: str) -> str:
    return f"checks-failed:v1:{scope}"


def _recent(value: object, now: float) -> list[float]:
    stamps = value if isinstance(value, list) else []
    return [stamp for stamp in stamps if isinstance(stamp, float) and stamp > now - WINDOW_SECONDS]


def failed_checks_retry_at(scopes: list[str]) -> datetime | None:
    """When the next check may run, or None when it may run now."""
    now = time.time()
    cached = cache.get_many([_key(scope) for scope in scopes])
    blocked = [
        min(stamps) + WINDOW_SECONDS
        for scope in scopes
        if len(stamps := _recent(cached.get(_key(scope)), now)) >= FAILED_CHECKS_PER_HOUR
    ]
    return datetime.fromtimestamp(max(blocked), tz=UTC) if blocked else None


def failed_check_note(scopes: list[str]) -> None:
    now = time.time()
    cached = cache.get_many([_key(scope) for scope in scopes])
    cache.set_many(
        {_key(scope): [*_recent(cached.get(_key(scope)), now), now][-FAILED_CHECKS_PER_HOUR:] for scope in scopes},
        WINDOW_SECONDS,
    )
