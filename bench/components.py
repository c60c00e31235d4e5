"""Where a login's CPU goes, by component: the table of `python -m bench --components` (docs/benchmarks.md).

The profile itself runs inside each gunicorn worker (bench/component_profile.py, on only when BENCH_COMPONENTS is
set); this module holds what both sides share and can be tested without a server: which component a function
belongs to, how a profile's own times are charged to components, the sum of the workers' totals and the table.

A function's *own* time (pstats' tottime, measured with the thread's CPU clock) goes to the component of the file it
is defined in, by the longest matching prefix of PREFIXES. Code that serves every component (built-in functions,
the standard library but for the modules PREFIXES names, generated code, asgiref) is charged to whoever called it:
its own time is split over its callers as the profile recorded it per caller, and a caller that is itself shared is
split in turn over its own callers by cumulative time. So `json.loads` called by `django.core.signing` is session
work and called by requests is token-request work; a socket read is the token request's or Redis', by caller.

cProfile's cost per call (two reads of the thread's CPU clock, each a system call: about 2 us here) is several times
a small function's own time, so the profiled figures favour code that makes many calls; the table prints them with
the calls per login (exact counts) and the unprofiled CPU per login. It also prints a rough estimate without the
profiler: each worker measures the cost per call of each kind on startup (bench/component_profile.py's `calibrate`),
a function's estimated cost is `its calls x the callee's part + the calls it made x the caller's part`, and the
estimates are scaled to what the profile cost in the same run (gunicorn CPU per login, profiled minus unprofiled, as
the bench's meter measured both). Real code's cost per call varies by some 10% around the mean (0.9 to 1.1 times
it, from one kind of code to another, in a test where each part's unprofiled CPU was known), which is about a
component's whole own CPU: the estimate is rough, and for a component of many small calls it can even be negative.
"""

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# pstats' key of a function, (file, line, name), and its row: (primitive calls, calls, own time, cumulative time,
# {caller's key: (calls, primitive calls, own time, cumulative time) of the calls from that caller}).
Key = tuple[str, int, str]
Row = tuple[int, int, float, float, dict[Key, tuple[int, int, float, float]]]

ORM = "ORM: statements built and compiled, model instances"
DATABASE = "database round trips (driver)"
TOKEN_REQUEST = "token request (HTTP client to the provider)"  # noqa: S105 (a label)
JWT = "JWT check"
CACHE = "cache (Redis)"
MIDDLEWARE = "middleware"
SESSIONS = "session encoding and signing"
TEMPLATES = "templates, responses"
LOGGING = "logging"
DJANGO = "the rest of Django's request machinery"
APP = "sign-in code: the app's own, mozilla_django_oidc"
BENCH = "the bench's own middleware"
OTHER = "other"
ORDER = (ORM, DATABASE, TOKEN_REQUEST, JWT, CACHE, MIDDLEWARE, SESSIONS, TEMPLATES, LOGGING, DJANGO, APP, BENCH,
         OTHER)

# Paths are relative to site-packages, to the project (no prefix) or to the standard library ("stdlib:"). The
# longest prefix wins: django/db/models/ is the ORM, the rest of django/db/ the driver's side, the rest of django/
# Django's request machinery. A project file not named here is the app's own code (and a project class's
# `__call__` its middleware); a standard-library module not named here is shared code, charged to its callers.
PREFIXES: dict[str, str] = {
    "django/db/models/": ORM,
    "django/db/": DATABASE,
    "psycopg/": DATABASE,
    "psycopg_binary/": DATABASE,
    "psycopg_c/": DATABASE,
    "psycopg_pool/": DATABASE,
    "requests/": TOKEN_REQUEST,
    "urllib3/": TOKEN_REQUEST,
    "certifi/": TOKEN_REQUEST,
    "idna/": TOKEN_REQUEST,
    "charset_normalizer/": TOKEN_REQUEST,
    "stdlib:http/client.py": TOKEN_REQUEST,
    "stdlib:ssl.py": TOKEN_REQUEST,
    "stdlib:email/": TOKEN_REQUEST,  # http.client parses the response's headers with email.parser
    "okta/http.py": TOKEN_REQUEST,
    "jwt/": JWT,
    "cryptography/": JWT,
    "josepy/": JWT,
    "redis/": CACHE,
    "django_redis/": CACHE,
    "django/core/cache/": CACHE,
    "django/middleware/": MIDDLEWARE,
    "django/contrib/sessions/middleware.py": MIDDLEWARE,
    "django/contrib/auth/middleware.py": MIDDLEWARE,
    "django/contrib/messages/middleware.py": MIDDLEWARE,
    "django/utils/deprecation.py": MIDDLEWARE,  # MiddlewareMixin.__call__
    "csp/": MIDDLEWARE,
    "axes/": MIDDLEWARE,
    "django_ratelimit/": MIDDLEWARE,
    "whitenoise/": MIDDLEWARE,
    "inigo_sso/middleware.py": MIDDLEWARE,
    "django/contrib/sessions/": SESSIONS,
    "django/core/signing.py": SESSIONS,
    "inigo_sso/sessions.py": SESSIONS,
    "django/template/": TEMPLATES,
    "django/templatetags/": TEMPLATES,
    "django/http/response.py": TEMPLATES,
    "django/shortcuts.py": TEMPLATES,
    "stdlib:logging/": LOGGING,
    "inigo_sso/logs.py": LOGGING,  # the request log middleware and its JSON formatter
    "django/": DJANGO,
    "mozilla_django_oidc/": APP,
    "bench/": BENCH,
    "bench/floor.py": APP,  # the floor's views are its sign-in code
    "bench/stock_urls.py": APP,
    "asgiref/": "",  # shared: Django's thread-locals, whoever asks
}
SHARED = ""


