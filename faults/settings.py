"""Settings of the app servers under fault: the production settings (inigo_sso.settings, from the same environment
variables), with the failure pages' static files served by name (no collectstatic, as tests/settings.py does) and,
for the short run only, a shorter breaker cool-down (FAULTS_BREAKER_COOLDOWN, seconds)."""

import os

from inigo_sso.settings import *  # noqa: F403

STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405

if os.environ.get("FAULTS_BREAKER_COOLDOWN"):
    OIDC_BREAKER = {**OIDC_BREAKER, "cooldown_seconds": float(os.environ["FAULTS_BREAKER_COOLDOWN"])}  # noqa: F405
