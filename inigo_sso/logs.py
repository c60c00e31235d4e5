"""Logs operators can search: one JSON line per request and per login event, each with the request id.

Nothing here logs a query string, a header or a body: the callback's query holds an authorization code."""

import atexit
import contextvars
import copy
import json
import logging
import logging.handlers
import os
import queue
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse

from inigo_sso.redaction import kept_path, redact_path
from inigo_sso.references import reference_from_request_id

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# Fields a log call may add with extra={...}; anything else on a record is ignored.
EXTRA_FIELDS = ("event", "method", "path", "status", "duration_ms", "tenant", "outcome", "reason", "reference",
                "user_id")

request_logger = logging.getLogger("inigo.request")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class RedactSetupTokensFilter(logging.Filter):
    """Every log line, ours and Django's (a CSRF refusal logs the path): a setup link's token is cut out."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_path(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if isinstance(getattr(record, "path", None), str):
            record.path = redact_path(record.path)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
        }
        line.update({name: getattr(record, name) for name in EXTRA_FIELDS if hasattr(record, name)})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)  # the traceback, no local values
        elif record.exc_text:
            line["exception"] = record.exc_text  # formatted where it was raised (QueuedHandler)
        return json.dumps(line, default=str)


class RequestLogMiddleware:
    """Outermost middleware: takes X-Request-ID (or makes one), returns it, and logs one line per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            path = kept_path(request.path)
            request_logger.info(
                "%s %s %s", request.method, path, response.status_code,
                extra={
                    "event": "request",
                    "method": request.method,
                    "path": path,
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                    "tenant": getattr(request, "log_tenant", None),
                    # What the error page showed the person, so support finds this line from it.
                    **({"reference": _support_reference(request)} if response.status_code >= 400 else {}),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


def _support_reference(request: HttpRequest) -> str:
    return getattr(request, "support_reference", None) or reference_from_request_id(request_id_var.get())


def support_reference(request: HttpRequest) -> dict[str, Any]:
    """Template context processor: `request_reference`, for error pages that have no login event of their own."""
    return {"request_reference": lambda: reference_from_request_id(request_id_var.get())}


class QueuedHandler(logging.handlers.QueueHandler):
    """The request thread only queues its record (with the request id, set by the filters here); a thread of each
    process formats it as JSON and writes it, so a request waits for no write to stderr. Records still queued when
    the process ends are written at exit. Where there is no such thread (it could not start, it has stopped at
    exit, it died) or the queue is full (stderr blocked), the record is written by the thread that logs it, as a
    plain StreamHandler would."""

    QUEUE_SIZE = 10_000

    def __init__(self) -> None:
        super().__init__(queue.Queue(self.QUEUE_SIZE))
        self._stream = sys.stderr  # as "ext://sys.stderr" would: the stream of when logging is configured
        self._listener: logging.handlers.QueueListener | None = None
        self._target: logging.StreamHandler | None = None
        self._pid = 0
        self._start_lock = threading.Lock()
        os.register_at_fork(after_in_child=self._after_fork)

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # The message with its arguments merged, and the traceback as text: what a record carries across.
        prepared = copy.copy(record)
        prepared.msg, prepared.args = record.getMessage(), None
        if record.exc_info:
            prepared.exc_text = _traceback_formatter.formatException(record.exc_info)
        prepared.exc_info = None
        return prepared

    def emit(self, record: logging.LogRecord) -> None:
        if self._pid != os.getpid():
            self._start()
        listener = self._listener
        if listener is not None and listener._thread is not None and listener._thread.is_alive():
            super().emit(record)  # enqueue() below
        else:
            self._write(record)

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self._write(record)  # stderr is not keeping up: this request waits for it, as it did unqueued

    def _write(self, record: logging.LogRecord) -> None:
        if self._target is None:
            self._target = self._new_target()
        self._target.handle(record)

    def _new_target(self) -> logging.StreamHandler:
        target = logging.StreamHandler(self._stream)
        target.setFormatter(self.formatter)  # this handler's formatter (LOGGING)
        return target

    def _start(self) -> None:
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            # After a fork (gunicorn's workers) the parent's thread is not running here: each process has its own,
            # and its own queue (what the parent had queued is the parent's to write).
            self.queue = queue.Queue(self.QUEUE_SIZE)
            self._target = self._new_target()
            listener = logging.handlers.QueueListener(self.queue, self._target)
            try:
                listener.start()
            except RuntimeError:  # no thread to be had: records are written where they are logged
                self._listener = None
                return
            self._listener = listener
            atexit.register(self._stop, listener, self._pid)

    def _after_fork(self) -> None:
        self._start_lock = threading.Lock()  # another thread of the parent may have held it at the fork
        self._listener, self._target, self._pid = None, None, 0

    @staticmethod
    def _stop(listener: logging.handlers.QueueListener, pid: int) -> None:
        # A forked child inherits its parent's exit handlers, not their thread; a stopped listener has none.
        if os.getpid() == pid and listener._thread is not None:
            listener.stop()  # writes what is still queued


_traceback_formatter = logging.Formatter()