def module_path(filename: str, *, project: str, stdlib: str) -> tuple[str, str]:
    """Where a code object's file comes from ("shared", "stdlib", "library", "project" or "elsewhere") and its path
    as PREFIXES spells it."""
    if filename == "~" or (filename.startswith("<") and not filename.startswith("<frozen ")):
        return "shared", ""  # a built-in function, or code made at run time (<string>: dataclasses, namedtuples)
    if filename.startswith("<frozen "):
        return "stdlib", "stdlib:" + filename[len("<frozen "):-1].replace(".", "/") + ".py"
    if "/site-packages/" in filename:
        return "library", filename.split("/site-packages/", 1)[1]
    for origin, root, prefix in (("stdlib", stdlib, "stdlib:"), ("project", project, "")):
        root = root.rstrip("/") + "/"
        if filename.startswith(root):
            return origin, prefix + filename[len(root):]
    if not filename.startswith("/"):
        return "project", filename  # imported relative to the working directory, the project's
    return "elsewhere", filename


def component_of(key: Key, *, project: str, stdlib: str) -> str:
    """The component a function's own time belongs to, or SHARED (charged to its callers)."""
    origin, path = module_path(key[0], project=project, stdlib=stdlib)
    if origin == "shared":
        return SHARED
    matches = [prefix for prefix in PREFIXES if path.startswith(prefix)]
    unnamed = {"stdlib": SHARED, "project": APP}.get(origin, OTHER)
    component = PREFIXES[max(matches, key=len)] if matches else unnamed
    if component == APP and origin == "project" and key[2] == "__call__":
        return MIDDLEWARE  # the project's classes with a __call__ are its middleware
    return component


# The kinds of call whose cost to cProfile differs: a Python function's, a built-in function's (`len`) and a
# method of a built-in type's (`dict.get`: under a profiler, each such call makes a bound method first).
CALL_KINDS = ("python", "builtin", "method")
CallCost = dict[str, tuple[float, float]]  # kind: (seconds charged to the callee per call, to the caller per call)


def call_kind(key: Key) -> str:
    if key[0] != "~":
        return "python"
    return "method" if key[2].startswith("<method ") else "builtin"


@dataclass
class Charged:
    """One profile's own times by component: as measured, and with the profiler's estimated cost taken out."""

    raw: Counter[str] = field(default_factory=Counter)
    cost: Counter[str] = field(default_factory=Counter)  # the profiler's estimated part of `raw`
    calls: Counter[str] = field(default_factory=Counter)

    @property
    def corrected(self) -> Counter[str]:
        return Counter({component: self.raw[component] - self.cost[component] for component in self.raw})


