"""The bench's inigo-sso without state_commit (bench/without/__init__.py)."""

from bench.settings import *  # noqa: F403

BENCH_WITHOUT = ["state_commit"]
MIDDLEWARE = ["bench.without.WithoutMiddleware", *MIDDLEWARE]  # noqa: F405
