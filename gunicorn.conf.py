"""gunicorn settings for inigo-sso. Command-line flags (as `make run` passes) override these."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: a login waits on the provider for at most the outbound timeouts (5 s connect, 10 s read).
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
timeout = 30
graceful_timeout = 30
keepalive = 5
# The app writes one JSON line per request itself (inigo_sso.logs), with the request id and tenant. gunicorn's
# own access log is off unless asked for; when on, it logs the path (%(U)s), never the query string: the
# callback's holds an authorization code.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms "%({x-request-id}o)s"'
errorlog = "-"
# gunicorn 25.1+ opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl), which several instances on
# one machine (the tests run two) would take from each other; nothing here manages gunicorn at run time.
control_socket_disable = True
