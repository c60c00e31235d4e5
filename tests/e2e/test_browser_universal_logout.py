"""Okta Universal Logout in a real browser: a person signed in to Inigo, their Okta admin clears their sessions
(the local identity provider posts a Global Token Revocation JWT, signed with a key its JWKS publishes, to Inigo),
and the person's next page is the login page saying Okta signed them out."""

import pytest

pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install 'playwright>=1.45'")

from playwright.sync_api import expect

from devidp import demo
from devidp.server import LocalIdentityProvider
from tests.e2e.conftest import CHROMIUM, Inigo, People, Screenshots
from tests.e2e.test_browser_login import click_the_tile, expect_signed_in, sign_in_at_okta_as

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
)

ADA, GRACE, _ALAN, _UMA = demo.DEMO_PEOPLE


def test_clearing_a_persons_sessions_in_okta_signs_them_out_of_inigo_at_the_next_page(
    people: People, inigo: Inigo, identity_provider: LocalIdentityProvider, shoot: Screenshots
):
    grace, ada = people.new(), people.new()
    for page, person in ((grace, GRACE), (ada, ADA)):
        click_the_tile(page, identity_provider)
        sign_in_at_okta_as(page, person)
        expect_signed_in(page, inigo, person)
    shoot(grace, "universal-logout-signed-in")

    # Grace's Okta admin, in another window: Clear User Sessions, including logout-enabled apps.
    admin = people.new()
    admin.goto(identity_provider.dashboard_url)
    admin.get_by_label("Email of the person").fill(GRACE.email)
    admin.get_by_role("button", name="Clear user sessions").click()
    expect(admin.get_by_text("which answered HTTP 204")).to_be_visible()
    shoot(admin, "universal-logout-okta-cleared-sessions")

    grace.goto("/")
    expect(grace).to_have_url(f"{inigo.url}/login/")
    notice = grace.get_by_role("status")  # information, not an error; and only one
    expect(grace.locator(".notice")).to_have_count(1)
    expect(notice).to_contain_text("You were signed out by your organisation's Okta")
    expect(notice).to_contain_text("Okta Universal Logout")
    shoot(grace, "universal-logout-signed-out-notice")
    assert grace.request.get("/api/me/").status == 401

    ada.reload()  # the other person of the organisation stays signed in
    expect_signed_in(ada, inigo, ADA)
