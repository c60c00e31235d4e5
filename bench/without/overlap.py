"""The bench's inigo-sso without overlap (bench/without/__init__.py)."""

from bench.settings import *  # noqa: F403

BENCH_WITHOUT = ["overlap"]
MIDDLEWARE = ["bench.without.WithoutMiddleware", *MIDDLEWARE]  # noqa: F405
