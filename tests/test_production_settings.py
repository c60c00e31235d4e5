"""Production settings pass Django's deployment checks; pages carry a Content Security Policy they satisfy."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_check_deploy_reports_nothing_under_production_settings():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SSO_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "inigo_sso.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "vJ7#kq2!Lm9@xP4$wZ8^nB3&cF6*hT1(yR5)sD0-gK7+eU2=aQ9",
        "SSO_ENCRYPTION_KEYS": "QNeEoRF8-ncL6zWBzuDdb8a4fBC2hvuVjXzXZW64ixM=",
        "DJANGO_ALLOWED_HOSTS": "inigo.example.com",
    })
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_pages_carry_a_strict_content_security_policy(client, db):
    response = client.get("/login/")

    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert b"<script" not in response.content  # nothing inline for the policy to block
    assert b"style=" not in response.content
    assert b"https://" not in response.content  # no external asset


def test_session_and_csrf_cookies_are_httponly_and_lax(client, db):
    response = client.get("/login/")

    csrf = response.cookies["csrftoken"]
    assert csrf["httponly"] and csrf["samesite"] == "Lax"
