"""Fixtures of the browser tests: Inigo as a real server (gunicorn, production settings, its own SQLite file),
the local identity provider (devidp) that plays the customer's Okta, and Debian's Chromium driven by Playwright.

Nothing here touches the Django test database: the app runs in another process, set up with manage.py."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.fernet import Fernet

from devidp import demo
from devidp.server import LocalIdentityProvider, serve_in_thread

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = ("127.0.0.1", "localhost")
# axe-core, the accessibility engine, installed by `make e2e-deps` (npm, pinned in the Makefile).
AXE_CORE = Path(os.environ.get("E2E_AXE_CORE", ROOT / ".e2e-node" / "node_modules" / "axe-core" / "axe.min.js"))
# What a page may not have: axe's "serious" and "critical" impacts (WCAG 2.x A and AA rules).
BLOCKING_IMPACTS = ("serious", "critical")
_screenshots_taken: list[Path] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _screenshots_taken:
        terminalreporter.write_line(f"Browser test screenshots ({len(_screenshots_taken)}): {SCREENSHOTS}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Inigo:
    """The app as a browser meets it, and the way to set it up (manage.py with the server's environment)."""

    url: str
    env: dict[str, str]
    log: Path

    def manage(self, *args: str, stdin: str = "") -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, input=stdin, capture_output=True,
            text=True, timeout=60, check=False,
        )
        assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout


@pytest.fixture(scope="module")
def app_port() -> int:
    return _free_port()


@pytest.fixture(scope="module")
def identity_provider(app_port: int) -> Iterator[LocalIdentityProvider]:
    with serve_in_thread(app_url=f"http://127.0.0.1:{app_port}") as provider:
        yield provider


@pytest.fixture(scope="module")
def inigo_env() -> dict[str, str]:
    """More environment for the server; a test module overrides this fixture, e.g. to point SSO_DNS_NAMESERVERS
    at a DNS server it runs."""
    return {}


