"""Operators' logs: one JSON line per request and per login event, sharing the request id."""

import json
import logging
import subprocess
import sys

import pytest

from inigo_sso.logs import JsonFormatter
from tests.conftest import Browser
from tests.test_hardening import ROOT, production_env


def json_lines(caplog) -> list[dict]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(record)) for record in caplog.records
            if record.name in ("inigo.request", "accounts.login")]


def test_a_setup_step_is_logged_as_setup_not_as_a_login(caplog, db):
    from accounts.setup import setup_link_issue
    from tenants.setup import tenant_awaiting_create

    caplog.set_level(logging.INFO)
    setup_link_issue(tenant=tenant_awaiting_create(slug="newco", name="NewCo"), created_by="sam")

    (line,) = json_lines(caplog)
    assert (line["event"], line["reason"]) == ("setup", "setup_link_created")
    assert line["message"].startswith("setup success reason=setup_link_created ")


# Not inside a test transaction: a sign-in's login line is written when its own transaction commits, in the request.
@pytest.mark.django_db(transaction=True)
def test_a_login_logs_one_request_line_and_one_login_line_with_one_request_id(caplog, client, browser: Browser,
                                                                              provider, acme):
    caplog.set_level(logging.INFO)
    provider.set_user("alice", {"email": "alice@acme.test", "name": "Alice"})
    callback = provider.authorize(client.get("/oidc/initiate/", {"iss": provider.issuer})["Location"], "alice")
    caplog.clear()

    response = client.get(callback, HTTP_X_REQUEST_ID="lb-4711")

    assert response["X-Request-ID"] == "lb-4711"
    login, request = json_lines(caplog)
    assert login["event"] == "login"
    assert (login["request_id"], login["tenant"], login["outcome"], login["reason"]) == ("lb-4711", "acme", "success",
                                                                                         "ok")
    assert (request["event"], request["request_id"], request["tenant"]) == ("request", "lb-4711", "acme")
    assert (request["method"], request["path"], request["status"]) == ("GET", "/oidc/callback/acme/", 302)
    assert request["duration_ms"] >= 0
    assert "code=" not in json.dumps(request)


@pytest.mark.parametrize("header", ["", "has spaces", "x" * 65, "quote\"s"])
def test_it_makes_a_request_id_when_the_header_is_missing_or_odd(client, db, header):
    response = client.get("/healthz/", HTTP_X_REQUEST_ID=header)

    assert len(response["X-Request-ID"]) == 32
    assert response["X-Request-ID"] != header


def test_a_failed_login_is_logged_with_its_reason(caplog, client, db):
    caplog.set_level(logging.INFO)

    client.get("/oidc/callback/acme/", {"state": "forged", "code": "x"})

    login = next(line for line in json_lines(caplog) if line.get("event") == "login")
    assert (login["outcome"], login["reason"], login["tenant"]) == ("failure", "state_missing", None)


QUEUED_LOGGING = """
import json, logging, os, sys
import django
django.setup()
from inigo_sso.logs import request_id_var
request_id_var.set("rq-1")
log = logging.getLogger("inigo.request")
log.info("first %s", "line", extra={"event": "request", "status": 302})
try:
    raise ValueError("boom")
except ValueError:
    log.exception("second line")
# The parent's thread writes its two lines before the child logs: the order across processes is this script's, which
# the handler does not promise (a loaded machine may run the child first).
next(h for h in logging.getLogger().handlers if type(h).__name__ == "QueuedHandler").queue.join()
pid = os.fork()
if pid == 0:
    request_id_var.set("rq-child")
    log.info("from the child")
    sys.exit(0)
os.waitpid(pid, 0)
log.info("last line")
"""


def test_lines_are_written_by_a_thread_of_each_process_in_order_and_all_by_exit():
    """The console handler queues records (a request waits for no write); what is queued is written by exit, in
    each process, a forked worker's too, with the request id of the request that logged it."""
    result = subprocess.run([sys.executable, "-c", QUEUED_LOGGING], cwd=ROOT, env=production_env(),
                            capture_output=True, text=True, timeout=60, check=False)

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(line["message"], line["request_id"]) for line in lines] == [
        ("first line", "rq-1"), ("second line", "rq-1"), ("from the child", "rq-child"), ("last line", "rq-1"),
    ]
    assert (lines[0]["event"], lines[0]["status"]) == ("request", 302)
    assert "ValueError: boom" in lines[1]["exception"] and "Traceback" in lines[1]["exception"]


def test_without_its_thread_or_with_a_full_queue_a_line_is_written_where_it_is_logged(monkeypatch):
    import io
    import queue

    from inigo_sso.logs import QueuedHandler

    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    handler = QueuedHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    record = logging.LogRecord("inigo.request", logging.INFO, __file__, 1, "line %s", ("one",), None)

    handler.handle(record)
    handler._listener.stop()  # as at exit: every queued line is written, and the thread is gone
    assert stream.getvalue() == "line one\n"
    handler.handle(record)
    assert stream.getvalue() == "line one\nline one\n"

    handler._pid = 0  # a new thread and queue, as in a forked worker
    handler.handle(record)

    def full(item):
        raise queue.Full

    with monkeypatch.context() as patched:
        patched.setattr(handler.queue, "put_nowait", full)
        handler.handle(record)  # stderr not keeping up: written at once, not dropped
    handler._listener.stop()
    assert stream.getvalue().count("line one\n") == 4