def charge(stats: Mapping[Key, Row], *, project: str, stdlib: str, call_cost: CallCost | None = None) -> Charged:
    """Charge each function's own time to a component (see the module's docstring).

    `call_cost` holds, per kind of call, the profiler's cost charged to the callee per call and to the caller per call
    it makes, in seconds, as bench/component_profile.py's `calibrate` measured them; none: no cost estimated."""
    costs = call_cost or {}
    components = {key: component_of(key, project=project, stdlib=stdlib) for key in stats}
    making: Counter[Key] = Counter()  # the profiler's cost charged to each function for the calls it made
    for callee, row in stats.items():
        to_caller = costs.get(call_kind(callee), (0.0, 0.0))[1]
        for caller, edge in row[4].items():
            making[caller] += edge[0] * to_caller
    memo: dict[Key, dict[str, float]] = {}

    def shares(key: Key, visiting: frozenset[Key]) -> dict[str, float]:
        """Where time spent inside a call of `key` belongs: its component, or its callers' by cumulative time."""
        if components.get(key, OTHER) != SHARED:
            return {components.get(key, OTHER): 1.0}
        if key in memo:
            return memo[key]
        callers = {caller: edge for caller, edge in stats[key][4].items() if caller not in visiting}
        if not callers:
            return {OTHER: 1.0}  # a profile's first function, or a cycle of shared code
        weights = {caller: edge[3] for caller, edge in callers.items()}
        if sum(weights.values()) <= 0:
            weights = {caller: float(edge[0]) for caller, edge in callers.items()}
        total = sum(weights.values()) or 1.0
        out: Counter[str] = Counter()
        for caller, weight in weights.items():
            for component, share in shares(caller, visiting | {key}).items():
                out[component] += share * weight / total
        memo[key] = dict(out)
        return memo[key]

    charged = Charged()
    for key, (_, calls, own, _, callers) in stats.items():
        cost = calls * costs.get(call_kind(key), (0.0, 0.0))[0] + making[key]
        if components[key] != SHARED:
            split = {components[key]: 1.0}
        else:
            by_caller = {caller: edge[2] for caller, edge in callers.items()}
            measured = sum(by_caller.values())
            if measured > 0:
                split = Counter()
                for caller, seconds in by_caller.items():
                    for component, share in shares(caller, frozenset({key})).items():
                        split[component] += share * seconds / measured
            else:
                split = shares(key, frozenset())
        for component, share in split.items():
            charged.raw[component] += own * share
            charged.cost[component] += cost * share
            charged.calls[component] += calls * share
    return charged


# --- the workers' totals, summed --------------------------------------------------------------------------------


@dataclass
class Totals:
    """What the workers of one or more runs wrote, summed. `cpu` holds seconds of the workers' CPU during their
    profiled requests: `process` (all threads), `request_threads` (the threads that served them, from their first
    profiled request to their last), `inside` (those threads inside the app, profiler on), `spawned` (threads a
    profiled request started, such as inigo-sso's token request, whole), `profiled` (own times, summed)."""

    logins: int = 0
    requests: int = 0
    workers: int = 0
    charged: Charged = field(default_factory=Charged)
    cpu: Counter[str] = field(default_factory=Counter)

    def add(self, document: Mapping[str, Any]) -> None:
        self.logins += int(document["logins"])
        self.requests += int(document["requests"])
        self.workers += 1
        self.charged.raw.update(document["raw"])
        self.charged.cost.update(document["cost"])
        self.charged.calls.update(document["calls"])
        self.cpu.update(document["cpu"])

    def merged(self, other: "Totals") -> "Totals":
        out = Totals(self.logins + other.logins, self.requests + other.requests, self.workers + other.workers)
        for mine in (self, other):
            out.charged.raw.update(mine.charged.raw)
            out.charged.cost.update(mine.charged.cost)
            out.charged.calls.update(mine.charged.calls)
            out.cpu.update(mine.cpu)
        return out

    def per_login_ms(self, overhead_ms: float | None = None) -> dict[str, float]:
        """The table's figures for one column: CPU ms per login (calls: per login). `overhead_ms`, what the profile
        cost per login as measured outside it, scales the calibrated cost per call to it; None keeps the calibration's.
        """
        n = max(self.logins, 1)
        raw, cost, cpu = self.charged.raw, self.charged.cost, self.cpu
        calibrated = 1000 * sum(cost.values()) / n
        scale = overhead_ms / calibrated if overhead_ms and overhead_ms > 0 and calibrated > 0 else 1.0
        out = {component: 1000 * (raw.get(component, 0.0) - scale * cost.get(component, 0.0)) / n
               for component in ORDER}
        out |= {f"raw {component}": 1000 * raw.get(component, 0.0) / n for component in ORDER}
        out |= {f"calls {component}": self.charged.calls.get(component, 0.0) / n for component in ORDER}
        out["profiled raw"] = 1000 * sum(raw.values()) / n
        out["profiled"] = out["profiled raw"] - scale * calibrated
        out["calls"] = sum(self.charged.calls.values()) / n
        out["scale"] = scale
        out["cost per call ns"] = 1e6 * calibrated / out["calls"] if out["calls"] else 0.0
        out["unattributed"] = 1000 * (cpu["inside"] + cpu["spawned"] - sum(raw.values())) / n
        out["around"] = 1000 * (cpu["request_threads"] - cpu["inside"]) / n
        out["other threads"] = 1000 * (cpu["process"] - cpu["request_threads"] - cpu["spawned"]) / n
        out["process"] = 1000 * cpu["process"] / n
        out["spawned"] = 1000 * cpu["spawned"] / n
        out["estimate"] = out["profiled"] + out["around"] + out["other threads"]
        out["calibrated estimate"] = out["profiled raw"] - calibrated + out["around"] + out["other threads"]
        return out


