"""`make bench`: full logins against inigo-sso and against stock mozilla-django-oidc, side by side.

Each login is one virtual browser (a requests.Session with its own cookies): start (inigo-sso: GET /oidc/initiate/
?iss=<issuer>, the Okta tile; stock: GET /oidc/authenticate/) -> POST the provider's authorize page as `sub` ->
GET /oidc/callback/?code&state (timed) -> GET /api/me/ (must answer the user's email). The provider is
oidc-provider-mock in its own process (bench/provider.py) with per-endpoint counters and an optional delay; each app
is served by gunicorn (gunicorn.conf.py) on PostgreSQL, in databases this script drops and recreates.

Runs alternate (ours, ours on the large database, stock, ours, ...) so that drift on a shared machine hits all of
them. The large database (`ours large`) holds the real tenant among TENANTS-1 decoys, with LARGE_USERS people and
LARGE_LOGIN_EVENTS login events spread over the decoys (bench/seed.py, COPY, before anything is timed).
"""

import argparse
import json
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil
import psycopg
import requests
from cryptography.fernet import Fernet

from bench import components as component_table
from bench.component_profile import HEADER as COMPONENTS_HEADER
from bench.phases import HEADER as PHASES_HEADER
from bench.provider import BACK_CHANNEL, NEW_CONNECTIONS
from bench.querycount import HEADER as QUERIES_HEADER

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLIENT_ID = "0oabench0000000000x1"
CLIENT_SECRET = "bench-client-secret-" + "s" * 20  # a throwaway secret: the local provider accepts any
STOCK_FAILURE_PATH = "/login-failed/"
CPU_GROUPS = {"app": "gunicorn (master + workers)", "db": "PostgreSQL backends", "provider": "the provider",
              "client": "the load generator"}
DATABASES = {"ours": "inigo_bench", "ours_tenants": "inigo_bench_tenants", "alt": "inigo_bench_alt",
             "stock": "inigo_bench_stock"}
TIMEOUT = 60
# The callback's phases, as bench/phases.py names them; `other` is Django, the remaining middleware, the views' own
# code and logging; `request` the whole request inside Django (the load generator's figure adds the network).
CALLBACK_PHASES = ("session load", "state check", "discovery (cached)", "secret decryption",
                   "token request (provider round trip)", "JWT check", "user upsert", "auth.login", "login event",
                   "session save", "sign-in: session taken over", "sign-in commit", "rate limits",
                   "admin lockout check", "logging", "other", "request")


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    settings: str
    database: str
    tenants: int
    users: int = 0  # seeded over the decoy tenants (bench/seed.py)
    login_events: int = 0


@dataclass
class Login:
    ok: bool
    first: bool
    callback_s: float = 0.0
    queries: dict[str, int] = field(default_factory=dict)  # per request: start, callback, me
    phases: dict[str, float] = field(default_factory=dict)  # the callback's ms per phase (bench/phases.py)
    error: str = ""


@dataclass
class Phase:
    concurrency: int
    elapsed_s: float
    logins: list[Login]
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU time used during the phase, per process group

    @property
    def ok(self) -> list[Login]:
        return [login for login in self.logins if login.ok]

    @property
    def failed(self) -> int:
        return len(self.logins) - len(self.ok)

    @property
    def per_second(self) -> float:
        return len(self.ok) / self.elapsed_s


@dataclass
class RunResult:
    variant: str
    delay_ms: float
    round: int
    phases: list[Phase]
    hits: Counter[str]
    peak_rss_kb: list[int]
    log: str
    # --components: the same logins again after the measured phases, profiled (bench/component_profile.py)
    profiled: list[Phase] = field(default_factory=list)
    components: component_table.Totals | None = None


# --- processes ----------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Processes:
    """Every process this benchmark starts, stopped by its own id in `stop_all` whatever happens."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        with open(log, "ab") as out:
            process = subprocess.Popen(  # noqa: S603 (our own interpreter and scripts)
                args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.running.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if process in self.running:
            self.running.remove(process)

    def stop_all(self) -> None:
        for process in list(self.running):
            self.stop(process)


def wait_for_http(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url} did not start; its log ({log}) ends with:\n{tail(log)}")
        with suppress(requests.RequestException):
            requests.get(url, timeout=2, allow_redirects=False)
            return
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s; see {log}")


def tail(path: Path, lines: int = 30) -> str:
    with suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def peak_rss_kb(master: subprocess.Popen[bytes]) -> list[int]:
    """VmHWM (peak resident set size) of each gunicorn worker, from /proc."""
    peaks = []
    for child in psutil.Process(master.pid).children():
        with suppress(OSError, psutil.Error):
            for line in Path(f"/proc/{child.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]))
    return peaks


class CpuMeter:
    """CPU time (user + system) of the processes a login keeps busy: the app's gunicorn master and workers, the
    provider, the PostgreSQL backends connected to the app's database, and this load generator."""

    def __init__(self, master: subprocess.Popen[bytes], provider_pid: int, database: str) -> None:
        self.master = psutil.Process(master.pid)
        self.provider = psutil.Process(provider_pid)  # a gunicorn master: its worker is a child
        self.database = database

    def _groups(self) -> dict[str, list[psutil.Process]]:
        backends = []
        for process in psutil.process_iter(["name", "cmdline"]):
            args = " ".join(process.info["cmdline"] or []).split()
            if process.info["name"] == "postgres" and self.database in args:
                backends.append(process)
        return {"app": [self.master, *self.master.children()], "provider": [self.provider, *self.provider.children()],
                "db": backends, "client": [psutil.Process()]}

    def snapshot(self) -> dict[str, dict[int, float]]:
        taken: dict[str, dict[int, float]] = {}
        for group, processes in self._groups().items():
            taken[group] = {}
            for process in processes:
                with suppress(psutil.Error):
                    times = process.cpu_times()
                    taken[group][process.pid] = times.user + times.system
        return taken

    @staticmethod
    def used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
        return {
            group: sum(seconds - before.get(group, {}).get(pid, 0.0) for pid, seconds in after[group].items())
            for group in after
        }


