"""The CPU profile behind `python -m bench --components`, run inside each gunicorn worker (bench/wsgi.py wraps the
application in it when BENCH_COMPONENTS=<directory> is set; nothing else turns it on).

Only requests that carry `X-Bench-Components: 1` are profiled: the load generator sends it in the profiled phases
it runs after the measured ones, so warm-up and measured logins are served as usual. Each such request (initiate,
callback, /api/me/; Django's whole handler, the response's close() included) runs under a cProfile of its own
thread, timed by that thread's CPU clock, so waiting (for PostgreSQL, the provider, the GIL) counts nowhere. A thread
a profiled request starts (inigo-sso's token request, okta.exchange) is profiled too, whole. What no profile sees is
measured around them: the request threads' CPU outside the app (gunicorn reading and writing HTTP) and the worker's
other threads (the process's CPU minus both).

When the worker exits it charges the profiles to components (bench/components.py) and writes
<directory>/components-<pid>.json, which bench/run.py sums.
"""

import atexit
import cProfile
import json
import os
import pstats
import sysconfig
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from bench.components import CallCost, Key, Row, call_kind, charge

HEADER = "X-Bench-Components"
ENVIRON_KEY = "HTTP_X_BENCH_COMPONENTS"
PROJECT = str(Path(__file__).resolve().parent.parent)


def new_profile() -> cProfile.Profile:
    # The thread's CPU clock, in integer nanoseconds (pstats shows seconds).
    return cProfile.Profile(time.thread_time_ns, 1e-9)


def calibrate(calls: int = 20_000, tries: int = 3) -> CallCost:
    """The profiler's cost per call on this machine, in seconds, for each kind of call (bench/components.py's
    CALL_KINDS): (the part charged to the callee, the part charged to its caller).

    A loop makes `calls` calls of one kind, unprofiled then profiled; the callee's own time is all profiler (its real
    cost, some 40 ns, is counted as profiler too), and what the loop's own time grew by is the caller's part. The least
    of `tries` runs of each, against noise from other processes."""

    def empty() -> None:
        return None

    table: dict[int, int] = {}
    kinds: dict[str, Callable[[], None]] = {
        "python": lambda: [empty() for _ in range(calls)] and None,
        "builtin": lambda: [len(table) for _ in range(calls)] and None,
        "method": lambda: [table.get(1) for _ in range(calls)] and None,
    }
    out: CallCost = {}
    for kind, loop in kinds.items():
        bare = []
        for _ in range(tries):
            began = time.thread_time()
            loop()
            bare.append(time.thread_time() - began)
        callee, caller = [], []
        for _ in range(tries):
            profile = new_profile()
            profile.runcall(loop)
            stats: dict[Key, Row] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
            made = [row for key, row in stats.items() if row[1] == calls and call_kind(key) == kind]
            looping = [row for key, row in stats.items() if key[2] in ("<lambda>", "<listcomp>")]
            callee.append(made[0][2] / calls)
            caller.append(max(0.0, sum(row[2] for row in looping) - min(bare)) / calls)
        out[kind] = (min(callee), min(caller))
    return out


class _Body:
    """The response as gunicorn sees it, with its close() (where Django sends request_finished) profiled too."""

    def __init__(self, response: Iterable[bytes], close: Callable[[], None]) -> None:
        self._response = response
        self.close = close

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._response)


class ComponentProfile:
    def __init__(self, application: Callable[..., Any], directory: str) -> None:
        self.application = application
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._profiles: list[cProfile.Profile] = []
        self._threads: dict[int, list[float]] = {}  # request thread: [its CPU at its first request, at its last]
        self._process: list[float] = []  # the process's CPU at the first profiled request's start, at the last end
        self._inside = 0.0
        self._spawned = 0.0
        self.logins = self.requests = 0
        self.call_cost = calibrate()
        self._patch_threads()
        atexit.register(self.write)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get(ENVIRON_KEY) != "1":
            return self.application(environ, start_response)
        process_began, began = time.process_time(), time.thread_time()
        profile = self._profile()
        self._local.active = True
        profile.enable()
        try:
            response = self.application(environ, start_response)
        finally:
            profile.disable()
            self._local.active = False
        inside = time.thread_time() - began
        login = environ.get("PATH_INFO", "").startswith("/oidc/callback/")
        file_wrapper = environ.get("wsgi.file_wrapper")
        if not hasattr(response, "close") or (file_wrapper and isinstance(response, file_wrapper)):
            self._done(process_began, began, inside, login)
            return response

        def close() -> None:
            closing = time.thread_time()
            self._local.active = True
            profile.enable()
            try:
                response.close()
            finally:
                profile.disable()
                self._local.active = False
                self._done(process_began, began, inside + time.thread_time() - closing, login)

        return _Body(response, close)

    def _profile(self) -> cProfile.Profile:
        """This thread's profile, enabled for each of its profiled requests in turn (its times add up)."""
        profile = getattr(self._local, "profile", None)
        if profile is None:
            profile = self._local.profile = new_profile()
            with self._lock:
                self._profiles.append(profile)
        return profile

    def _done(self, process_began: float, began: float, inside: float, login: bool) -> None:
        ended, process_ended = time.thread_time(), time.process_time()
        with self._lock:
            self._process = [min(self._process[0], process_began), max(self._process[1], process_ended)] \
                if self._process else [process_began, process_ended]
            self._threads.setdefault(threading.get_ident(), [began, ended])[1] = ended
            self._inside += inside
            self.requests += 1
            self.logins += login

    def _patch_threads(self) -> None:
        """Threads started during a profiled request are profiled whole (threading.Thread's own run, which a
        `target=` thread runs). gunicorn's own threads are started outside any request and are left alone."""
        owner, start, run = self, threading.Thread.start, threading.Thread.run

        def profiled_start(thread: threading.Thread) -> None:
            if getattr(owner._local, "active", False):
                thread._bench_components = True  # type: ignore[attr-defined]
            start(thread)

        def profiled_run(thread: threading.Thread) -> None:
            if not getattr(thread, "_bench_components", False):
                return run(thread)
            profile, began = new_profile(), time.thread_time()
            profile.enable()
            try:
                return run(thread)
            finally:
                profile.disable()
                with owner._lock:
                    owner._profiles.append(profile)
                    owner._spawned += time.thread_time() - began

        threading.Thread.start = profiled_start  # type: ignore[method-assign]
        threading.Thread.run = profiled_run  # type: ignore[method-assign]

    def totals(self) -> dict[str, Any]:
        stats = pstats.Stats()
        with self._lock:
            profiles = list(self._profiles)
        for profile in profiles:
            profile.create_stats()
            if profile.stats:  # type: ignore[attr-defined]
                stats.add(profile)
        rows: dict[Key, Row] = stats.stats  # type: ignore[attr-defined]
        charged = charge(rows, project=PROJECT, stdlib=sysconfig.get_paths()["stdlib"], call_cost=self.call_cost)
        request_threads = sum(ended - began for began, ended in self._threads.values())
        return {
            "pid": os.getpid(), "logins": self.logins, "requests": self.requests, "call_cost": self.call_cost,
            "raw": dict(charged.raw), "cost": dict(charged.cost), "calls": dict(charged.calls),
            "cpu": {"process": self._process[1] - self._process[0] if self._process else 0.0,
                    "request_threads": request_threads, "inside": self._inside, "spawned": self._spawned,
                    "profiled": sum(charged.raw.values())},
        }

    def write(self) -> None:
        if self.requests:  # a worker that served no profiled request writes nothing
            (self.directory / f"components-{os.getpid()}.json").write_text(json.dumps(self.totals()))
