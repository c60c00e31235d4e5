"""Hostile input at every entry point of tests/fuzz/endpoints.py: never a 5xx, whoever sends it.

Fixed seed (derandomize) and no example database, so every run, here and in CI, sends the same requests; each
endpoint gets the number of examples its line states. Runs on SQLite and, in CI, on PostgreSQL, whose text
types refuse NUL: the database where hostile input used to reach a 500."""

import io
import json
import sys
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts.models import LoginEvent, Role, TenantGroup, User
from accounts.oidc.auth_time import AUTH_TIME_KEY
from scim.tokens import scim_token_issue
from tenants.models import Tenant
from tenants.setup import setup_link_create, tenant_awaiting_create
from tests.dns_server import DNSZone
from tests.fuzz.endpoints import COMMANDS, ENDPOINTS, Command, Endpoint

# What PostgreSQL text refuses, as a browser can send it (a session key is looked up only from 8 characters on).
UNSTORABLE = ["\x00", "a\x00b", "\ud800", "\udcff", "k" * 31 + "\x00"]
HOSTILE = [
    *UNSTORABLE, "%00", "", " ", "0", "-1", "1e309", "9" * 5000, "abc", "[]", "{}",
    "null", "true", "https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)",
    "http://127.0.0.1:1/", "http://169.254.169.254/", "acme.okta.com", "@acme.test", "a@b", "a" * 300 + "@acme.test",
    "../../admin/", "' OR 1=1 --", "<script>alert(1)</script>", "\u202e", "\ufeff", "日本語", "\r\nSet-Cookie: x=1",
]
# Values the endpoints accept, so that examples also get past the first check: {name} is filled in per test.
GOOD = {
    "iss": "{issuer}", "tenant": "{slug}", "slug": "{slug}", "action": ["check_connection", "transfer_ownership",
    "delete_selected"], "_selected_action": ["{tenant_pk}", "{user_pk}", "{event_pk}"], "email": "ada@acme.test",
    "login_hint": "ada@acme.test", "target_link_uri": "/api/me/", "next": "/", "select_across": ["0", "1"],
    "index": "0", "post": "yes", "o": ["1", "-2", "1.2"], "is_active__exact": ["0", "1"], "okta_domain": "{issuer}",
}
COOKIES = ["sessionid", "csrftoken", "messages", "__Host-sessionid", "axes", "x"]


def good_values(endpoint: Endpoint, name: str, known: dict[str, str]) -> list[str]:
    own = [value for param, value in endpoint.good if param == name]
    suite = GOOD.get(name, [])
    return [value.format(**known) for value in [*own, *([suite] if isinstance(suite, str) else suite)]] or ["1"]


def values(endpoint: Endpoint, name: str, known: dict[str, str]) -> st.SearchStrategy[str]:
    good = good_values(endpoint, name, known)
    return st.one_of(
        st.sampled_from(good),
        st.sampled_from(good).map(lambda value: value + "\x00"),  # past the first checks, then NUL
        st.sampled_from(UNSTORABLE),
        st.sampled_from(HOSTILE),
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=300, max_size=2000),
    )


