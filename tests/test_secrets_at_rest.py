"""After a full login, no client secret, authorization code or token is stored anywhere in plaintext."""

import json

from django.apps import apps
from django.contrib.sessions.models import Session
from django.db import connection

from tests.conftest import ACME_SECRET, Browser
from tests.oidc_provider import query_of


def database_text() -> str:
    """Every row of every table of the app, as text, plus each session's decoded payload."""
    chunks = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (table names from the app registry)
            chunks.extend(repr(row) for row in cursor.fetchall())
    for session in Session.objects.all():
        chunks.append(json.dumps(session.get_decoded()))
    return "\n".join(chunks)


def test_no_secret_code_or_token_is_stored_in_plaintext(client, browser: Browser, provider, acme):
    provider.set_user("alice", {"email": "alice@acme.test", "name": "Alice"})
    callback = provider.authorize(client.get("/oidc/initiate/", {"iss": provider.issuer})["Location"], "alice")
    code = query_of(callback)["code"]
    assert client.get(callback).status_code == 302
    acme.post_logout_redirect_uri = "http://testserver/login/"
    acme.save()

    stored = database_text()

    assert "alice@acme.test" in stored  # the dump does see the data
    assert ACME_SECRET not in stored
    assert code not in stored
    assert len(provider.issued) == 2
    for token in provider.issued:
        assert token not in stored
        assert token.split(".")[-1] not in stored


def test_no_secret_code_or_token_reaches_a_log_line(caplog, client, browser: Browser, provider, acme,
                                                    django_capture_on_commit_callbacks):
    import logging

    caplog.set_level(logging.DEBUG)
    provider.set_user("alice", {"email": "alice@acme.test"})  # no name: userinfo is called with the access token
    callback = provider.authorize(client.get("/oidc/initiate/", {"iss": provider.issuer})["Location"], "alice")
    with django_capture_on_commit_callbacks(execute=True):  # the sign-in's login line: at its commit
        assert client.get(callback).status_code == 302
    assert client.get(callback).status_code == 400  # a failure is logged too

    # The provider's own request log (werkzeug, oidc_provider_mock) is the provider's, not ours.
    ours = "\n".join(record.getMessage() for record in caplog.records
                     if not record.name.startswith(("werkzeug", "oidc_provider_mock", "authlib")))
    assert "login success reason=ok" in ours and "reason=state_missing" in ours
    # (`state` is no secret: it travels in the browser's address bar, and the test browser's requests log it.)
    secrets = [ACME_SECRET, query_of(callback)["code"], *provider.issued]
    for secret in secrets:
        assert secret not in ours
