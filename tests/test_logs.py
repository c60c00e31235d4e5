"""Operators' logs: one JSON line per request and per login event, sharing the request id."""

import json
import logging

import pytest

from inigo_sso.logs import JsonFormatter
from tests.conftest import Browser


def json_lines(caplog) -> list[dict]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(record)) for record in caplog.records
            if record.name in ("inigo.request", "accounts.login")]


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
