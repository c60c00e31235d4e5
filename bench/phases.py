"""Where a request's time goes, phase by phase: a middleware that only the bench settings turn on (BENCH_PHASES=1).

Nothing here is in the production code path: on its first request the middleware wraps the functions each phase
runs in (their module attributes, which is what every caller looks up) with a timer, and each response answers
the milliseconds per phase in an `X-Bench-Phases` header (`name=ms;...`), which bench/run.py averages per login.
`request` is the whole request inside Django; `other` is what no phase accounts for (Django's handler, the
remaining middleware, the view's own code, logging)."""

import contextvars
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse

from bench.patching import once

HEADER = "X-Bench-Phases"
_timings: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar("bench_phases", default=None)
_inside: contextvars.ContextVar[bool] = contextvars.ContextVar("bench_phase_running", default=False)


def _timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        timings = _timings.get()
        if timings is None or _inside.get():
            return function(*args, **kwargs)  # inside another phase: counted there, once
        began = time.perf_counter()
        token = _inside.set(True)
        try:
            return function(*args, **kwargs)
        finally:
            _inside.reset(token)
            timings[name] = timings.get(name, 0.0) + (time.perf_counter() - began) * 1000

    return wrapper


@once
def _patch() -> None:
    import logging

    import django_ratelimit.decorators
    from axes import backends as axes_backends
    from django.contrib import auth

    from accounts import hot_path, services, session_store
    from accounts.oidc import backend, states
    from okta import exchange, provider
    from tenants import crypto

    targets: list[tuple[Any, str, str]] = [
        (session_store.SessionStore, "load", "session load"),
        (hot_path, "session_and_tenant", "session load"),  # a callback's: with its tenant, in one round trip
        (session_store.SessionStore, "save", "session save"),
        (states, "pending_login", "state check"),
        (provider, "provider_metadata", "discovery (cached)"),
        (provider, "login_documents", "discovery (cached)"),  # the callback's read: discovery and keys at once
        (crypto, "decrypt", "secret decryption"),
        (exchange, "token_request", "token request (provider round trip)"),
        (backend, "validate_id_token", "JWT check"),
        (services, "user_provision", "user upsert"),
        (auth, "login", "auth.login"),
        (services, "login_event_new", "login event"),
        # The sign-in's transaction (accounts.hot_path.SignIn): BEGIN with the old row's removal, then the event's
        # and the new row's INSERTs with COMMIT.
        (hot_path.SignIn, "take_over", "sign-in: session taken over"),
        (hot_path.SignIn, "commit", "sign-in commit"),
        # What `other` held before these had phases of their own: the rate limits' counters in the shared cache
        # (django-ratelimit: an add and an incr per limit), the lockout check of django-axes' backend, which every
        # authenticate() passes first, and the log lines' handling (formatted by the handler's queue thread).
        (django_ratelimit.decorators, "is_ratelimited", "rate limits"),
        (axes_backends.AxesStandaloneBackend, "authenticate", "admin lockout check"),
        (logging.Logger, "handle", "logging"),
    ]
    for owner, attribute, name in targets:
        setattr(owner, attribute, _timed(name, getattr(owner, attribute)))


class PhaseMiddleware:
    """First in MIDDLEWARE when BENCH_PHASES=1 (bench/settings.py)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        _patch()
        timings: dict[str, float] = {}
        token = _timings.set(timings)
        began = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            _timings.reset(token)
        total = (time.perf_counter() - began) * 1000
        # A phase inside another is counted in the outer one only, so the phases add up; `other` is the rest.
        timings["other"] = max(0.0, total - sum(timings.values()))
        timings["request"] = total
        response[HEADER] = ";".join(f"{name}={ms:.3f}" for name, ms in timings.items())
        return response
