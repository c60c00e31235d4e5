"""Settings for the test suite: production settings (DEBUG off) on plain http and loopback issuers."""

import os

os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-" + "x" * 40)
os.environ.setdefault("DJANGO_HTTPS", "false")
os.environ.setdefault("SSO_ENCRYPTION_KEYS", "QNeEoRF8-ncL6zWBzuDdb8a4fBC2hvuVjXzXZW64ixM=")
# The in-process OpenID Provider listens on http://127.0.0.1.
os.environ.setdefault("SSO_ALLOW_INSECURE_ISSUERS", "true")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from inigo_sso.settings import *  # noqa: F403

STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; test users only
