"""Pending logins in the session: mozilla-django-oidc's `oidc_states`, one entry per `state`, to which we bind
the tenant and where to go after the login. Several tabs may be mid-login for different tenants at once."""

import time
from dataclasses import dataclass
from typing import Any

from django.contrib.sessions.backends.base import SessionBase

STATES_KEY = "oidc_states"
STATE_LIFETIME_SECONDS = 10 * 60


@dataclass(frozen=True)
class PendingLogin:
    tenant_id: int
    next_path: str
    added_on: float
    redirect_uri: str  # as the authorization request sent it: the token request must send the same (RFC 6749 4.1.3)
    recheck: bool = False  # a re-check of a signed-in person with prompt=none, not a new sign-in
    reauth: bool = False  # a re-authentication of a signed-in person with prompt=login, for a console change
    code_verifier: str = ""  # PKCE (RFC 7636 section 4.5): sent with the token request, as mozilla-django-oidc sends it

    @property
    def expired(self) -> bool:
        return time.time() - self.added_on > STATE_LIFETIME_SECONDS


def bind_tenant(
    session: SessionBase, state: str, *, tenant_id: int, next_path: str, redirect_uri: str, recheck: bool = False,
    reauth: bool = False,
) -> None:
    """Bind the tenant to the state entry that mozilla-django-oidc just added, and drop expired entries."""
    entries: dict[str, Any] = session[STATES_KEY]
    for other in [key for key, entry in entries.items() if _expired(entry)]:
        del entries[other]
    entries[state]["tenant_id"] = tenant_id
    entries[state]["next_path"] = next_path
    entries[state]["redirect_uri"] = redirect_uri
    if recheck:
        entries[state]["recheck"] = True
    if reauth:
        entries[state]["reauth"] = True
    session.modified = True


def pending_login(session: SessionBase, state: str) -> PendingLogin | None:
    entries = session.get(STATES_KEY)
    entry = entries.get(state) if isinstance(entries, dict) else None
    if not isinstance(entry, dict) or "tenant_id" not in entry:
        return None
    return PendingLogin(tenant_id=entry["tenant_id"], next_path=entry["next_path"], added_on=entry["added_on"],
                        redirect_uri=entry.get("redirect_uri", ""), recheck=entry.get("recheck") is True,
                        reauth=entry.get("reauth") is True,
                        code_verifier=entry.get("code_verifier") or "")


def discard(session: SessionBase, state: str) -> None:
    """Single use: a state entry is removed whatever the outcome of its callback."""
    entries = session.get(STATES_KEY)
    if isinstance(entries, dict) and entries.pop(state, None) is not None:
        session.modified = True


def _expired(entry: Any) -> bool:
    return not isinstance(entry, dict) or time.time() - entry.get("added_on", 0) > STATE_LIFETIME_SECONDS
