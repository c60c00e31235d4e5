"""The settings of the browser tests' server: production settings as they are (environment-driven), except that
collected static files go to the test's temporary folder instead of the checkout."""

import os

from inigo_sso.settings import *  # noqa: F403

STATIC_ROOT = os.environ["E2E_STATIC_ROOT"]
