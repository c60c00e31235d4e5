"""The faults, one scenario each: what it breaks, for how long, and which failure pages are the right ones.

Each `inject` runs the fault from its start to its end and returns: every fault is bounded in time and stops by
itself. The traffic (faults/traffic.py) runs before, during and after it."""

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
import requests

from faults.cluster import HOST, Cluster, wait_for
from faults.proxy import FaultProxy, Mode
from faults.traffic import Traffic, deactivation, family_name_change

PROVIDER_PAGES = frozenset({(502, "provider_unreachable"), (502, "provider_bad_response")})


@dataclass(frozen=True)
class Timing:
    lead: float  # seconds of traffic before the fault
    fault: float  # seconds a steady fault lasts
    sparse: float  # seconds of one timeout in 20: several of the app's read timeouts (5 s)
    flap: float  # seconds down, then up, of a flapping provider
    flaps: int
    tail: float  # seconds of traffic after recovery: later requests must succeed
    cooldown: float  # the breaker's (settings.OIDC_BREAKER)
    terminations: int  # rounds of pg_terminate_backend


FULL = Timing(lead=3, fault=20, sparse=30, flap=10, flaps=2, tail=3, cooldown=30, terminations=3)
SHORT = Timing(lead=1, fault=5, sparse=12, flap=3, flaps=1, tail=1.5, cooldown=3, terminations=2)


@dataclass
class Rig:
    """What a scenario acts on."""

    proxy: FaultProxy
    cluster: Cluster
    traffic: Traffic
    pg_url: str  # the PostgreSQL server, to terminate the app's connections
    database: str
    timing: Timing
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    inject: Callable[[Rig], None]
    provider: bool = False  # a fault of the tenant's provider: the recovery and bystander targets apply
    trips_breaker: bool = False  # evidence the breaker must act on: its cool-down is part of the recovery target
    intermittent: bool = False  # the fault hits some requests: recovery is measured after each one
    right: frozenset[tuple[int, str]] = frozenset()  # (status, reason) of a sign-in's right failure page
    database_down: bool = False  # 503s while the database cannot be reached are counted apart
    kills: bool = False  # kills an app server's worker: sign-ins cut without an answer are counted apart, retried


def _app_database(rig: Rig) -> str:
    return rig.cluster.env["DATABASE_URL"]


def _steady(mode: Mode) -> Callable[[Rig], None]:
    def inject(rig: Rig) -> None:
        rig.proxy.set(mode)
        time.sleep(rig.timing.sparse if mode is Mode.ONE_TIMEOUT_IN_20 else rig.timing.fault)
        rig.proxy.set(Mode.THROUGH)

    return inject


def _flapping(rig: Rig) -> None:
    for flap in range(rig.timing.flaps):
        if flap:
            time.sleep(rig.timing.flap)  # up
        rig.proxy.set(Mode.DOWN)
        time.sleep(rig.timing.flap)
        rig.proxy.set(Mode.THROUGH)


def _terminate_connections(rig: Rig) -> None:
    """pg_terminate_backend of every connection to the app's database, a few times, one second apart."""
    with psycopg.connect(rig.pg_url, autocommit=True) as admin:
        for round_ in range(rig.timing.terminations):
            if round_:
                time.sleep(1)
            ended = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  "WHERE datname = %s AND pid <> pg_backend_pid()", [rig.database]).fetchone()
            rig.notes[f"connections terminated, round {round_ + 1}"] = str(ended[0] if ended else 0)


def _redis_restart(rig: Rig) -> None:
    rig.cluster.redis.stop()
    time.sleep(rig.timing.fault / 2)
    rig.cluster.redis.start()


