"""Production settings refuse the development secrets with a message that says what to do."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_check(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SSO_"))}
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args], cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "inigo_sso.settings", **env},
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_it_refuses_the_development_secret_key_when_debug_is_off():
    result = run_check(DJANGO_DEBUG="false")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_it_refuses_to_run_without_encryption_keys_when_debug_is_off():
    result = run_check(DJANGO_DEBUG="false", DJANGO_SECRET_KEY="k" * 50)

    assert result.returncode != 0
    assert "SSO_ENCRYPTION_KEYS is not set" in result.stderr


def test_it_starts_in_development_with_no_configuration():
    result = run_check(DJANGO_DEBUG="true")

    assert result.returncode == 0, result.stderr


def test_it_refuses_a_malformed_boolean():
    result = run_check(DJANGO_DEBUG="maybe")

    assert result.returncode != 0
    assert "DJANGO_DEBUG must be true or false" in result.stderr


def test_a_fresh_clone_on_sqlite_starts_without_a_warning(tmp_path: Path):
    # The database checks are the ones `make run`'s migrate prints (models.W040 on SQLite, once).
    result = run_check("--database", "default", DJANGO_DEBUG="true",
                       DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}")

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr
