"""The bench's inigo-sso without both (bench/without/__init__.py)."""

from bench.settings import *  # noqa: F403

BENCH_WITHOUT = ["state_commit", "login_event"]
MIDDLEWARE = ["bench.without.WithoutMiddleware", *MIDDLEWARE]  # noqa: F405
