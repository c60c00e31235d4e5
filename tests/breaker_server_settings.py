"""Production settings with a short breaker cool-down, so that a test on two app servers sees the breaker open,
probe and close within seconds (tests/test_breaker.py). Static files are served by name, as in tests/settings.py:
the failure pages need them, and no collectstatic runs for these servers."""

from inigo_sso.settings import *  # noqa: F403

OIDC_BREAKER = {**OIDC_BREAKER, "cooldown_seconds": 2}  # noqa: F405
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