def pairs(endpoint: Endpoint, known: dict[str, str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    names = st.sampled_from(endpoint.params) if endpoint.params else st.nothing()
    name = st.one_of(names, st.sampled_from(["x", "\x00", "csrfmiddlewaretoken", "_popup", "_to_field"]))
    return st.lists(name.flatmap(lambda n: st.tuples(st.just(n), values(endpoint, n, known))), max_size=8)


def encoded(pairs: list[tuple[str, str]]) -> str:
    """Percent-encoded as a browser would, lone surrogates as the bytes that are not UTF-8 they stand for."""
    return urlencode(pairs, encoding="utf-8", errors="surrogatepass")


@pytest.fixture
def known(acme: Tenant, provider: Any, globex: Tenant) -> dict[str, str]:
    member = User.objects.create(username="fuzz-member", tenant=acme, issuer=acme.issuer, sub="fuzz-member",
                                 email="ada@acme.test", role=Role.OWNER)
    User.objects.create(username="fuzz-other_admin", tenant=globex, issuer=globex.issuer, sub="fuzz-other-admin",
                        email="bob@globex.test", role=Role.ADMIN)
    event = LoginEvent.objects.create(kind="signin", tenant=acme, outcome="failure", reason="issuer_unknown")
    setup_token = setup_link_create(tenant=tenant_awaiting_create(slug="newco", name="NewCo")).token
    other = User.objects.create(username="fuzz-alan", tenant=acme, issuer=acme.issuer, sub="fuzz-alan",
                                email="alan@acme.test", role=Role.MEMBER, last_login=timezone.now())
    group = TenantGroup.objects.create(tenant=acme, display_name="Fuzzers")
    return {"issuer": provider.issuer, "slug": acme.slug, "other_slug": globex.slug, "tenant_pk": str(acme.pk),
            "user_pk": str(member.pk), "event_pk": str(event.pk), "setup_token": setup_token,
            "scim_token": scim_token_issue(tenant=acme), "scim_user": member.scim_id, "scim_group": group.scim_id,
            "scim_other": other.scim_id}


def signed_in(persona: str) -> Client:
    client = Client()
    if persona in ("member", "other_admin"):
        client.force_login(User.objects.get(username=f"fuzz-{persona}"),
                           backend="accounts.oidc.backend.TenantOIDCBackend")
        session = client.session
        session[AUTH_TIME_KEY] = int(time.time())  # signed in to Okta just now: changes need no round through it
        session.save()
    elif persona in ("support", "superuser"):
        staff = User.objects.create_user(f"fuzz-{persona}", password="unused-password-123",
                                         is_staff=True, is_superuser=persona == "superuser")
        if persona == "support":
            staff.groups.add(Group.objects.get(name="Support"))
        client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    return client


def first_examples(endpoint: Endpoint, known: dict[str, str]) -> list[dict[str, Any]]:
    """Sent whatever the seed: every parameter good but one, which holds NUL or "abc" (the review's findings: a
    NUL after a valid issuer, a non-numeric `_selected_action` with a real action), and a session cookie with NUL."""
    good = [(name, good_values(endpoint, name, known)[0]) for name in endpoint.params]
    cases = [[(name, "\x00") for name in endpoint.params]]
    for index, (name, value) in enumerate(good):
        for hostile in (value + "\x00", "abc"):
            cases.append([*good[:index], (name, hostile), *good[index + 1:]])
    cookies = [("sessionid", "k" * 31 + "\x00")] if endpoint.as_ == "anonymous" else []
    return [{"method": method, "query": [] if method == "POST" else case, "body": case, "cookies": cookies}
            for method in endpoint.methods for case in cases]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_no_input_makes_a_5xx(
    endpoint: Endpoint, known: dict[str, str], public_dns: list[str], dns_zone: DNSZone
) -> None:
    """`dns_zone`: Verify asks the loopback DNS server, which knows no name (NXDOMAIN at once)."""
    client = signed_in(endpoint.as_)
    path = endpoint.path.format(**known)
    headers = {name: value.format(**known) for name, value in endpoint.headers}
    cookie = st.tuples(st.sampled_from(COOKIES), st.sampled_from(UNSTORABLE) | st.sampled_from(HOSTILE)
                       | st.text(max_size=20))
    if endpoint.as_ != "anonymous":  # keep the session cookie the persona signed in with
        cookie = cookie.filter(lambda pair: "session" not in pair[0])

    @settings(max_examples=endpoint.examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(method=st.sampled_from(endpoint.methods), query=pairs(endpoint, known), body=pairs(endpoint, known),
           cookies=st.lists(cookie, max_size=2))
    def run(method: str, query: list[tuple[str, str]], body: list[tuple[str, str]],
            cookies: list[tuple[str, str]]) -> None:
        saved = dict(client.cookies.items())
        for name, value in cookies:
            # A server hands the Cookie header's bytes to WSGI as latin-1 text (PEP 3333): send what it would.
            client.cookies[name] = value.encode("utf-8", "surrogatepass").decode("latin-1")
        if endpoint.body == "json":  # NUL and lone surrogates arrive as \u escapes, past the middleware
            data, content_type = json.dumps(dict(body)), "application/json"
        else:
            data, content_type = encoded(body), "application/x-www-form-urlencoded"
        try:
            response = client.generic(method, f"{path}?{encoded(query)}" if query else path, data,
                                      content_type=content_type, headers=headers)
        finally:
            for name, _value in cookies:
                if name in saved:
                    client.cookies[name] = saved[name]
                else:
                    client.cookies.pop(name, None)
        assert response.status_code < 500, (method, path, query, body, cookies, response.content[:300])

    for explicit in first_examples(endpoint, known):
        run = example(**explicit)(run)
    with override_settings(SSO_RATE_LIMIT="off"):
        run()


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_no_argument_makes_a_command_crash(command: Command, known: dict[str, str], public_dns: list[str],
                                           monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Bad arguments end in a CommandError (a message and a non-zero exit), never a traceback."""
    from accounts.management.commands import failures_table

    monkeypatch.setattr(failures_table, "README", tmp_path / "README.md")  # --write never touches the real one
    word = st.one_of(st.sampled_from(command.words or ("x",)), st.sampled_from(HOSTILE), st.text(max_size=30))

    @settings(max_examples=command.examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(argv=st.lists(word, max_size=8), stdin=st.sampled_from(HOSTILE) | st.text(max_size=30))
    def run(argv: list[str], stdin: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            call_command(command.name, *argv, stdout=io.StringIO(), stderr=io.StringIO())
        except CommandError:
            pass
        except SystemExit as exit:  # --help and --version print and exit 0
            assert exit.code == 0, argv

    run()