# --- databases ----------------------------------------------------------------------------------------------------


def database_url(base: str, name: str) -> str:
    return f"{base.rstrip('/')}/{name}"


def recreate_databases(base: str, names: list[str]) -> None:
    with psycopg.connect(database_url(base, "postgres"), autocommit=True) as connection:
        for name in names:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASES["ours"]}"')
        connection.execute(f'CREATE DATABASE "{DATABASES["stock"]}"')


def clone_database(base: str, template: str, name: str) -> None:
    with psycopg.connect(database_url(base, "postgres"), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def drop_databases(base: str, names: list[str]) -> None:
    with psycopg.connect(database_url(base, "postgres"), autocommit=True) as connection:
        for name in names:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(  # noqa: S603
        [str(BIN / "python"), *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


# --- the virtual browser ------------------------------------------------------------------------------------------


def login_once(app: str, variant: Variant, issuer: str, sub: str, first: bool,
               headers: dict[str, str] | None = None) -> Login:
    result = Login(ok=False, first=first)
    with requests.Session() as browser:
        browser.headers.update(headers or {})
        try:
            if variant.key == "stock":
                started = browser.get(f"{app}/oidc/authenticate/", allow_redirects=False, timeout=TIMEOUT)
            else:
                started = browser.get(
                    f"{app}/oidc/initiate/", params={"iss": issuer}, allow_redirects=False, timeout=TIMEOUT
                )
            result.queries["start"] = int(started.headers.get(QUERIES_HEADER, 0))
            if started.status_code != 302:
                result.error = f"start answered {started.status_code}"
                return result
            authorized = browser.post(started.headers["Location"], data={"sub": sub}, allow_redirects=False,
                                      timeout=TIMEOUT)
            if authorized.status_code != 302:
                result.error = f"authorize answered {authorized.status_code}"
                return result
            began = time.perf_counter()
            callback = browser.get(authorized.headers["Location"], allow_redirects=False, timeout=TIMEOUT)
            result.callback_s = time.perf_counter() - began
            result.queries["callback"] = int(callback.headers.get(QUERIES_HEADER, 0))
            result.phases = parse_phases(callback.headers.get(PHASES_HEADER, ""))
            if callback.status_code != 302 or callback.headers.get("Location", "").startswith(STOCK_FAILURE_PATH):
                result.error = f"callback answered {callback.status_code} {callback.headers.get('Location', '')}"
                return result
            me = browser.get(f"{app}/api/me/", allow_redirects=False, timeout=TIMEOUT)
            result.queries["me"] = int(me.headers.get(QUERIES_HEADER, 0))
            if me.status_code != 200 or me.json().get("email") != email_of(sub):
                result.error = f"/api/me/ answered {me.status_code} {me.text[:80]}"
                return result
        except (requests.RequestException, ValueError, KeyError) as exc:
            result.error = f"{type(exc).__name__}: {str(exc)[:120]}"
            return result
    result.ok = True
    return result


def parse_phases(header: str) -> dict[str, float]:
    phases = {}
    for part in header.split(";"):
        name, _, ms = part.rpartition("=")
        if name:
            phases[name] = float(ms)
    return phases


def email_of(sub: str) -> str:
    return f"{sub}@bench.test"


def set_users(provider: str, subs: list[str]) -> None:
    with requests.Session() as session:
        for sub in subs:
            given = sub.replace("-", " ").title()
            claims = {"email": email_of(sub), "given_name": given, "family_name": "Bench", "name": f"{given} Bench"}
            response = session.put(f"{provider}/users/{sub}", json=claims, timeout=TIMEOUT)
            response.raise_for_status()


def run_logins(app: str, provider: str, variant: Variant, *, prefix: str, logins: int, users: int,
               concurrency: int, meter: CpuMeter | None = None, headers: dict[str, str] | None = None) -> Phase:
    """`logins` logins spread over `users` people: the first `users` logins create them, the rest return."""
    subs = [f"{prefix}-{i:04d}" for i in range(users)]
    set_users(provider, subs)
    requests.post(f"{provider}/_bench/reset", timeout=TIMEOUT).raise_for_status()
    issuer = provider

    def one(index: int) -> Login:
        return login_once(app, variant, issuer, subs[index % users], first=index < users, headers=headers)

    before = meter.snapshot() if meter else {}
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, range(logins)))
    elapsed = time.perf_counter() - began
    return Phase(concurrency, elapsed, results, CpuMeter.used(before, meter.snapshot()) if meter else {})


# --- one run: one gunicorn, warm-up, then each concurrency ----------------------------------------------------------


@dataclass
class Context:
    args: argparse.Namespace
    processes: Processes
    provider: str
    base_env: dict[str, str]
    out: Path
    cache_prefix: str
    workers: int
    provider_pid: int


def app_env(ctx: Context, variant: Variant, run_id: str) -> dict[str, str]:
    return {
        **ctx.base_env,
        "DJANGO_SETTINGS_MODULE": variant.settings,
        "DATABASE_URL": database_url(ctx.args.pg, variant.database),
        "BENCH_CACHE_PREFIX": f"{ctx.cache_prefix}-{run_id}",
        "BENCH_COUNT_QUERIES": "1",
        # Where the callback's time goes (inigo-sso only: stock has no such phases); timers cost microseconds.
        "BENCH_PHASES": "0" if variant.key == "stock" else "1",
        # A cProfile of inigo-sso's callbacks, written to this directory (bench/profiling.py); off unless set.
        "BENCH_PROFILE": "" if variant.key == "stock" else os.environ.get("BENCH_PROFILE", ""),
        # CPU per login by component (bench/component_profile.py), on every side; off unless --components.
        "BENCH_COMPONENTS": str(components_directory(ctx, run_id)) if ctx.args.components else "",
    }


def components_directory(ctx: Context, run_id: str) -> Path:
    return ctx.out / f"components-{run_id}"


@cache
def gunicorn_quiet_flags() -> tuple[str, ...]:
    """gunicorn 27 opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl) unless told not to: the
    benchmark's servers must not take it over from another gunicorn of the same user (`make run`, say)."""
    help_text = subprocess.run(  # noqa: S603
        [str(BIN / "gunicorn"), "--help"], capture_output=True, text=True, check=False
    ).stdout
    return ("--no-control-socket",) if "--no-control-socket" in help_text else ()


@contextmanager
def served(ctx: Context, variant: Variant, run_id: str) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    port = free_port()
    log = ctx.out / f"{run_id}.log"
    args = [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
            "--workers", str(ctx.workers), *gunicorn_quiet_flags(), "bench.wsgi:application"]
    master = ctx.processes.start(args, app_env(ctx, variant, run_id), log)
    app = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{app}/api/me/", master, log)
        yield app, master, log
    finally:
        ctx.processes.stop(master)


def people(args: argparse.Namespace, logins: int) -> int:
    """Distinct people in a phase of `logins` logins: the first ones create them, the others are returning."""
    return min(logins, args.users or max(16, logins // 4))


def run_once(ctx: Context, variant: Variant, delay_ms: float, round_no: int) -> RunResult:
    run_id = f"d{delay_ms:g}-r{round_no}-{variant.key}"
    config = {"delay_ms": delay_ms, "delay_all": ctx.args.delay_all}
    requests.post(f"{ctx.provider}/_bench/config", json=config, timeout=TIMEOUT).raise_for_status()
    with served(ctx, variant, run_id) as (app, master, log):
        warm = run_logins(app, ctx.provider, variant, prefix=f"{run_id}-warm", logins=ctx.args.warmup,
                          users=ctx.args.warmup, concurrency=min(8, ctx.args.warmup))
        if warm.failed:
            first_error = next(login.error for login in warm.logins if not login.ok)
            raise SystemExit(f"{variant.label}: {warm.failed} warm-up logins failed ({first_error}); see {log}")
        meter = CpuMeter(master, ctx.provider_pid, variant.database)
        phases, hits = [], Counter()
        logins = ctx.args.logins if delay_ms == 0 else ctx.args.delayed_logins
        for concurrency in ctx.args.concurrency:
            phases.append(run_logins(app, ctx.provider, variant, prefix=f"{run_id}-c{concurrency}",
                                     logins=logins, users=people(ctx.args, logins), concurrency=concurrency,
                                     meter=meter))
            hits.update(requests.get(f"{ctx.provider}/_bench/hits", timeout=TIMEOUT).json())
        rss = peak_rss_kb(master)
        # The same logins again, profiled: after the measured phases, so that their figures are the unprofiled ones.
        profiled = [
            run_logins(app, ctx.provider, variant, prefix=f"{run_id}-profiled-c{concurrency}", logins=logins,
                       users=people(ctx.args, logins), concurrency=concurrency, meter=meter,
                       headers={COMPONENTS_HEADER: "1"})
            for concurrency in (ctx.args.concurrency if ctx.args.components else [])
        ]
    run = RunResult(variant.key, delay_ms, round_no, phases, hits, rss, str(log), profiled)
    if ctx.args.components:  # each worker wrote its totals when it exited, as the server stopped
        run.components = component_table.load(components_directory(ctx, run_id))
        callbacks = sum("callback" in login.queries for phase in profiled for login in phase.logins)
        if run.components.logins != callbacks:
            print(f"  WARNING: {variant.label}: the workers profiled {run.components.logins} callbacks, the browsers "
                  f"sent {callbacks}; see {log}", flush=True)
    return run


# --- figures and the table ----------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, round(q / 100 * len(ordered) + 0.4999))  # nearest rank
    return ordered[min(rank, len(ordered)) - 1]


def figures(runs: list[RunResult], concurrencies: list[int]) -> dict[str, float]:
    """The table's figures for one variant at one delay, over its rounds."""
    out: dict[str, float] = {}
    for c in concurrencies:
        phases = [phase for run in runs for phase in run.phases if phase.concurrency == c]
        out[f"lps_c{c}"] = statistics.mean(phase.per_second for phase in phases)
        callbacks = [login.callback_s * 1000 for phase in phases for login in phase.ok]
        out[f"p50_c{c}"] = percentile(callbacks, 50)
        out[f"p95_c{c}"] = percentile(callbacks, 95)
        out[f"failed_c{c}"] = sum(phase.failed for phase in phases)
    logins = [login for run in runs for phase in run.phases for login in phase.ok]
    for kind, first in (("first", True), ("returning", False)):
        chosen = [login for login in logins if login.first is first] or [Login(ok=True, first=first)]
        out[f"sql_{kind}"] = statistics.mean(sum(login.queries.values()) for login in chosen)
        out[f"sql_callback_{kind}"] = statistics.mean(login.queries.get("callback", 0) for login in chosen)
    measured = sum(len(phase.logins) for run in runs for phase in run.phases)
    for path, name in BACK_CHANNEL.items():
        out[f"out_{name}"] = sum(run.hits.get(path, 0) for run in runs) / measured
    out["out_total"] = sum(out[f"out_{name}"] for name in BACK_CHANNEL.values())
    out["new_connections"] = sum(run.hits.get(NEW_CONNECTIONS, 0) for run in runs) / measured
    for phase in CALLBACK_PHASES:
        measured_logins = [login for login in logins if login.phases]
        out[f"phase_{phase}"] = (
            statistics.mean(login.phases.get(phase, 0.0) for login in measured_logins) if measured_logins else 0.0
        )
    out["rss_mb"] = max(max(run.peak_rss_kb, default=0) for run in runs) / 1024
    phases = [phase for run in runs for phase in run.phases]
    for group in CPU_GROUPS:
        out[f"cpu_{group}"] = 1000 * sum(p.cpu_s.get(group, 0.0) for p in phases) / sum(len(p.logins) for p in phases)
    return out


def rows(concurrencies: list[int]) -> list[tuple[str, str, str]]:
    """(figure key, label, format); the ratio of a figure is ours / stock (or N tenants / 1 tenant)."""
    table = []
    for c in concurrencies:
        table.append((f"lps_c{c}", f"logins per second, concurrency {c}", "{:.1f}"))
    for c in concurrencies:
        table.append((f"p50_c{c}", f"callback p50 (ms), concurrency {c}", "{:.1f}"))
        table.append((f"p95_c{c}", f"callback p95 (ms), concurrency {c}", "{:.1f}"))
    table += [
        ("sql_first", "SQL queries per first login (all 3 requests)", "{:.1f}"),
        ("sql_returning", "SQL queries per returning login", "{:.1f}"),
        ("sql_callback_first", "  of which in the callback, first login", "{:.1f}"),
        ("sql_callback_returning", "  of which in the callback, returning", "{:.1f}"),
    ]
    for name in BACK_CHANNEL.values():
        table.append((f"out_{name}", f"outbound {name} requests per login", "{:.2f}"))
    table.append(("out_total", "outbound requests per login, total", "{:.2f}"))
    table.append(("new_connections", "new connections to the provider per login", "{:.2f}"))
    table.append(("rss_mb", "peak RSS per worker (MB, largest worker)", "{:.1f}"))
    table.append(("phase_heading", "*where the callback's time goes (ms, mean)*", ""))
    for phase in CALLBACK_PHASES:
        table.append((f"phase_{phase}", f"  {phase}", "{:.2f}"))
    for group, label in CPU_GROUPS.items():
        table.append((f"cpu_{group}", f"CPU ms per login: {label}", "{:.1f}"))
    for c in concurrencies:
        table.append((f"failed_c{c}", f"failed logins, concurrency {c}", "{:.0f}"))
    return table


def ratio(a: float, b: float) -> str:
    if b == 0:
        return "-" if a == 0 else "n/a"
    return f"{a / b:.2f}"


def ratio_columns(variants: list[Variant]) -> list[tuple[str, str, str]]:
    """(heading, numerator, denominator) of each ratio column."""
    keys = {variant.key: variant for variant in variants}
    columns = [("ours/stock", "ours", "stock")]
    if "ours_tenants" in keys:
        columns.append(("large/small", "ours_tenants", "ours"))
    if "alt" in keys:
        columns += [("alt/stock", "alt", "stock"), ("alt/ours", "alt", "ours")]
    return columns


def render(results: dict[float, dict[str, dict[str, float]]], variants: list[Variant], concurrencies: list[int]) -> str:
    ratios = ratio_columns(variants)
    columns = [variant.label for variant in variants] + [heading for heading, _, _ in ratios]
    width = 46
    lines = [f"| {'figure':<{width}} | " + " | ".join(f"{name:>13}" for name in columns) + " |",
             "|" + "-" * (width + 2) + "|" + "|".join("-" * 14 + ":" for _ in columns) + "|"]
    for delay, by_variant in results.items():
        lines.append(f"| **provider delay {delay:g} ms** |" + " |" * len(columns))
        for key, label, fmt in rows(concurrencies):
            if not fmt:  # a heading inside the table
                lines.append(f"| {label:<{width}} |" + " |" * len(columns))
                continue
            cells = [fmt.format(by_variant[v.key][key]) for v in variants]
            for _, numerator, denominator in ratios:
                failures = key.startswith("failed")
                cells.append("-" if failures else ratio(by_variant[numerator][key], by_variant[denominator][key]))
            lines.append(f"| {label:<{width}} | " + " | ".join(f"{cell:>13}" for cell in cells) + " |")
    return "\n".join(lines)


def targets(results: dict[float, dict[str, dict[str, float]]], concurrencies: list[int], tenants: int,
            alt_settings: str = "") -> list[str]:
    out = []

    def verdict(ok: bool) -> str:
        return "met   " if ok else "MISSED"

    # The gates of "a login near its floor": ratios ours/stock measured side by side in this run; the stretch figures
    # are printed beside them.
    floor = alt_settings == "bench.floor"
    c = concurrencies[0]
    if 0 in results:
        ours, stock = results[0]["ours"], results[0]["stock"]
        r = ours["cpu_app"] / stock["cpu_app"]
        out.append(f"{verdict(r <= 0.85)} gunicorn CPU per login ours/stock, no delay: {r:.2f} (target <= 0.85; "
                   f"stretch 0.75: {'met' if r <= 0.75 else 'missed'})")
        r = ours[f"p50_c{c}"] / stock[f"p50_c{c}"]
        out.append(f"{verdict(r <= 0.6)} callback p50 ours/stock, no delay, concurrency {c}: {r:.2f} (target <= 0.60)")
        for n in concurrencies[1:]:
            out.append(f"report logins per second, no delay, concurrency {n}: ours {ours[f'lps_c{n}']:.1f}, stock "
                       f"{stock[f'lps_c{n}']:.1f} ({ours[f'lps_c{n}'] / stock[f'lps_c{n}']:.2f} x)")
        for kind, budget in (("returning", 7), ("first", 12)):
            n = ours[f"sql_callback_{kind}"]
            out.append(f"{verdict(n <= budget)} SQL statements in a {kind} login's callback: {n:.0f} "
                       f"(target <= {budget})")
    for delay in [delay for delay in results if delay >= 50]:
        ours, stock = results[delay]["ours"], results[delay]["stock"]
        r = ours[f"p50_c{c}"] / stock[f"p50_c{c}"]
        stretch = ""
        if floor and "alt" in results[delay]:
            above = ours[f"p50_c{c}"] - results[delay]["alt"][f"p50_c{c}"]
            stretch = f"; stretch <= the floor + 5 ms: {above:+.1f} ms, {'met' if above <= 5 else 'missed'}"
        out.append(f"{verdict(r <= 0.38)} callback p50 ours/stock, {delay:g} ms delay, concurrency {c}: {r:.2f} "
                   f"(target <= 0.38{stretch})")
    if 0 in results and "ours_tenants" in results[0]:
        for c in concurrencies:
            r = results[0]["ours_tenants"][f"lps_c{c}"] / results[0]["ours"][f"lps_c{c}"]
            out.append(f"{verdict(r >= 0.9)} logins per second large / small database, no delay, "
                       f"concurrency {c}: {r:.2f} (target >= 0.90)")
        for c in concurrencies:
            r = results[0]["ours_tenants"][f"p50_c{c}"] / results[0]["ours"][f"p50_c{c}"]
            out.append(f"{verdict(r <= 1.15)} callback p50 large / small database, no delay, concurrency {c}: "
                       f"{r:.2f} (target <= 1.15)")
    failed = sum(v[f"failed_c{c}"] for by in results.values() for v in by.values() for c in concurrencies if c >= 8)
    if any(c >= 8 for c in concurrencies):
        out.append(f"{verdict(failed == 0)} failed logins at concurrency >= 8, every run: {failed:.0f} (target 0)")
    return out


# --- main ---------------------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logins", type=int, default=200, help="measured logins per concurrency per run (200)")
    parser.add_argument("--delayed-logins", type=int, default=100,
                        help="measured logins per concurrency per run at a delay > 0 (100)")
    parser.add_argument("--users", type=int, default=0,
                        help="distinct people per phase: the first USERS logins create them, the rest are returning "
                        "logins (default: a quarter of the phase's logins, at least 16)")
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8],
                        help="virtual browsers at once, comma-separated (1,8)")
    parser.add_argument("--tenants", type=int, default=10_000,
                        help="tenants in the second inigo-sso database: the real one and TENANTS-1 decoys with "
                        "distinct issuers, at most 10000 (10000; 1 skips that variant)")
    parser.add_argument("--large-users", type=int, default=200_000,
                        help="people in the large database, spread over its decoy tenants (200000)")
    parser.add_argument("--large-login-events", type=int, default=2_000_000,
                        help="login events in the large database, spread over those people (2000000)")
    parser.add_argument("--delays", type=lambda s: [float(x) for x in s.split(",")], default=[0.0, 50.0],
                        help="simulated network delay (ms) before the provider answers each back-channel request, "
                        "one block of runs per value, comma-separated (0,50)")
    parser.add_argument("--delay-all", action="store_true",
                        help="delay every request to the provider, the browser's authorize page too")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each variant at delay 0, alternating (2)")
    parser.add_argument("--delayed-rounds", type=int, default=2,
                        help="runs of each variant at each delay > 0, alternating (2: the 50 ms gate sits within one "
                        "run's spread of its line)")
    parser.add_argument("--warmup", type=int, default=16, help="logins before measuring, per run (16)")
    parser.add_argument("--workers", type=int, default=0,
                        help="gunicorn workers (default: gunicorn.conf.py's, 2 x cores + 1)")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", "postgres://root@127.0.0.1:5432"),
                        help="PostgreSQL server, without a database name (BENCH_PG_URL)")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
                        help="Redis for the Django cache, as a multi-process deployment has; '' for the "
                        "per-process local-memory cache (BENCH_REDIS_URL)")
    parser.add_argument("--import-key-per-token", action="store_true",
                        help="let the provider re-import its signing key for every token, as oidc-provider-mock does "
                        "(about 60 ms of CPU per login on the provider's side; see bench/provider.py)")
    parser.add_argument("--settings", default="bench.settings",
                        help="settings module of the inigo-sso side (bench.settings); another one, importing "
                        "bench.settings, measures a proposed settings change")
    parser.add_argument("--alt-settings", default="bench.floor",
                        help="also run this settings module (1 tenant), alternating with the others, as the column "
                        "'alt': by default the floor of a callback (bench/floor.py), which the 50 ms gate's stretch "
                        "is measured against; another module measures a proposed change; '' runs none")
    parser.add_argument("--components", action="store_true",
                        help="after each run's measured phases, run the same logins again under a CPU profile in "
                        "every worker (bench/component_profile.py) and print CPU ms per login by component (ORM, "
                        "database, token request, JWT, middleware, ...) for every side")
    parser.add_argument("--json", type=Path, help="also write every measurement to this file")
    parser.add_argument("--keep-databases", action="store_true", help="leave the bench databases in place")
    args = parser.parse_args()
    if not 1 <= args.tenants <= 10_000:
        parser.error("--tenants must be between 1 and 10000")
    return args