def _kill_worker(rig: Rig) -> None:
    """SIGKILL the worker of app server 0 while sign-ins are surely mid-sign-in: some wait on their token request
    (the provider answers 2 s late for a moment), others are in the transaction that writes their session and
    login event (the suite holds a SHARE lock on the login events' table for that moment, as a migration or a
    maintenance command would, so that their event's INSERT waits). The master starts a new worker."""
    with psycopg.connect(_app_database(rig)) as holder:
        holder.execute("LOCK TABLE accounts_loginevent IN SHARE MODE")  # INSERTs wait; reads go on
        rig.proxy.set(Mode.SLOW)
        workers, began, waiting = rig.cluster.workers(0), time.monotonic(), 0
        while time.monotonic() - began < 5 and (waiting := _waiting_in(holder, workers)) < KILLED_MID_WRITE:
            time.sleep(0.05)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - began)))  # 1 s at least: others wait on their token request
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        rig.notes["workers killed"] = str(len(workers))
        rig.notes["of its requests waiting to write a login event"] = str(waiting)
        time.sleep(0.2)  # the killed worker's connections are gone before their statements may go on
    rig.proxy.set(Mode.THROUGH)
    port = rig.cluster.ports[0]
    wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/healthz/", headers={"Host": HOST},
                                  timeout=2).status_code == 200, "the app server's new worker", 60)


KILLED_MID_WRITE = 2  # requests of the worker to kill that wait to write their login event, at least


def _waiting_in(holder: psycopg.Connection, workers: list[int]) -> int:
    """How many database connections of these processes wait for a lock: their client ports (pg_stat_activity)
    matched to the processes' sockets (/proc: the socket inodes of their file descriptors, /proc/net/tcp)."""
    ports = {row[0] for row in holder.execute("SELECT client_port FROM pg_stat_activity WHERE wait_event_type = "
                                              "'Lock' AND datname = current_database()").fetchall()}
    inodes = set()
    for pid in workers:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:["):
                        inodes.add(link[8:-1])
    with open("/proc/net/tcp") as table:
        sockets = [line.split() for line in table.readlines()[1:]]
    return sum(1 for row in sockets if int(row[1].split(":")[1], 16) in ports and row[9] in inodes)


PATCHES = 20


SIGN_INS = 10
EARLY_PUSHES = 3  # profile pushes sent while the deactivation waits: with it and the sign-ins, 14 of the 16 threads


def _concurrent_patches(rig: Rig) -> None:
    """One person provisioned by SCIM, who has not signed in yet; then 20 PATCHes of them and 10 of their first
    sign-ins, all waiting on each other's locks at once: one deactivation and 19 profile pushes (each with a
    familyName of its own, no `active`). To make the interleaving that loses a write happen every time, not once in
    a while, the suite holds the person's row for a moment (as a write of many people's roles would): the
    deactivation goes first and waits for it, holding the roles lock and the tenant's row; three profile pushes come
    next and wait for the roles lock, then the sign-ins' callbacks, which read the person (active still) and wait for
    the tenant; then the other profile pushes; then the suite lets go. The checks (faults.report.lost_writes): the
    deactivation holds, and familyName and active are what the last PATCH answered said of the person, so that a
    write that read the person before a PATCH and wrote them back after it shows; every PATCH answers 2xx; a sign-in
    ends signed in or on the 403 page."""
    traffic, tenant = rig.traffic, rig.traffic.tenants["faulted"]
    sub = f"patched-{os.getpid()}-{time.monotonic_ns()}@{tenant.slug}.test"
    rig.notes["person"] = sub
    traffic.scim_create(sub, external_id=sub)  # Okta's externalId is the sub of their sign-ins
    found = requests.get(f"http://127.0.0.1:{rig.cluster.ports[0]}/scim/v2/Users",
                         params={"filter": f'userName eq "{sub}"'}, timeout=30,
                         headers={"Host": HOST, "Authorization": f"Bearer {traffic.scim_token}"}).json()
    scim_id = found["Resources"][0]["id"]
    callbacks = threading.Barrier(SIGN_INS + 1)  # the sign-ins back from the provider, and this scenario

    def at_callback() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):  # one that never came: the others go at 30 s
            callbacks.wait(30)

    def patch(n: int) -> None:
        if n == 0:
            traffic.scim("PATCH", f"/Users/{scim_id}", deactivation(f"Patched {n}"), "deactivate", sub)
        else:
            traffic.scim("PATCH", f"/Users/{scim_id}", family_name_change(f"Patched {n}"), "update", sub)

    threads = [threading.Thread(target=patch, args=(n,)) for n in range(PATCHES)]
    threads += [threading.Thread(target=traffic.sign_in, args=(tenant, sub), kwargs={"before_callback": at_callback})
                for _ in range(SIGN_INS)]
    with psycopg.connect(_app_database(rig)) as holder:
        holder.execute("SELECT 1 FROM accounts_user WHERE scim_id = %s FOR NO KEY UPDATE", [scim_id])
        threads[0].start()  # the deactivation
        _blocked_by(holder, 1, 10)
        for thread in threads[1:EARLY_PUSHES + 1]:  # a few profile pushes: they read the person, then wait
            thread.start()
        time.sleep(0.3)
        for thread in threads[PATCHES:]:  # the sign-ins
            thread.start()
        at_callback()
        time.sleep(0.5)  # their callbacks: the token request, the person read, then the tenant's lock
        for thread in threads[EARLY_PUSHES + 1:PATCHES]:  # the other profile pushes (the app servers' threads
            thread.start()  # are mostly taken by now: these queue, and read the person after the deactivation)
        time.sleep(0.3)
        rig.notes["requests waiting when the person was let go"] = str(holder.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ).fetchone()[0])
    for thread in threads:
        thread.join(60)
    answered = sorted((w for w in traffic.record.writes if w.user_name == sub and w.answer),
                      key=lambda w: w.answer["meta"]["lastModified"])
    rig.notes["the deactivation's place among the PATCHes"] = next(
        (f"{n + 1} of {len(answered)}" for n, w in enumerate(answered) if w.op == "deactivate"), "none answered")


