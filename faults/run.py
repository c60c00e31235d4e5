"""`make faults` (python -m faults): the fault suite. It starts its own world on loopback: two local providers
(devidp, each in a process of its own; the tenant under fault's behind a fault proxy), a redis-server, two gunicorn
app servers on a PostgreSQL database of its own; then, one scenario after another, runs traffic, injects the fault,
waits for recovery and prints one table with the targets beside each figure (docs/reliability.md explains them).

    python -m faults [--short] [--scenario NAME ...]

--short is the CI version (tests/test_faults.py): shorter faults and a breaker cool-down of 3 s."""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import redis

from faults import report
from faults.cluster import ROOT, free_port, missing_requirements, running_cluster, wait_for
from faults.proxy import FaultProxy, Mode
from faults.scenarios import FULL, SCENARIOS, SHORT, Rig, Scenario, by_name
from faults.traffic import Recorder, Tenant, Traffic

JOIN_SECONDS = 40  # the longest a request of the traffic can take (its timeout 30 s) and some
HELD_SECONDS = 6  # the app's read timeout (settings.OIDC_TIMEOUT, 5 s) and some: a request held by the fault has failed


@contextmanager
def providers(folder: Path) -> Iterator[tuple[int, int]]:
    """Two local providers (python -m faults.provider), for the tenant under fault and the bystander: their ports.
    What each writes to stderr (a traceback of its own) goes to `folder`/provider-<port>.log."""
    ports = (free_port(), free_port())
    folder.mkdir(parents=True, exist_ok=True)
    logs = [(folder / f"provider-{port}.log").open("wb") for port in ports]
    started = [subprocess.Popen([sys.executable, "-m", "faults.provider", "--port", str(port)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=log) for port, log in zip(ports, logs, strict=True)]
    for log in logs:
        log.close()  # the process holds its own copy
    try:
        for port in ports:
            wait_for(lambda p=port: __import__("socket").create_connection(("127.0.0.1", p), 0.2).close() is None,
                     f"the local provider on {port}", 30)
        yield ports
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(10)


def run_scenario(rig: Rig, scenario: Scenario, prefix: str) -> report.Result:
    rig.proxy.set(Mode.THROUGH)
    redis.Redis(port=rig.cluster.redis.port).flushdb()  # the suite's own Redis: the last scenario's breaker goes
    rig.notes = {}
    for tenant in rig.traffic.tenants.values():  # warm: discovery and keys cached, as in steady traffic
        rig.traffic.sign_in(tenant, f"{prefix}-warm@{tenant.slug}.test")
    since_event = report.last_event(_database_url(rig))
    faulted_before = len(rig.proxy.faulted)
    record = rig.traffic.record = Recorder()
    stop = threading.Event()
    threads = rig.traffic.run(stop, prefix)
    time.sleep(rig.timing.lead)
    began = record.now()
    scenario.inject(rig)
    ended = record.now()
    _wait_for_recovery(rig, scenario, record, (began, ended))
    time.sleep(rig.timing.tail)
    stop.set()
    deadline = time.monotonic() + JOIN_SECONDS
    for thread in threads:
        thread.join(max(0.1, deadline - time.monotonic()))
    out = report.result(scenario, record, (began, ended), rig.timing, _database_url(rig), since_event)
    out.notes = dict(rig.notes, fault=f"{ended - began:.1f} s", faulted=str(len(rig.proxy.faulted) - faulted_before))
    return out


def _wait_for_recovery(rig: Rig, scenario: Scenario, record: Recorder, fault: tuple[float, float]) -> None:
    """From the fault's end, one person signs in again and again, as someone pressing the tile would, until the
    sign-ins so far show the recovery the report reads (report.recovery: a success begun after every failure begun
    after the fault's end), and no request the fault held can still fail (HELD_SECONDS after its end: a held
    request that fails late counts against the breaker, which may open again), or until the recovery target, those
    seconds and 5 s more have passed. Returning at the first success instead ended a short run with the breaker
    opened again by the held requests, and no sign-in after it."""
    tenant = rig.traffic.tenants["faulted"]
    held_until = time.monotonic() + HELD_SECONDS
    limit = time.monotonic() + HELD_SECONDS + rig.timing.cooldown + 6
    for n in range(10_000):
        person = f"recovery-{fault[1]:.0f}-{n % 4}@{tenant.slug}.test"
        rig.traffic.sign_in(tenant, person)
        if time.monotonic() > limit:
            return
        faulted = [s for s in record.sign_ins if s.tenant == "faulted"]
        if time.monotonic() >= held_until and report.recovery(scenario, faulted, fault) is not None:
            return
        time.sleep(0.05)


def _database_url(rig: Rig) -> str:
    return rig.cluster.env["DATABASE_URL"]


def run_suite(pg_url: str, *, short: bool, names: list[str] | None = None, log: Path | None = None,
              progress: bool = True) -> list[report.Result]:
    timing = SHORT if short else FULL
    chosen = [by_name(name) for name in names] if names else SCENARIOS
    database = f"inigo_faults_{os.getpid()}"
    env = {"SSO_RATE_LIMIT": "off", **({"FAULTS_BREAKER_COOLDOWN": str(timing.cooldown)} if short else {})}
    results = []
    with providers(log.parent if log else ROOT / "test-artifacts" / "faults") as (faulted_port, bystander_port):
        proxy = FaultProxy(faulted_port)
        try:
            tenants = {"faulted": Tenant("faulted", "acme", proxy.url, faulted_port),
                       "bystander": Tenant("bystander", "globex", f"http://127.0.0.1:{bystander_port}",
                                           bystander_port)}
            with running_cluster(pg_url, database, tenants=[(t.slug, t.issuer) for t in tenants.values()],
                                 settings_module="faults.settings", env=env, stderr=log) as cluster:
                token = cluster.manage("scim_token", "acme").strip().splitlines()[-1]
                rig = Rig(proxy, cluster, Traffic(cluster.ports, tenants, token), pg_url, database, timing)
                for n, scenario in enumerate(chosen):
                    began = time.monotonic()
                    result = run_scenario(rig, scenario, f"s{n}")
                    results.append(result)
                    if progress:
                        print(f"  {scenario.name}: {time.monotonic() - began:.0f} s, "
                              f"{'met' if not result.misses() else 'MISSED'}", flush=True)
        finally:
            proxy.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m faults", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="the CI version: short faults, a 3 s cool-down")
    parser.add_argument("--scenario", action="append", choices=[s.name for s in SCENARIOS], metavar="NAME",
                        help="run only this scenario (repeatable): " + "; ".join(s.name for s in SCENARIOS))
    parser.add_argument("--pg", default=os.environ.get("FAULTS_PG_URL", "postgres://root@127.0.0.1:5432/postgres"),
                        help="a PostgreSQL server where the suite may create a database (FAULTS_PG_URL)")
    args = parser.parse_args()
    if reason := missing_requirements(args.pg):
        raise SystemExit(f"The fault suite {reason}.")
    log = Path(tempfile.mkdtemp(prefix="inigo-faults-")) / "app-servers.log"
    started = time.monotonic()
    print(f"inigo-sso fault suite ({'short' if args.short else 'full'}); app servers' log {log}", flush=True)
    results = run_suite(args.pg, short=args.short, names=args.scenario, log=log)
    print()
    print(f"Commit {_commit()}; machine: {os.cpu_count()} cores, {platform.platform(terse=True)}; "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {time.monotonic() - started:.0f} s")
    print(f"Breaker cool-down {(SHORT if args.short else FULL).cooldown:g} s; two app servers (gunicorn, 1 worker "
          "x 8 threads each), PostgreSQL, the suite's own redis-server, devidp behind a fault proxy")
    print()
    print(report.table(results))
    print()
    print("\n".join(report.verdicts(results)))
    sys.exit(0 if all(not r.misses() for r in results) else 1)


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True, check=False).stdout.strip()
    return done.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
