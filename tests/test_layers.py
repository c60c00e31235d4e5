"""Imports run one way: a lower layer never imports a higher one. The provider package (okta) knows nothing of
tenants or accounts; tenants knows nothing of accounts; activity (a tenant's health and events, read by support and the
customer console alike) sits above accounts and scim; the customer console (console) above activity; only support and
the URL configuration see everything."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package -> the first-party packages it must never import
FORBIDDEN = {
    "okta": {"tenants", "accounts", "scim", "activity", "onboarding", "console", "support"},
    "tenants": {"accounts", "scim", "activity", "onboarding", "console", "support"},
    "accounts": {"scim", "activity", "onboarding", "console", "support"},
    "scim": {"activity", "onboarding", "console", "support"},
    "activity": {"onboarding", "console", "support"},
    "onboarding": {"console", "support"},
    "console": {"onboarding", "support"},
}
HELPERS = {"inigo_sso.env", "inigo_sso.client_ip", "inigo_sso.failures", "inigo_sso.text", "inigo_sso.commands",
           "inigo_sso.references", "inigo_sso.redaction"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            if node.module == "inigo_sso":  # `from inigo_sso import urls` imports inigo_sso.urls
                names.update(f"inigo_sso.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names.add("<relative import>")  # the project writes absolute imports; a relative one hides its layer
    return names


def sources(package: str) -> list[Path]:
    return [path for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_it_keeps_each_layer_from_importing_a_higher_one(package):
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sources(package)
        for module in imported_modules(path)
        if module.split(".")[0] in FORBIDDEN[package]
        or module == "<relative import>"
        or (module.startswith("inigo_sso") and module not in HELPERS and module != "inigo_sso")
    ]
    assert wrong == []


def test_the_check_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from accounts.models import User\nfrom inigo_sso import urls\nfrom . import sibling\n")
    assert {"accounts.models", "inigo_sso.urls", "<relative import>"} <= imported_modules(bad)
