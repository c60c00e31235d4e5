"""The fuzz suite's list is complete: every URL of the site, every admin changelist (as Support and as
superuser) and every management command of ours has its line in tests/fuzz/endpoints.py. A new endpoint without
one fails here."""

from pathlib import Path

from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from tests.fuzz.endpoints import COMMANDS, ENDPOINTS

ROOT = Path(__file__).resolve().parent.parent.parent
SAMPLE = {"slug": "acme", "other_slug": "globex", "tenant_pk": "1", "user_pk": "1", "event_pk": "1",
          "setup_token": "x" * 43, "scim_token": "t", "scim_user": "u", "scim_group": "g",
          "scim_other": "o"}


def covered() -> set[tuple[str, str]]:
    """(URL name, persona) of every line."""
    names = set()
    for endpoint in ENDPOINTS:
        match = resolve(endpoint.path.format(**SAMPLE))
        names.add((match.view_name, endpoint.as_))
    return names


def site_url_names() -> set[str]:
    """The named URLs outside the admin (the admin is held to its changelists below)."""
    names = set()
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLPattern) and pattern.name:
            names.add(pattern.name)
        elif isinstance(pattern, URLResolver) and pattern.namespace != "admin":
            names.update(f"{pattern.namespace}:{p.name}" if pattern.namespace else p.name
                         for p in pattern.url_patterns if isinstance(p, URLPattern) and p.name)
    return names


def test_every_url_of_the_site_has_a_fuzz_line():
    lines = {name for name, _persona in covered()}

    assert sorted(site_url_names() - lines) == []


def test_every_admin_changelist_has_a_fuzz_line_for_support_staff_and_for_a_superuser():
    lines = covered()
    changelists = [f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
                   for model in admin.site._registry]  # no public way to list the registered models

    missing = [(name, persona) for name in changelists for persona in ("support", "superuser")
               if (name, persona) not in lines]
    assert missing == []


def test_every_management_command_of_ours_has_a_fuzz_line():
    ours = {path.stem for path in ROOT.glob("*/management/commands/*.py") if not path.stem.startswith("_")}

    assert sorted(ours - {command.name for command in COMMANDS}) == []
