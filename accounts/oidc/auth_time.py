"""When Okta last authenticated the signed-in person: the ID token's `auth_time` (OIDC Core 2), kept in the session at
every sign-in, re-check and re-authentication, and asked by the recent sign-in a console change needs
(accounts.oidc.reauth). No SQL: it lives in the session."""

import time
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase

AUTH_TIME_KEY = "inigo_okta_auth_time"
# The auth_time Okta answered a prompt=login with, when that was still too old (0: none at all): Okta will not ask
# this person again (a federated sign-in keeps its upstream session), so nobody is sent round again while the
# session holds that same auth_time.
STALE_ANSWER_KEY = "inigo_okta_reauth_stale"
# Okta's own verifier allows 120 s of clock skew; an auth_time further in the future than that is not believed.
CLOCK_SKEW_SECONDS = 120


def auth_time_claim(claims: dict[str, Any]) -> int | None:
    """The ID token's auth_time (a JSON number of seconds since the epoch), None when it is missing or unusable:
    a missing auth_time counts as too old (SPEC "The customer console"; OIDC Core 2 makes it REQUIRED once
    max_age was sent)."""
    value = claims.get("auth_time")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value <= 0 or value > time.time() + CLOCK_SKEW_SECONDS:
        return None
    return int(value)


def keep(session: SessionBase, auth_time: int | None) -> None:
    if auth_time is None:
        session.pop(AUTH_TIME_KEY, None)
    else:
        session[AUTH_TIME_KEY] = auth_time


def is_recent(session: SessionBase) -> bool:
    auth_time = session.get(AUTH_TIME_KEY)
    if isinstance(auth_time, bool) or not isinstance(auth_time, int):
        return False
    return time.time() - auth_time <= settings.SSO_RECENT_AUTH_SECONDS


def stale_answer_keep(session: SessionBase) -> None:
    session[STALE_ANSWER_KEY] = session.get(AUTH_TIME_KEY) or 0


def okta_ignores_reauth(session: SessionBase) -> bool:
    """Okta already answered a prompt=login with the auth_time this session holds: asking again would loop."""
    return STALE_ANSWER_KEY in session and session[STALE_ANSWER_KEY] == (session.get(AUTH_TIME_KEY) or 0)
