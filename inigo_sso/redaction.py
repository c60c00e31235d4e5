"""Paths as logs and login events may keep them: a setup link's token is the credential of that link, so it is cut
out. One function for both (`kept_path`), so what the database holds is never more than what the logs show.

No Django imports: gunicorn's configuration (its access log) uses this before the app is loaded."""

import re

# Any case: /SETUP/<token>/ answers 404, but its token is still a live credential in the log line.
_SETUP_TOKEN = re.compile(r"/setup/[^/?#\s\"']+", re.IGNORECASE)
REDACTED_SETUP_PATH = "/setup/[redacted]"


def redact_path(text: str) -> str:
    """`/setup/<token>/` -> `/setup/[redacted]/`, wherever it occurs in `text` (a path, a URL, a log line)."""
    return _SETUP_TOKEN.sub(REDACTED_SETUP_PATH, text) if "/setup/" in text.lower() else text


def kept_path(path: str, limit: int = 500) -> str:
    """A request's path as a log line or a login event keeps it: at most `limit` characters, then redacted (a token
    cut short by the limit is redacted too)."""
    return redact_path(path[:limit])
