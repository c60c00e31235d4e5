"""A recent Okta sign-in for a change, in a real browser at 1280 x 800 (SPEC "The customer console", recent sign-in):
the owner's sign-in is older than SSO_RECENT_AUTH_SECONDS (5 s on this server), so making Alan an admin first sends
her through the local provider (devidp, which honours prompt=login as Okta does), back to Alan's page with nothing
changed; made again, the change goes through and Alan is an admin at his next click. With the provider ignoring
prompt=login (as Okta does for some federated people), the page that says so, and no second round. Screenshots of each
step for a person to judge (test-artifacts/e2e/)."""

import time

import pytest

pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install 'playwright>=1.45'")

from playwright.sync_api import Page, expect

from devidp import demo
from devidp.server import LocalIdentityProvider
from tests.e2e.conftest import CHROMIUM, People, Screenshots
from tests.e2e.test_browser_console import look
from tests.e2e.test_truthful_pages import sign_in_with_okta

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
)

RECENT_SECONDS = 5
ADA, _GRACE, ALAN, _UMA = demo.DEMO_PEOPLE


@pytest.fixture(scope="module")
def inigo_env() -> dict[str, str]:
    return {"SSO_RECENT_AUTH_SECONDS": str(RECENT_SECONDS)}


def wait_until_stale() -> None:
    time.sleep(RECENT_SECONDS + 1)


def open_alans_page(ada: Page) -> None:
    ada.goto("/org/people/")
    ada.get_by_role("link", name=ALAN.name).click()
    expect(ada.get_by_role("heading", name=ALAN.name)).to_be_visible()


def test_a_stale_sign_in_goes_round_through_okta_then_the_role_change_goes_through(
    people: People, identity_provider: LocalIdentityProvider, shoot: Screenshots
):
    ada, alan = people.new(), people.new()
    sign_in_with_okta(ada, identity_provider, ADA)  # the first to sign in: the owner
    sign_in_with_okta(alan, identity_provider, ALAN)
    open_alans_page(ada)
    make_admin = ada.get_by_role("button", name=f"Make {ALAN.name} an admin")
    expect(ada.locator("main")).to_contain_text(f"Okta sign-in from the last {RECENT_SECONDS} seconds")
    look(ada, shoot, "reauth-owner-on-alans-page")
    wait_until_stale()

    make_admin.click()

    expect(ada.get_by_text("Sign in to continue to Inigo")).to_be_visible()  # the provider asks again
    shoot(ada, "reauth-okta-asks-again", full_page=False)
    ada.get_by_role("button", name=f"Continue as {ADA.email}").click()  # login_hint: Inigo named her
    expect(ada.get_by_role("status")).to_contain_text("Nothing was changed yet: make your change again")
    expect(ada.locator("dl.facts")).to_contain_text("Member")
    shoot(ada, "reauth-back-with-nothing-changed", full_page=False)
    make_admin.click()  # well within the 5 s of the new sign-in

    expect(ada.get_by_role("status")).to_contain_text(f"{ALAN.name} is now an admin")
    expect(ada.locator("dl.facts")).to_contain_text("Admin")
    expect(ada.locator("main")).to_contain_text(f"Make {ALAN.name} a member")
    look(ada, shoot, "reauth-alan-made-admin")
    alan.goto("/org/people/")  # in force at his next request, without a new sign-in
    expect(alan.get_by_role("heading", name="People")).to_be_visible()
    look(alan, shoot, "reauth-alan-now-in-the-console")


def test_a_provider_that_ignores_prompt_login_ends_on_a_page_and_never_loops(
    people: People, identity_provider: LocalIdentityProvider, shoot: Screenshots
):
    ada = people.new()
    sign_in_with_okta(ada, identity_provider, ADA)
    open_alans_page(ada)
    change = ada.get_by_role("button", name=f"Make {ALAN.name}").first  # whichever role he has now
    identity_provider.reauthentication.ignore_reauth = True
    try:
        wait_until_stale()
        change.click()  # straight back from the provider, with the earlier sign-in's auth_time

        expect(ada.get_by_role("heading", name="Okta did not ask you to sign in again")).to_be_visible()
        expect(ada.locator("main")).to_contain_text("Inigo will not send you round again")
        look(ada, shoot, "reauth-okta-ignored-prompt-login")
        ada.get_by_role("link", name="Back to the page").click()
        expect(ada.get_by_role("heading", name=ALAN.name)).to_be_visible()
        ada.get_by_role("button", name=f"Make {ALAN.name}").first.click()

        expect(ada.get_by_role("heading", name="Okta did not ask you to sign in again")).to_be_visible()
        assert ada.url.startswith(people.base_url)  # answered at once: never sent round again
    finally:
        identity_provider.reauthentication.ignore_reauth = False