def _blocked_by(holder: psycopg.Connection, count: int, seconds: float) -> None:
    """Wait until `count` connections wait for a lock `holder` holds (or `seconds` have passed)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row = holder.execute("SELECT count(*) FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
                             ).fetchone()
        if row and row[0] >= count:
            return
        time.sleep(0.02)


SCENARIOS = [
    Scenario("one timeout in 20", "every 20th request to the provider gets no answer: a timeout of that sign-in",
             _steady(Mode.ONE_TIMEOUT_IN_20), provider=True, intermittent=True, right=PROVIDER_PAGES),
    Scenario("flapping", "the provider's port refuses connections, then serves, then refuses again",
             _flapping, provider=True, trips_breaker=True, right=PROVIDER_PAGES),
    Scenario("black hole", "the provider accepts connections and never answers", _steady(Mode.BLACK_HOLE),
             provider=True, trips_breaker=True, right=PROVIDER_PAGES),
    Scenario("stall mid-body", "the provider sends its headers and half the body, then nothing",
             _steady(Mode.STALL_MID_BODY), provider=True, trips_breaker=True, right=PROVIDER_PAGES),
    Scenario("reset after headers", "the provider sends its headers, then resets the connection",
             _steady(Mode.RESET_AFTER_HEADERS), provider=True, trips_breaker=True, right=PROVIDER_PAGES),
    # An answer within the timeouts is an answer: no failure page is right here, every sign-in must succeed.
    Scenario("slow answers (2 s)", "every answer of the provider comes 2 s late", _steady(Mode.SLOW),
             provider=True),
    Scenario("garbage answers", "the provider answers 200 with random bytes", _steady(Mode.GARBAGE),
             provider=True, right=PROVIDER_PAGES),
    Scenario("postgres connections terminated", "pg_terminate_backend of every app connection, a few times",
             _terminate_connections, database_down=True),
    Scenario("redis stopped", "the suite's redis-server stopped, then started empty", _redis_restart),
    Scenario("worker killed", "SIGKILL of app server 0's worker mid-sign-in", _kill_worker, kills=True),
    Scenario("20 concurrent PATCHes", "20 SCIM PATCHes of one person at once (one deactivates), with their sign-ins",
             _concurrent_patches, right=frozenset({(403, "user_removed_in_okta")})),
]


def by_name(name: str) -> Scenario:
    for scenario in SCENARIOS:
        if scenario.name == name or scenario.name.split(" (")[0].replace(" ", "-") == name:
            return scenario
    raise KeyError(name)
