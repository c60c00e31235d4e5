"""Settings of inigo-sso for the benchmark: the production settings (inigo_sso.settings, read from the same
environment variables), plus what only a benchmark needs. bench/run.py sets the environment (DJANGO_DEBUG=false,
DJANGO_HTTPS=false, SSO_ALLOW_INSECURE_ISSUERS=true, SSO_RATE_LIMIT=off, DATABASE_URL, REDIS_URL...)."""

import os

from inigo_sso.settings import *  # noqa: F403

# Static files are served as they are (the success path of a login renders no page; an error page still renders
# without `collectstatic` having been run), as tests/settings.py does.
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405

# Every run starts with a cold cache of its own and never touches other users' keys in a shared Redis.
if os.environ.get("BENCH_CACHE_PREFIX"):
    CACHES["default"]["KEY_PREFIX"] = os.environ["BENCH_CACHE_PREFIX"]  # noqa: F405

if os.environ.get("BENCH_COUNT_QUERIES") == "1":
    MIDDLEWARE = ["bench.querycount.QueryCountMiddleware", *MIDDLEWARE]  # noqa: F405

if os.environ.get("BENCH_PHASES") == "1":
    MIDDLEWARE = ["bench.phases.PhaseMiddleware", *MIDDLEWARE]

if os.environ.get("BENCH_PROFILE"):
    MIDDLEWARE = ["bench.profiling.CallbackProfileMiddleware", *MIDDLEWARE]
