"""The short fault suite (faults/, `python -m faults --short`): real traffic on two gunicorn app servers,
PostgreSQL, a Redis and the local provider, with each fault injected in turn; every target must be met (0 x 500,
0 acknowledged writes lost, recovery within the breaker's cool-down plus 1 s, the bystander tenant's p95 <= 500 ms).
Needs PostgreSQL and a redis-server binary; about 2 minutes."""

import os
import time

import pytest

from faults import report
from faults.cluster import missing_requirements
from faults.run import run_suite


def test_the_short_fault_suite_meets_every_target():
    database_url = os.environ.get("DATABASE_URL", "")
    if reason := missing_requirements(database_url):
        pytest.skip(reason)
    began = time.monotonic()

    results = run_suite(database_url, short=True, progress=False)

    print(f"\n{report.table(results)}\n" + "\n".join(report.verdicts(results)) +
          f"\nshort fault suite: {time.monotonic() - began:.0f} s")
    assert [f"{r.scenario.name}: {'; '.join(r.misses())}" for r in results if r.misses()] == []
