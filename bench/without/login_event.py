"""The bench's inigo-sso without login_event (bench/without/__init__.py)."""

from bench.settings import *  # noqa: F403

BENCH_WITHOUT = ["login_event"]
MIDDLEWARE = ["bench.without.WithoutMiddleware", *MIDDLEWARE]  # noqa: F405
