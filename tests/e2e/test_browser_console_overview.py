"""The console's overview, events and settings in a real browser at 1280 x 800, as the demo organisation's owner Ada
and admin Grace meet them: a healthy organisation, then one whose Uma is refused by Okta, her reference found on
Events, new credentials that Okta refused and then accepted, and a new SCIM token that works while the old one
answers 401. Screenshots of each page for a person to judge (test-artifacts/e2e/)."""

import re

import pytest

pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install 'playwright>=1.45'")

import requests
from playwright.sync_api import Page, expect

from devidp import demo
from devidp.server import LocalIdentityProvider
from tests.e2e.conftest import CHROMIUM, Inigo, People, Screenshots
from tests.e2e.test_browser_console import look, make_admin
from tests.e2e.test_truthful_pages import sign_in_with_okta

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
)

ADA, GRACE, ALAN, UMA = demo.DEMO_PEOPLE


def uma_refused(people: People, identity_provider: LocalIdentityProvider) -> str:
    """Uma, not assigned to the app in Okta, tries to sign in: the reference her page shows."""
    uma = people.new()
    sign_in_with_okta(uma, identity_provider, UMA)
    expect(uma.get_by_role("heading", name="You are not assigned to Inigo in Okta")).to_be_visible()
    return uma.locator(".reference-code").inner_text()


def scim_status(inigo: Inigo, token: str) -> int:
    return requests.get(f"{inigo.url}/scim/v2/Users", headers={"Authorization": f"Bearer {token}"},
                        timeout=10).status_code


def rotate(page: Page, client_id: str, client_secret: str) -> None:
    page.get_by_role("textbox", name="Client ID").fill(client_id)
    page.get_by_label("Client Secret", exact=True).fill(client_secret)
    page.get_by_role("button", name="Check and save").click()


def test_overview_events_and_settings_as_owner_and_admin(
    people: People, inigo: Inigo, identity_provider: LocalIdentityProvider, shoot: Screenshots
):
    ada, grace = people.new(), people.new()
    for page, person in ((ada, ADA), (grace, GRACE)):
        sign_in_with_okta(page, identity_provider, person)
    make_admin(inigo, GRACE.email, demo.TENANT_SLUG)

    # A healthy organisation: sign-ins only succeed, and Check now passes.
    ada.goto("/")
    ada.get_by_role("link", name="Open the console").click()
    expect(ada.get_by_role("heading", name="Overview")).to_be_visible()
    expect(ada.locator(".console-nav a").first).to_have_text("Overview")
    expect(ada.locator("main")).to_contain_text("No failed sign-ins in the last 7 days")
    ada.get_by_role("button", name="Check now").click()
    expect(ada.get_by_role("status")).to_contain_text("Connection check passed")
    expect(ada.get_by_role("status")).to_be_in_viewport()
    expect(ada.locator("#connection")).to_contain_text("No problems")
    look(ada, shoot, "console-overview-healthy")
    ada.locator("#okta-values-heading").evaluate("heading => heading.scrollIntoView()")
    expect(ada.locator(".okta-values")).to_contain_text(f"{inigo.url}/scim/v2/")
    look(ada, shoot, "console-overview-okta-values")

    # Uma is refused twice: the admin sees the failures, and finds Uma's event by the reference she reads out.
    uma_refused(people, identity_provider)
    reference = uma_refused(people, identity_provider)
    grace.goto("/org/")
    expect(grace.locator(".health-reasons")).to_contain_text("not assigned")
    expect(grace.locator("main")).to_contain_text(reference)
    look(grace, shoot, "console-overview-with-failures")
    grace.goto("/org/events/")
    grace.get_by_label("Reference, exact email or sub").fill(reference.lower())
    grace.get_by_role("button", name="Show").click()
    expect(grace.locator("table.events tbody tr")).to_have_count(1)
    expect(grace.locator("table.events")).to_contain_text(reference)
    look(grace, shoot, "console-events-search-by-reference")

    # New credentials: Okta refuses the first Client ID (nothing saved), accepts the second (saved, then used).
    grace.goto("/org/settings/")
    expect(grace.get_by_label("Okta domain")).to_be_disabled()
    expect(grace.locator("#scim")).to_contain_text("Only the organisation's owner issues a SCIM token")
    rotate(grace, demo.REFUSED_CLIENT_ID, "a-new-secret-from-okta")
    expect(grace.get_by_role("alert").first).to_contain_text("Nothing was saved: Okta did not accept these credentials")
    expect(grace.locator("#credentials")).to_contain_text(f"Client ID {demo.TENANT_CLIENT_ID}")
    look(grace, shoot, "console-settings-rotation-failed")
    rotate(grace, "inigo-demo-rotated", "a-new-secret-from-okta")
    expect(grace.get_by_role("status")).to_contain_text("passed every check and are saved")
    expect(grace.get_by_role("status")).to_be_in_viewport()
    expect(grace.locator("#credentials")).to_contain_text("Client ID inigo-demo-rotated")
    look(grace, shoot, "console-settings-rotation-passed")
    alan = people.new()
    sign_in_with_okta(alan, identity_provider, ALAN)  # the next sign-in, with the new values
    expect(alan.locator("main")).to_contain_text(ALAN.given_name)

    # A new SCIM token from the owner: shown once, works at once, and the old one answers 401.
    old = inigo.manage("scim_token", demo.TENANT_SLUG).strip().splitlines()[-1]
    assert scim_status(inigo, old) == 200
    ada.goto("/org/settings/")
    ada.get_by_role("button", name=re.compile("Issue a new token")).click()
    expect(ada.locator("#new-token")).to_contain_text("Provisioning from Okta stops until this token is in Okta")
    token = ada.locator("#new-scim-token").inner_text()
    look(ada, shoot, "console-settings-new-scim-token")
    assert scim_status(inigo, token) == 200
    assert scim_status(inigo, old) == 401
    ada.reload()  # resends the POST: no other token, and the one shown keeps working
    expect(ada.locator("#new-token")).to_contain_text("Nothing was changed: this request was sent before")
    expect(ada.locator("main")).not_to_contain_text(token)
    assert scim_status(inigo, token) == 200

    # Every change is on Events, of kind console, with who made it.
    ada.goto("/org/events/?kind=console")
    events = ada.locator("table.events")
    expect(events).to_contain_text("Grace Hopper (grace@example.com, admin)")
    expect(events).to_contain_text("New SCIM token issued")
    look(ada, shoot, "console-events-console-changes")


def test_the_overview_and_settings_on_a_phone(
    people: People, identity_provider: LocalIdentityProvider, shoot: Screenshots
):
    ada = people.new(width=390, height=844)
    sign_in_with_okta(ada, identity_provider, ADA)

    for path, name in (("/org/", "console-overview-phone"), ("/org/settings/", "console-settings-phone")):
        ada.goto(path)
        width = ada.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1], f"{path} scrolls sideways on a phone: {width}"
        look(ada, shoot, name)
