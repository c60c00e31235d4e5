"""The browser tests' server settings without Django's connection health check (CONN_HEALTH_CHECKS): with it off,
a connection the server ended fails the next request that uses it, which tests/test_database_down.py needs to see
answered with a 503, not a 500, and followed by a request that succeeds."""

from tests.e2e.server_settings import *  # noqa: F403

DATABASES["default"]["CONN_HEALTH_CHECKS"] = False  # noqa: F405