def redis_usable(url: str) -> bool:
    if not url:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def forget_cache_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    with suppress(redis.RedisError):
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)


def versions(pg: str) -> str:
    names = ("Django", "mozilla-django-oidc", "gunicorn", "psycopg", "oidc-provider-mock", "PyJWT", "requests")
    found = []
    for name in names:
        with suppress(metadata.PackageNotFoundError):
            found.append(f"{name} {metadata.version(name)}")
    with suppress(psycopg.Error), psycopg.connect(database_url(pg, "postgres")) as connection:
        row = connection.execute("SHOW server_version").fetchone()
        found.append(f"PostgreSQL {row[0].split()[0]}" if row else "PostgreSQL ?")
    return ", ".join([f"Python {platform.python_version()}", *found])


def main() -> None:
    args = parse_args()
    started = time.monotonic()
    out = Path(tempfile.mkdtemp(prefix="inigo-bench-"))
    processes = Processes()
    use_redis = redis_usable(args.redis_url)
    cache_prefix = f"inigo-bench-{os.getpid()}-{secrets.token_hex(3)}"
    workers = args.workers or 2 * (os.cpu_count() or 1) + 1
    variants = [Variant("ours", "ours", args.settings, DATABASES["ours"], 1)]
    if args.tenants > 1:
        variants.append(Variant("ours_tenants", "ours large", args.settings, DATABASES["ours_tenants"], args.tenants,
                                args.large_users, args.large_login_events))
    if args.alt_settings:
        variants.append(Variant("alt", "alt", args.alt_settings, DATABASES["alt"], 1))
    variants.append(Variant("stock", "stock", "bench.stock_settings", DATABASES["stock"], 1))
    print(f"inigo-sso login benchmark; logs in {out}", flush=True)
    try:
        provider, provider_process = start_provider(processes, out, import_key_per_token=args.import_key_per_token)
        base_env = app_base_env(provider, args.redis_url if use_redis else "")
        ctx = Context(args, processes, provider, base_env, out, cache_prefix, workers, provider_process.pid)

        print("setting up: databases, migrations, tenants", flush=True)
        names = [variant.database for variant in variants]
        recreate_databases(args.pg, list(DATABASES.values()))
        ours_env = {**base_env, "DJANGO_SETTINGS_MODULE": "bench.settings",
                    "DATABASE_URL": database_url(args.pg, DATABASES["ours"])}
        stock_env = {**base_env, "DJANGO_SETTINGS_MODULE": "bench.stock_settings",
                     "DATABASE_URL": database_url(args.pg, DATABASES["stock"])}
        migrations = [threading.Thread(target=manage, args=(env, "manage.py", "migrate", "--no-input"))
                      for env in (ours_env, stock_env)]
        for thread in migrations:
            thread.start()
        for thread in migrations:
            thread.join()
        for variant in variants:
            if variant.key not in ("ours", "stock"):
                clone_database(args.pg, DATABASES["ours"], variant.database)
        for variant in variants:
            if variant.key != "stock":
                env = {**ours_env, "DATABASE_URL": database_url(args.pg, variant.database)}
                seeding = time.monotonic()
                manage(env, "-m", "bench.seed", "--provider", provider, "--tenants", str(variant.tenants),
                       "--users", str(variant.users), "--login-events", str(variant.login_events))
                if variant.tenants > 1:
                    print(f"  {variant.label}: {variant.tenants:,} tenants, {variant.users:,} users, "
                          f"{variant.login_events:,} login events, seeded in {time.monotonic() - seeding:.0f} s",
                          flush=True)

        results: dict[float, dict[str, dict[str, float]]] = {}
        raw: list[RunResult] = []
        for delay in args.delays:
            rounds = args.rounds if delay == 0 else args.delayed_rounds
            runs: dict[str, list[RunResult]] = {variant.key: [] for variant in variants}
            for round_no in range(1, rounds + 1):
                for variant in variants:
                    run = run_once(ctx, variant, delay, round_no)
                    runs[variant.key].append(run)
                    raw.append(run)
                    print(summary(variant, run), flush=True)
            results[delay] = {key: figures(variant_runs, args.concurrency) for key, variant_runs in runs.items()}
        elapsed = time.monotonic() - started
        print_report(args, results, variants, workers, use_redis, elapsed, raw)
        if args.json:
            dump(args.json, args, results, raw)
        processes.stop(provider_process)
        if not args.keep_databases:
            drop_databases(args.pg, names)
    finally:
        processes.stop_all()
        if use_redis:
            forget_cache_keys(args.redis_url, cache_prefix)


