"""What a rule costs: inigo-sso with one rule of its login turned off, for the bench only, run as the `alt` column
(`python -m bench --alt-settings bench.without.state_commit`). Never a setting of the product: each module here is
a settings module of the bench, whose middleware patches the rule out on the first request, as bench/phases.py
patches its timers in.

- state_commit: the state entry's removal is not saved before the token exchange (RFC 6749 section 10.12, the
  state is single use; mozilla-django-oidc saves it "before authenticating"). The sign-in's own transaction still
  rewrites the session, so only the statement and the round trip before the exchange go.
- asynchronous_commit: not a rule but what makes that save cheap: the removal waits for the disk, as every other
  session write does (accounts.session_store.SessionStore.removal_commits_asynchronously). Measured with
  `python -m bench.paired bench.without.asynchronous_commit bench.settings`.
"""

import contextvars
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from bench.patching import once

_in_callback: contextvars.ContextVar[bool] = contextvars.ContextVar("bench_without_in_callback", default=False)


def _without_state_commit() -> None:
    from accounts.session_store import SessionStore

    save = SessionStore.save

    @wraps(save)
    def save_unless_before_the_exchange(self: SessionStore, must_create: bool = False) -> None:
        # The callback's only save of a session still without a signed-in person is the one before the exchange.
        if _in_callback.get() and not must_create and not self._insert_on_save and "_auth_user_id" not in self._session:
            return None
        return save(self, must_create)

    SessionStore.save = save_unless_before_the_exchange  # type: ignore[method-assign]


def _without_asynchronous_commit() -> None:
    from accounts.session_store import SessionStore

    def never(self: SessionStore, on: bool = True) -> None:
        self._next_update_asynchronous = False

    SessionStore.removal_commits_asynchronously = never  # type: ignore[method-assign]


PATCHES = {"state_commit": _without_state_commit, "asynchronous_commit": _without_asynchronous_commit}


@once
def _patch() -> None:
    for name in settings.BENCH_WITHOUT:
        PATCHES[name]()


class WithoutMiddleware:
    """First in MIDDLEWARE of the settings modules here."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        _patch()
        token = _in_callback.set(request.path.startswith("/oidc/callback/"))
        try:
            return self.get_response(request)
        finally:
            _in_callback.reset(token)
