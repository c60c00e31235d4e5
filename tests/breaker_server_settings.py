"""The test servers' settings (tests/cluster_settings.py) with a short breaker cool-down, so that a test on two app
servers sees the breaker open, probe and close within seconds (tests/test_breaker.py)."""

from tests.cluster_settings import *  # noqa: F403

OIDC_BREAKER = {**OIDC_BREAKER, "cooldown_seconds": 2}  # noqa: F405
