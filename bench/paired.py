"""`python -m bench.paired A B`: what one change does to a returning callback, with the machine's drift taken out.

Two settings modules of inigo-sso (say `bench.without.asynchronous_commit` and `bench.settings`) are served side by
side, each by its own gunicorn on its own copy of one database, with one provider (bench/provider.py) and no delay.
Logins alternate between them in small batches at concurrency 1, the order swapped every batch; each person signs in
once before, so every timed callback is a returning one. It prints each batch's medians, then both medians and the
mean of the per-batch differences A - B with its standard error.

Why not `make bench`: it serves one side for some seconds at a time, and on a shared machine a run's callback p50
moves by 1 to 2 ms from one run to the next, so a change of half a millisecond hides in it. Batches of a few seconds,
side by side, see the same machine. The same module on both sides measures the method's own error
(docs/benchmarks.md has both).
"""

import argparse
import os
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

import requests

from bench.run import (
    DATABASES,
    TIMEOUT,
    Context,
    Processes,
    Variant,
    app_base_env,
    clone_database,
    database_url,
    drop_databases,
    manage,
    recreate_databases,
    redis_usable,
    run_logins,
    served,
    start_provider,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.paired", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", help="settings module of side A (e.g. bench.without.asynchronous_commit)")
    parser.add_argument("b", help="settings module of side B (e.g. bench.settings)")
    parser.add_argument("--batches", type=int, default=30, help="batches per side (30)")
    parser.add_argument("--logins", type=int, default=24, help="timed logins per batch (24)")
    parser.add_argument("--people", type=int, default=8, help="people each side signs in, in turn (8)")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1,
                        help="gunicorn workers per side (as `make bench`: 2 x cores + 1)")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", "postgres://root@127.0.0.1:5432"),
                        help="PostgreSQL server, without a database name (BENCH_PG_URL)")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
                        help="Redis for the Django cache; '' for the per-process cache (BENCH_REDIS_URL)")
    args = parser.parse_args()
    args.components = False  # bench.run.app_env asks
    return args


def main() -> None:
    args = parse_args()
    out = Path(tempfile.mkdtemp(prefix="inigo-paired-"))
    processes = Processes()
    sides = {"A": Variant("ours", "A", args.a, DATABASES["ours"], 1),
             "B": Variant("alt", "B", args.b, DATABASES["alt"], 1)}
    print(f"A = {args.a}, B = {args.b}; logs in {out}", flush=True)
    try:
        provider, provider_process = start_provider(processes, out)
        redis_url = args.redis_url if redis_usable(args.redis_url) else ""
        base_env = app_base_env(provider, redis_url)
        recreate_databases(args.pg, list(DATABASES.values()))
        env = {**base_env, "DJANGO_SETTINGS_MODULE": "bench.settings",
               "DATABASE_URL": database_url(args.pg, DATABASES["ours"])}
        manage(env, "manage.py", "migrate", "--no-input")
        manage(env, "-m", "bench.seed", "--provider", provider, "--tenants", "1", "--users", "0",
               "--login-events", "0")
        clone_database(args.pg, DATABASES["ours"], DATABASES["alt"])
        ctx = Context(args, processes, provider, base_env, out, f"inigo-paired-{secrets.token_hex(3)}", args.workers,
                      provider_process.pid)
        requests.post(f"{provider}/_bench/config", json={"delay_ms": 0, "delay_all": False},
                      timeout=TIMEOUT).raise_for_status()
        with served(ctx, sides["A"], "A") as (app_a, _, _), served(ctx, sides["B"], "B") as (app_b, _, _):
            apps = {"A": app_a, "B": app_b}
            timed: dict[str, list[float]] = {"A": [], "B": []}
            differences = []

            def batch(side: str, logins: int) -> list[float]:
                phase = run_logins(apps[side], provider, sides[side], prefix=f"paired-{side}", logins=logins,
                                   users=args.people, concurrency=1)
                if phase.failed:
                    raise SystemExit(f"{side}: {phase.failed} logins failed ({phase.logins[0].error}); see {out}")
                return [login.callback_s * 1000 for login in phase.logins if not login.first]

            for side in apps:
                batch(side, 2 * args.people)  # everyone signs in once; warm caches and connections
            for number in range(args.batches):
                medians = {}
                for side in ("A", "B") if number % 2 == 0 else ("B", "A"):
                    callbacks = batch(side, args.logins + args.people)
                    timed[side] += callbacks
                    medians[side] = statistics.median(callbacks)
                differences.append(medians["A"] - medians["B"])
                print(f"batch {number + 1:3d}: A {medians['A']:6.2f} ms  B {medians['B']:6.2f} ms  "
                      f"A - B {differences[-1]:+.2f} ms", flush=True)
        error = statistics.stdev(differences) / len(differences) ** 0.5 if len(differences) > 1 else float("nan")
        print(f"returning callbacks, median: A {statistics.median(timed['A']):.2f} ms, "
              f"B {statistics.median(timed['B']):.2f} ms ({len(timed['A'])} and {len(timed['B'])} logins); "
              f"A - B per batch: {statistics.mean(differences):+.2f} ms, standard error {error:.2f} ms", flush=True)
        drop_databases(args.pg, list(DATABASES.values()))
    finally:
        processes.stop_all()


if __name__ == "__main__":
    sys.exit(main())
