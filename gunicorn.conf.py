"""gunicorn settings for inigo-sso. Command-line flags (as `make run` passes) override these."""

import multiprocessing
import os
import sys
from typing import Any

from gunicorn import glogging

# gunicorn reads this file before it puts the project on sys.path (and `gunicorn` as a script starts elsewhere).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inigo_sso.redaction import redact_path

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Threaded workers: a login spends most of its time waiting on the tenant's Okta, and a provider that accepts
# connections and never answers holds a thread for the read timeout (3 s connect, 5 s read: settings.OIDC_TIMEOUT).
# With sync workers six such logins stalled the whole server. Now at most OIDC_MAX_FETCHES_PER_ISSUER (2) threads
# of each worker wait on any one provider host; the other threads serve every other tenant and /healthz/.
# Each thread holds its own database connection: workers x threads per server must fit PostgreSQL's
# max_connections (100 by default) with room for the other servers.
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 8))
timeout = 30
graceful_timeout = 30
keepalive = 5
# The app writes one JSON line per request itself (inigo_sso.logs), with the request id and tenant. gunicorn's
# own access log is off unless asked for; when on, it logs the path (%(U)s), never the query string: the
# callback's holds an authorization code. A setup link's path holds its token: RedactingLogger cuts it out.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms "%({x-request-id}o)s"'


# What each worker says when --reload is on: only `make run` turns it on, whose banner says it is for development.
# A warning on every start of a fresh clone teaches people to skip the warnings that matter.
RELOADER_NOTICE = "Reloader is on. Use in development only!"


class RedactingLogger(glogging.Logger):
    """gunicorn's logger, with /setup/<token>/ redacted from every access-log atom that can carry a path (the
    path, the request line, the referrer), whatever access_log_format says."""

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None:
        if msg == RELOADER_NOTICE and self.cfg.reload:
            return
        super().warning(msg, *args, **kwargs)

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("U", "r", "f"):
            if isinstance(atoms.get(name), str):
                atoms[name] = redact_path(atoms[name])
        for name, value in atoms.items():
            if name.endswith("}i") and isinstance(value, str):  # request headers such as Referer
                atoms[name] = redact_path(value)
        return atoms


logger_class = RedactingLogger
errorlog = "-"
# gunicorn 25.1+ opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl), which several instances on
# one machine (the tests run two) would take from each other; nothing here manages gunicorn at run time.
control_socket_disable = True
