"""Paths as logs may show them: a setup link's token is the credential of that link, so it is cut out.

No Django imports: gunicorn's configuration (its access log) uses this before the app is loaded."""

import re

_SETUP_TOKEN = re.compile(r"/setup/[^/?#\s\"']+")
REDACTED_SETUP_PATH = "/setup/[redacted]"


def redact_path(text: str) -> str:
    """`/setup/<token>/` -> `/setup/[redacted]/`, wherever it occurs in `text` (a path, a URL, a log line)."""
    return _SETUP_TOKEN.sub(REDACTED_SETUP_PATH, text) if "/setup/" in text else text