def start_provider(processes: Processes, out: Path, *, import_key_per_token: bool = False
                   ) -> tuple[str, subprocess.Popen[bytes]]:
    """The provider (bench/provider.py) in a process of its own, answering: its URL and process."""
    port = free_port()
    log = out / "provider.log"
    process = processes.start(
        [str(BIN / "python"), "-m", "bench.provider", "--port", str(port),
         *(["--import-key-per-token"] if import_key_per_token else [])],
        {**os.environ, "PYTHONUNBUFFERED": "1"}, log,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/_bench/hits", process, log)
    return url, process


def app_base_env(provider: str, redis_url: str) -> dict[str, str]:
    """The environment every app server of a run shares ('' for redis_url: the per-process cache)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SSO_", "GUNICORN_", "BENCH_"))},
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_HTTPS": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SSO_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SSO_ALLOW_INSECURE_ISSUERS": "true",
        "SSO_RATE_LIMIT": "off",
        "BENCH_PROVIDER_URL": provider,
        "BENCH_CLIENT_ID": CLIENT_ID,
        "BENCH_CLIENT_SECRET": CLIENT_SECRET,
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def summary(variant: Variant, run: RunResult) -> str:
    parts = []
    for phase in run.phases:
        p50 = percentile([login.callback_s * 1000 for login in phase.ok], 50)
        part = f"c={phase.concurrency}: {phase.per_second:6.1f}/s, callback p50 {p50:6.1f} ms"
        parts.append(part + (f", {phase.failed} FAILED" if phase.failed else ""))
    errors = sorted({login.error for phase in run.phases for login in phase.logins if not login.ok})
    line = f"  delay {run.delay_ms:g} ms, round {run.round}, {variant.label:<11} " + "; ".join(parts)
    return line + (f"\n    errors: {errors[:3]}" if errors else "")


def print_report(args: argparse.Namespace, results: dict[float, dict[str, dict[str, float]]],
                 variants: list[Variant], workers: int, use_redis: bool, elapsed: float, raw: list[RunResult]) -> None:
    memory_gb = psutil.virtual_memory().total / 2**30
    print()
    print(f"Machine: {os.cpu_count()} cores, {memory_gb:.0f} GB, {platform.platform(terse=True)}; "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"Versions: {versions(args.pg)}")
    delayed = "every provider request" if args.delay_all else "back-channel requests (discovery, keys, token, userinfo)"
    first, later = people(args, args.logins), args.logins - people(args, args.logins)
    print(f"Setup: gunicorn {workers} threaded workers (gunicorn.conf.py, 8 threads) per app, PostgreSQL, cache "
          f"{'Redis' if use_redis else 'local memory (per worker)'}; {args.logins} logins per concurrency per run at "
          f"delay 0 ({first} people: {first} first logins, {later} returning logins), {args.delayed_logins} at a delay "
          f"> 0; {args.rounds} alternating round(s) at delay 0, {args.delayed_rounds} per delay > 0; {args.warmup} "
          f"warm-up logins per run, not measured. The delay applies to {delayed}.")
    large = next((v for v in variants if v.key == "ours_tenants"), None)
    if large is not None:
        print(f"Databases: `ours` has the one tenant; `{large.label}` the real tenant among {large.tenants - 1:,} "
              f"decoys with {large.users:,} users and {large.login_events:,} login events (bench/seed.py).")
    print()
    print(render(results, variants, args.concurrency))
    print()
    if args.components:
        print_components(results, variants, raw)
    for line in targets(results, args.concurrency, args.tenants, args.alt_settings or ""):
        print(line)
    print(f"\nbench finished in {elapsed:.0f} s")


def print_components(results: dict[float, dict[str, dict[str, float]]], variants: list[Variant],
                     raw: list[RunResult]) -> None:
    """The component table of each delay (bench/components.py), its rounds and concurrencies pooled."""
    for delay, by_variant in results.items():
        columns = []
        for variant in variants:
            runs = [run for run in raw if run.variant == variant.key and run.delay_ms == delay and run.components]
            totals = component_table.Totals()
            for run in runs:
                totals = totals.merged(run.components or component_table.Totals())
            profiled = [phase for run in runs for phase in run.profiled]
            meter = 1000 * sum(p.cpu_s.get("app", 0.0) for p in profiled) / max(1, sum(len(p.logins) for p in profiled))
            label = variant.label if variant.key != "alt" else variant.settings.rsplit(".", 1)[-1]
            columns.append((label, totals, meter, by_variant[variant.key]["cpu_app"]))
        print(f"**Where a login's CPU goes, provider delay {delay:g} ms** (gunicorn workers; every request of a login; "
              "each round and concurrency pooled)")
        print()
        print(component_table.render(columns))
        print()
    print("cProfile inflates every figure of the first table: each call reads the thread's CPU clock twice, a "
          "system call, so code that makes many small calls (the ORM, Django) is inflated most; compare a component "
          "across columns, or before and after a change, by its profiled ms and its calls per login (exact counts). "
          "The last table takes the profiler's cost out: each function's own time minus its calls x the cost per call "
          "that each worker calibrates on startup, scaled so that the total is what the profile cost in this run "
          "(gunicorn CPU per login, profiled minus unprofiled). The cost per call of real code varies by some 10% "
          "around that mean, which is as large as a component's own CPU, so its figures are rough (one can be "
          "negative). Built-ins, the standard library and asgiref are charged to their callers (bench/components.py).")
    print()


def dump(path: Path, args: argparse.Namespace, results: dict[float, Any], raw: list[RunResult]) -> None:
    document = {
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "figures": {str(delay): by for delay, by in results.items()},
        "runs": [
            {"variant": run.variant, "delay_ms": run.delay_ms, "round": run.round, "peak_rss_kb": run.peak_rss_kb,
             "hits": dict(run.hits), "log": run.log,
             "components": run.components.per_login_ms() if run.components else None,
             "phases": [{"concurrency": p.concurrency, "elapsed_s": p.elapsed_s, "ok": len(p.ok), "failed": p.failed,
                        "cpu_s": p.cpu_s,
                         "callback_ms": [round(login.callback_s * 1000, 2) for login in p.ok],
                         "first": [login.first for login in p.ok],
                         "callback_phases": [login.phases for login in p.ok]} for p in run.phases]}
            for run in raw
        ],
    }
    path.write_text(json.dumps(document, indent=1))