def load(directory: Path) -> Totals:
    """Sum the totals each worker wrote to `directory` when it exited (components-<pid>.json)."""
    totals = Totals()
    for path in sorted(directory.glob("components-*.json")):
        totals.add(json.loads(path.read_text()))
    return totals


# The summary rows under the components: (label, figure of Totals.per_login_ms or of the column, format).
SUMMARY = (
    ("**profiled code, sum**", "profiled raw", "{:.1f}"),
    ("gunicorn in the request's thread, outside the app (not profiled)", "around", "{:.1f}"),
    ("other threads: gunicorn's main loop, the log writer (not profiled)", "other threads", "{:.1f}"),
    ("profiler and wrapper, in no function's own time", "unattributed", "{:.1f}"),
    ("**the workers' CPU while profiled (the four rows above)**", "process", "{:.1f}"),
    ("  of which in threads a request started (ours: token request)", "spawned", "{:.1f}"),
    ("gunicorn CPU per login, profiled phases (bench's meter)", "profiled meter", "{:.1f}"),
    ("**gunicorn CPU per login, unprofiled phases (bench's meter)**", "unprofiled", "{:.1f}"),
    ("inflation by the profiler (profiled / unprofiled)", "inflation", "{:.2f}"),
    ("function calls per login (Python and built-in)", "calls", "{:.0f}"),
    ("logins profiled (callbacks)", "logins", "{:.0f}"),
)
ESTIMATE = (
    ("**profiled code, sum**", "profiled", "{:.1f}"),
    ("profiler's cost per call, calibrated on startup (ns)", "cost per call ns", "{:.0f}"),
    ("scale: (profiled - unprofiled) / calibrated cost, this run", "scale", "{:.2f}"),
    ("the workers' CPU, the calibrated cost alone taken out", "calibrated estimate", "{:.1f}"),
)


def render(columns: Iterable[tuple[str, Totals, float, float]]) -> str:
    """The component tables: one column per (label, totals, gunicorn CPU ms per login in the profiled phases and in
    the unprofiled ones, as the bench's CPU meter measured them). First the profiled CPU ms per login (inflated by
    the profiler), then the calls per login, then the rough estimate without the profiler."""
    figures = []
    for label, totals, profiled, unprofiled in columns:
        by = totals.per_login_ms(profiled - unprofiled) | {
            "profiled meter": profiled, "unprofiled": unprofiled, "logins": float(totals.logins),
            "inflation": profiled / unprofiled if unprofiled else 0.0}
        figures.append((label, by))
    width = 68
    rule = "|" + "-" * (width + 2) + "|" + "|".join("-" * 14 + ":" for _ in figures) + "|"
    lines: list[str] = []

    def row(label: str, cells: Iterable[str]) -> None:
        lines.append(f"| {label:<{width}} | " + " | ".join(f"{cell:>13}" for cell in cells) + " |")

    def table(heading: str, key: str, fmt: str, summary: tuple[tuple[str, str, str], ...]) -> None:
        row(heading, [label for label, _ in figures])
        lines.append(rule)
        for component in ORDER:
            row(component, [fmt.format(by[key + component]) for _, by in figures])
        for label, name, number in summary:
            row(label, [number.format(by[name]) for _, by in figures])
        lines.append("")

    table("CPU ms per login as profiled (cProfile inflates them)", "raw ", "{:.1f}", SUMMARY)
    table("function calls per login, by component", "calls ", "{:.0f}", ())
    table("rough CPU ms per login without the profiler (see the notes)", "", "{:.1f}", ESTIMATE)
    return "\n".join(lines).rstrip()