@pytest.fixture(scope="module")
def inigo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, app_port: int,
    identity_provider: LocalIdentityProvider, inigo_env: dict[str, str],
) -> Iterator[Inigo]:
    """gunicorn with DEBUG off, as in production, but on plain http and loopback; a fresh database; one tenant
    (the demo organisation) whose Okta is the local identity provider. Two workers, or INIGO_WORKERS of the test
    module (one: what a worker keeps in its own memory, without Redis, is what every page shows); a module's
    `inigo_env` fixture adds settings (a DNS server, a short SSO_RECENT_AUTH_SECONDS)."""
    folder = tmp_path_factory.mktemp("inigo")
    # Only what this server is told: nothing from the test run's own settings (DJANGO_SETTINGS_MODULE, a CI
    # DATABASE_URL) leaks in.
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("DJANGO_", "SSO_", "DATABASE_", "REDIS_", "GUNICORN_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "tests.e2e.server_settings",
        "E2E_STATIC_ROOT": str(folder / "staticfiles"),
        "DATABASE_URL": f"sqlite:///{folder / 'e2e.sqlite3'}",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "e2e-" + Fernet.generate_key().decode(),
        "SSO_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DJANGO_HTTPS": "false",
        "SSO_ALLOW_INSECURE_ISSUERS": "true",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
        "SSO_PUBLIC_URL": f"http://127.0.0.1:{app_port}",
        "GUNICORN_ACCESS_LOG": "-",  # gunicorn's access log too, into the server log: no token may reach it
    })
    env.update(inigo_env)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    server = Inigo(url=f"http://127.0.0.1:{app_port}", env=env, log=SCREENSHOTS / "inigo-server.log")
    server.manage("migrate", "--no-input", "-v0")
    server.manage("collectstatic", "--no-input", "-v0")
    server.manage(
        "add_tenant", demo.TENANT_SLUG, "--name", demo.TENANT_NAME, "--okta-domain", identity_provider.issuer,
        "--client-id", demo.TENANT_CLIENT_ID, "--email-domain", demo.TENANT_EMAIL_DOMAIN,
        stdin=demo.TENANT_CLIENT_SECRET + "\n",
    )
    with server.log.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{app_port}",
             "--workers", str(getattr(request.module, "INIGO_WORKERS", 2)), "inigo_sso.wsgi"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_healthy(server, process)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(server: Inigo, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{server.log.read_text()[-3000:]}")
        try:
            if requests.get(f"{server.url}/healthz/", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still loading Django
            pass
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not answer /healthz/ within 20 seconds:\n{server.log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def chromium() -> Iterator["Browser"]:
    """Debian's Chromium, headless. Module scope: Playwright's event loop must be gone before the Django tests
    (which refuse to touch the database while an event loop runs) start."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # launch() gives every run a fresh, temporary user data dir (profile).
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Screenshots:
    """Numbered, full-page screenshots of each step, for people to look at (test-artifacts/e2e/)."""

    folder: Path

    def __call__(self, page: "Page", name: str, *, full_page: bool = True) -> Path:
        """full_page=False: only what the window shows (1280 x 800 unless the test changed it)."""
        path = self.folder / f"{len(_screenshots_taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        _screenshots_taken.append(path)
        return path


@pytest.fixture(scope="session")
def shoot() -> Screenshots:
    if SCREENSHOTS.exists():
        for old in SCREENSHOTS.glob("*.png"):
            old.unlink()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return Screenshots(SCREENSHOTS)


class People:
    """Each person gets their own browser window (context): their own cookies, as on their own laptop. Every
    request that leaves 127.0.0.1 is refused and remembered: the pages must need nothing from the internet."""

    def __init__(self, browser: "Browser", base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.contexts: list[BrowserContext] = []
        self.external_requests: list[str] = []

    def new(self, *, width: int = 1280, height: int = 800) -> "Page":
        context = self.browser.new_context(base_url=self.base_url, viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        context.route("**/*", self._only_local)
        self.contexts.append(context)
        # What the Content-Security-Policy blocks (an inline style or script) on each page, for assert_accessible.
        context.add_init_script(CSP_LISTENER)
        return context.new_page()

    def _only_local(self, route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.external_requests.append(route.request.url)
            route.abort()

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def people(chromium: "Browser", inigo: Inigo) -> Iterator[People]:
    crowd = People(chromium, inigo.url)
    yield crowd
    crowd.close()
    assert crowd.external_requests == [], "pages asked for assets outside 127.0.0.1"



CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || event.sample} at ${event.sourceFile}:${event.lineNumber}`
));
"""


def assert_accessible(page: "Page") -> None:
    """axe-core finds no serious or critical violation on the page as it is now; and, before axe runs (it sets
    inline styles of its own while it measures), the page's Content-Security-Policy has blocked nothing."""
    blocked = page.evaluate("() => window.__cspViolations || []")
    assert blocked == [], f"the Content-Security-Policy blocked something on {page.url}: {blocked}"
    if not AXE_CORE.exists():
        pytest.skip(f"needs axe-core at {AXE_CORE}: run `make e2e-deps` (npm install of the pinned axe-core)")
    # Injected through the DevTools protocol: the page's CSP (script-src 'self') is left as it is.
    page.evaluate(AXE_CORE.read_text())
    results = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations'], runOnly: {type: 'tag', "
        "values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
    )
    blocking = [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        for violation in results["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]
    assert blocking == [], f"accessibility violations on {page.url}:\n" + "\n".join(blocking)


def assert_fits(page: "Page", selector: str = "#result_list") -> None:
    """Nothing to scroll sideways: the table (and the page) are no wider than what shows them."""
    widths = page.evaluate(
        """(selector) => {
            const table = document.querySelector(selector);
            const box = table.parentElement;
            return {table: [table.scrollWidth, table.clientWidth], box: [box.scrollWidth, box.clientWidth],
                    page: [document.documentElement.scrollWidth, document.documentElement.clientWidth]};
        }""",
        selector,
    )
    for part, (scroll_width, client_width) in widths.items():
        assert scroll_width <= client_width, f"{part} of {selector} overflows: {widths} at {page.url}"
