"""The bench's inigo-sso without asynchronous_commit (bench/without/__init__.py)."""

from bench.settings import *  # noqa: F403

BENCH_WITHOUT = ["asynchronous_commit"]
MIDDLEWARE = ["bench.without.WithoutMiddleware", *MIDDLEWARE]  # noqa: F405
