"""Review of the hot path (accounts.hot_path, accounts.oidc.callback_read, accounts.session_store): each test
runs the sign-in as production does (autocommit on PostgreSQL: the two-message transaction), not inside a test's
transaction.atomic(), where hot_path.SignIn falls back to atomic() and hides what the messages do."""

from typing import Any

import pytest
from django.test import Client

from accounts.models import LoginEvent, User
from tests.conftest import Browser, profile

pytestmark = pytest.mark.django_db(transaction=True)


def test_another_person_signing_in_over_a_signed_in_session_is_signed_in_not_a_500(postgres, browser: Browser,
                                                                                  client: Client, provider, acme):
    """auth.login flushes a session that holds another person (Django: "to avoid reusing another user's session");
    the flush deletes the old row with QuerySet.delete(), which enters transaction.atomic(): between the sign-in's
    two messages that is psycopg's "can't change 'autocommit' now", a 500."""
    assert browser.login(provider, "alice").status_code == 302
    alices_key = client.cookies["sessionid"].value
    # The same organisation's login again (no switch page: it is the organisation this browser is signed in to);
    # Okta now has bob signed in (a shared computer).
    response = browser.login(provider, "bob", path="/oidc/authenticate/", params={"tenant": "acme"})
    assert response.status_code == 302, response.content[:300]
    assert browser.me().json()["email"] == "bob@acme.test"
    from django.conf import settings
    from django.contrib.sessions.models import Session

    # alice's session row is gone (taken over), bob's is the only one, under a key of its own
    assert list(Session.objects.values_list("pk", flat=True)) == [client.cookies[settings.SESSION_COOKIE_NAME].value]
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != alices_key  # a new key (session fixation)
    assert LoginEvent.objects.filter(reason="ok", user__sub="bob").count() == 1


def _terminate_own_backend() -> None:
    """pg_terminate_backend of this thread's connection, sent from another one (a restart, a failover)."""
    import psycopg
    from django.db import connection

    pid = connection.connection.info.backend_pid
    settings = connection.get_connection_params()
    settings.pop("cursor_factory", None)
    settings.pop("context", None)
    with psycopg.connect(**settings, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_a_connection_killed_between_the_two_messages_is_the_503_page_and_the_next_request_works(
        postgres, provider, acme, monkeypatch):
    from accounts import services

    client = Client(raise_request_exception=False)
    browser = Browser(client)
    real_new = services.login_event_new

    def new_then_killed(*args: Any, **kwargs: Any) -> Any:
        _terminate_own_backend()  # after "BEGIN; DELETE ...", before "INSERT; INSERT; COMMIT"
        return real_new(*args, **kwargs)

    monkeypatch.setattr(services, "login_event_new", new_then_killed)
    response = browser.login(provider, "alice")
    assert response.status_code == 503, (response.status_code, response.content[:300])
    monkeypatch.setattr(services, "login_event_new", real_new)
    from django.db import close_old_connections
    close_old_connections()  # what request_finished does in a server (the test client leaves it out)
    assert not LoginEvent.objects.filter(reason="ok").exists()
    assert browser.login(provider, "alice").status_code == 302
    assert browser.me().json()["email"] == "alice@acme.test"


def test_a_person_without_a_tenant_is_read_with_no_tenant_as_the_orm_reads_them(db):
    """User.tenant is nullable (staff); select_related's LEFT OUTER JOIN then gives a row of NULLs for the tenant,
    which Django's RelatedPopulator turns into None. from_db on those NULLs makes a Tenant with no pk."""
    from accounts import hot_path

    staff = User.objects.create(username="staff-1", is_staff=True)
    orm = User.objects.select_related("tenant").defer("tenant__client_secret").get(pk=staff.pk)
    ours = hot_path.person_with_tenant(staff.pk)
    assert orm.tenant is None
    assert ours.tenant is None


@pytest.mark.parametrize("text", ["100% %s %(x)s %% '; COMMIT; ROLLBACK; --", "back\\slash \" $$ $tag$"])
def test_values_with_percent_signs_quotes_and_semicolons_go_through_the_messages_as_values(postgres, provider, acme,
                                                                                           text):
    client = Client(HTTP_USER_AGENT=text)
    client.cookies["sessionid"] = "k" * 8 + text.replace(" ", "")  # an unknown key, read with the tenant
    browser = Browser(client)
    provider.set_user("alice", profile("alice"))
    started = client.get("/oidc/initiate/", {"iss": provider.issuer})
    callback = provider.authorize(started["Location"], "alice")
    response = client.get(callback)
    assert response.status_code == 302
    assert LoginEvent.objects.get(reason="ok").user_agent == text
    assert browser.me().json()["email"] == "alice@acme.test"


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("status", [200, 302, 403, 404, 500, 503])
def test_the_policy_built_once_is_django_csps_for_every_response(rf, settings, debug, status):
    import csp.middleware
    from django.http import HttpResponse

    from inigo_sso.middleware import CSPMiddleware

    settings.DEBUG = debug

    def answer(request: Any) -> HttpResponse:
        return HttpResponse(status=status)

    headers = []
    for middleware in (csp.middleware.CSPMiddleware(answer), CSPMiddleware(answer)):
        request = rf.get("/org/")
        response = middleware(request)
        headers.append(response.headers.get("Content-Security-Policy"))
    assert headers[0] == headers[1]


def test_a_head_callback_and_a_callback_at_another_tenants_slug_are_answered_as_before(postgres, client, provider,
                                                                                      other_provider, acme, globex):
    provider.set_user("alice", profile("alice"))
    callback = provider.authorize(client.get("/oidc/initiate/", {"iss": provider.issuer})["Location"], "alice")
    elsewhere = callback.replace("/oidc/callback/acme/", "/oidc/callback/globex/")
    response = client.get(elsewhere)  # read with globex's row by the middleware: refused, no code sent anywhere
    assert response.status_code == 400
    assert LoginEvent.objects.get().reason == "callback_tenant_mismatch"
    assert provider.token_requests == [] and other_provider.token_requests == []
    assert client.head(callback).status_code == 405  # the callback answers GET only: no read, no sign-in


def test_a_slug_given_to_another_tenant_during_the_login_never_sends_the_code_to_that_tenants_okta(
        postgres, client, provider, other_provider, acme, globex):
    from tenants.models import Tenant

    provider.set_user("alice", profile("alice"))
    callback = provider.authorize(client.get("/oidc/initiate/", {"iss": provider.issuer})["Location"], "alice")
    Tenant.objects.filter(pk=acme.pk).update(slug="acme-old")
    Tenant.objects.filter(pk=globex.pk).update(slug="acme")  # the URL's slug now names globex
    response = client.get(callback)
    assert response.status_code == 400
    assert LoginEvent.objects.get().reason == "callback_tenant_mismatch"
    assert LoginEvent.objects.get().tenant_id == acme.pk  # the state entry's tenant, read by its id
    assert provider.token_requests == [] and other_provider.token_requests == []
