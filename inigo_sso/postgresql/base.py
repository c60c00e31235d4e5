"""Django's PostgreSQL backend, whose health check (CONN_HEALTH_CHECKS) looks at the socket instead of asking the
server.

Django checks a persistent connection at the first query of each request with `SELECT 1`: a round trip to
PostgreSQL per request, three per login. A server that closed the connection (a restart, idle_session_timeout,
pg_terminate_backend) has told the client so: its FATAL message or the end of the stream is waiting on the socket.
An idle connection has nothing to read otherwise, so one `poll` with no timeout answers the same question, as
urllib3 does for its pooled HTTP connections. Anything unexpected on the socket (a notice, a changed server
parameter) counts as unusable too: the price of a wrong "no" is one reconnect, never a failed request.
"""

import select

from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status != TransactionStatus.IDLE:
            return False  # a transaction left open or failed: start again on a fresh connection
        try:
            poller = select.poll()
            poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
            return not poller.poll(0)  # readable now: the server has closed it, or said something unasked
        except (OSError, ValueError):  # ValueError: the socket is already gone (fileno -1)
            return False
