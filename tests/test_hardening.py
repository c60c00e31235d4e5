"""The review's low findings: cookie prefixes, cache headers on signed-in pages, HSTS as a choice, a bounded
max-age, the typed email kept apart, the session table kept small, and quiet, stderr-only logs."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone

from accounts.models import LoginEvent
from okta import provider as okta_provider
from tests.conftest import Browser

ROOT = Path(__file__).resolve().parent.parent


def production_env(**environment: str) -> dict[str, str]:
    """This process's environment with production settings (DEBUG off) instead of the tests'."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SSO_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "inigo_sso.settings",
        "DJANGO_SECRET_KEY": "vJ7#kq2!Lm9@xP4$wZ8^nB3&cF6*hT1(yR5)sD0-gK7+eU2=aQ9",
        "SSO_ENCRYPTION_KEYS": "QNeEoRF8-ncL6zWBzuDdb8a4fBC2hvuVjXzXZW64ixM=",
        "DJANGO_ALLOWED_HOSTS": "inigo.example.com",
        **environment,
    })
    return env


def production(script: str, **environment: str) -> dict:
    """Run `script` under production settings (DEBUG off) and return the JSON it prints."""
    env = production_env(**environment)
    prelude = "import django, json; django.setup()\nfrom django.conf import settings\n"
    result = subprocess.run([sys.executable, "-c", prelude + script], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else {"stderr": result.stderr}


def test_under_https_the_session_and_csrf_cookies_carry_the_host_prefix():
    sent = production(
        "from django.test import Client, override_settings\n"
        "static = {**settings.STORAGES, 'staticfiles': {'BACKEND': "
        "'django.contrib.staticfiles.storage.StaticFilesStorage'}}\n"  # no collectstatic manifest here
        "with override_settings(STORAGES=static):\n"
        "    response = Client().get('/login/', secure=True, HTTP_HOST='inigo.example.com')\n"
        "print(json.dumps({name: dict(morsel.items()) for name, morsel in response.cookies.items()}))\n"
    )

    # RFC 6265bis 4.1.3.2: a __Host- cookie must be Secure, with Path=/ and no Domain, or browsers drop it.
    assert list(sent) == ["__Host-csrftoken"]
    cookie = sent["__Host-csrftoken"]
    assert cookie["secure"] is True and cookie["path"] == "/" and cookie["domain"] == ""
    names = production("print(json.dumps([settings.SESSION_COOKIE_NAME, settings.SESSION_COOKIE_DOMAIN]))")
    assert names == ["__Host-sessionid", None]


def test_without_https_the_cookies_keep_their_plain_names(client, db):
    assert "csrftoken" in client.get("/login/").cookies


@pytest.mark.parametrize(("environment", "header"), [
    ({}, "max-age=31536000"),
    ({"DJANGO_HSTS_INCLUDE_SUBDOMAINS": "true"}, "max-age=31536000; includeSubDomains"),
    ({"DJANGO_HSTS_INCLUDE_SUBDOMAINS": "true", "DJANGO_HSTS_PRELOAD": "true"},
     "max-age=31536000; includeSubDomains; preload"),
])
def test_hsts_reaches_subdomains_and_the_preload_list_only_when_chosen(environment, header):
    sent = production(
        "from django.test import Client\n"
        "response = Client().get('/healthz/', secure=True, HTTP_HOST='inigo.example.com')\n"
        "print(json.dumps({'hsts': response.headers.get('Strict-Transport-Security')}))\n",
        **environment,
    )

    assert sent == {"hsts": header}


@pytest.mark.parametrize("path", ["/", "/api/me/", "/login/", "/oidc/logout/"])
def test_signed_in_pages_are_private_and_never_stored(client, browser: Browser, provider, acme, path):
    browser.login(provider, "alice")

    response = client.get(path)

    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives


def test_the_admin_signed_in_is_private_too(admin_client):
    directives = admin_client.get("/admin/")["Cache-Control"]
    assert "private" in directives and "no-store" in directives


def test_a_page_that_reads_no_session_is_not_marked_private(client, db):
    assert "Cache-Control" not in client.get("/no-such-page/")


@pytest.mark.parametrize(("header", "ttl"), [
    ("max-age=" + "9" * 5000, okta_provider.KEYS_TTL_MAX),
    ("public, max-age=" + "1" * 10, okta_provider.KEYS_TTL_MAX),
    ("max-age=600", 600),
    ("max-age=1", okta_provider.KEYS_TTL_MIN),
    ("no-cache", okta_provider.KEYS_TTL_DEFAULT),
])
def test_a_keys_max_age_of_any_length_gives_a_bounded_ttl(header, ttl):
    assert okta_provider._keys_ttl(header) == ttl


def test_a_login_hint_is_kept_as_typed_and_unverified_never_as_the_events_email(client, db):
    client.get("/oidc/initiate/", {"iss": "https://unknown.okta.com", "login_hint": "ceo@victim.test"})
    client.post("/login/", {"email": "someone@nowhere.test"})

    events = LoginEvent.objects.order_by("created_at")
    assert [(event.email, event.typed_email) for event in events] == [
        ("", "ceo@victim.test"), ("", "someone@nowhere.test"),
    ]


def test_clearsessions_removes_expired_sessions_and_keeps_live_ones(browser: Browser, provider, acme):
    browser.login(provider, "alice")
    Session.objects.create(session_key="x" * 32, session_data="", expire_date=timezone.now() - timedelta(days=1))

    call_command("clearsessions")

    assert list(Session.objects.values_list("session_key", flat=True)) == [browser.client.session.session_key]
    assert browser.me().status_code == 200


def test_commands_announce_nothing_and_logs_go_to_stderr():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SSO_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "tests.settings"})
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60, check=False)

    assert result.returncode == 0
    assert "AXES" not in result.stdout + result.stderr  # django-axes' banner (AXES_VERBOSE)
    assert result.stdout.startswith("System check identified no issues")
    logged = production("import logging, sys\nlogging.getLogger('inigo.test').warning('to stderr')\n")
    assert "to stderr" in logged["stderr"]


def test_the_rate_limit_page_reads_like_every_other_failure_page(client, db, settings):
    settings.SSO_RATE_LIMIT = "1/m"
    client.get("/oidc/initiate/", {"iss": "https://unknown.okta.com"})

    page = client.get("/oidc/initiate/", {"iss": "https://unknown.okta.com"})

    assert page.status_code == 429
    assert b"Sign-in stopped" in page.content and b"Go to the Inigo login page" in page.content
    assert b"<code>rate_limited</code>" in page.content
    assert LoginEvent.objects.count() == 1  # the refused request records nothing

