"""Signing in to Inigo in a real browser: Debian's Chromium clicks the Inigo tile on the local identity provider's
dashboard (the Okta dashboard's stand-in), types an email on /login/, signs out, and meets Okta's refusal.

The tests of this module share one server and one organisation; only the first test counts on being first (the
first person to sign in becomes the owner). Each step leaves a screenshot in test-artifacts/e2e/.
"""

import pytest

pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install 'playwright>=1.45'")

from playwright.sync_api import Page, expect

from devidp import demo
from devidp.server import LocalIdentityProvider
from tests.e2e.conftest import CHROMIUM, Inigo, People, Screenshots

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
)

ADA, GRACE, ALAN, UMA = demo.DEMO_PEOPLE
PHONE = {"width": 390, "height": 844}


def click_the_tile(page: Page, identity_provider: LocalIdentityProvider) -> None:
    page.goto(identity_provider.dashboard_url)
    page.get_by_role("link", name="Inigo").click()
    expect(page.get_by_role("heading", name="Sign in to continue to Inigo")).to_be_visible()


def sign_in_at_okta_as(page: Page, person: demo.DemoPerson) -> None:
    page.get_by_role("button", name=person.name).click()


def expect_signed_in(page: Page, inigo: Inigo, person: demo.DemoPerson, role: str | None = None) -> None:
    """On the home page as `person`; with `role`, in that role (None: whichever, when the order is unknown)."""
    expect(page).to_have_url(f"{inigo.url}/")
    expect(page.get_by_role("heading", name=f"Welcome, {person.name}")).to_be_visible()
    facts = page.locator(".facts")
    expect(facts).to_contain_text(demo.TENANT_NAME)
    expect(facts).to_contain_text(person.email)
    me = page.request.get("/api/me/")
    assert me.status == 200
    assert me.json() | {"role": None} == {"email": person.email, "name": person.name, "tenant": demo.TENANT_SLUG,
                                          "role": None}
    if role is not None:
        expect(facts).to_contain_text(role)
        assert me.json()["role"] == role.lower()


def test_the_tile_signs_in_the_first_person_as_owner_and_the_next_as_member(
    people: People, inigo: Inigo, identity_provider: LocalIdentityProvider, shoot: Screenshots
):
    ada = people.new()
    ada.goto(identity_provider.dashboard_url)
    shoot(ada, "okta-dashboard")
    click_the_tile(ada, identity_provider)
    shoot(ada, "okta-sign-in")
    sign_in_at_okta_as(ada, ADA)
    expect_signed_in(ada, inigo, ADA, "Owner")
    shoot(ada, "home-owner")

    grace = people.new()
    click_the_tile(grace, identity_provider)
    sign_in_at_okta_as(grace, GRACE)
    expect_signed_in(grace, inigo, GRACE, "Member")
    expect(grace.get_by_role("heading", name="Members of")).to_have_count(0)
    shoot(grace, "home-member")

    ada.reload()
    members = ada.get_by_role("table")
    expect(members).to_contain_text(GRACE.email)
    expect(members).to_contain_text(ADA.email)
    shoot(ada, "home-owner-sees-members")
    ada.set_viewport_size(PHONE)
    shoot(ada, "home-owner-phone-390")


def test_an_email_on_the_login_page_signs_in_and_sign_out_ends_the_session(
    people: People, inigo: Inigo, shoot: Screenshots
):
    alan = people.new()
    alan.goto("/login/")
    expect(alan.get_by_role("heading", name="Sign in to Inigo")).to_be_visible()
    shoot(alan, "login")
    alan.set_viewport_size(PHONE)
    shoot(alan, "login-phone-390")
    alan.set_viewport_size({"width": 1280, "height": 800})

    alan.get_by_label("Work email").fill(ALAN.email)
    alan.get_by_role("button", name="Continue with Okta").click()
    # Okta received the email as login_hint and offers to continue as that person.
    continue_as = alan.get_by_role("button", name=f"Continue as {ALAN.email}")
    expect(continue_as).to_be_visible()
    shoot(alan, "okta-sign-in-with-login-hint")
    with alan.expect_request(lambda request: "/oidc/callback/" in request.url) as callback:
        continue_as.click()
    expect_signed_in(alan, inigo, ALAN)  # a member after the first test; the owner when run alone
    shoot(alan, "home-after-email-sign-in")

    # Back on the login page while signed in: who they are, not the form.
    alan.goto("/login/")
    expect(alan.get_by_role("heading", name="You are signed in")).to_be_visible()
    expect(alan.get_by_text(f"You are signed in as {ALAN.name}")).to_be_visible()
    shoot(alan, "login-while-signed-in")
    # A link to /oidc/logout/ (a GET) asks before signing out.
    alan.get_by_role("link", name="Sign out").click()
    expect(alan.get_by_role("heading", name="Sign out of Inigo?")).to_be_visible()
    shoot(alan, "sign-out-page")
    alan.locator("main").get_by_role("button", name="Sign out").click()
    expect(alan).to_have_url(f"{inigo.url}/login/")
    expect(alan.get_by_role("status")).to_have_text("You have signed out of Inigo.")
    expect(alan.locator(".notice")).to_have_count(1)
    shoot(alan, "signed-out")
    me = alan.goto("/api/me/")
    assert me is not None
    assert me.status == 401
    assert me.json()["error"] == "not_authenticated"

    # The same answer from Okta a second time: Inigo has used it up.
    replay = alan.goto(callback.value.url)
    assert replay is not None
    assert replay.status == 400
    expect(alan.get_by_role("heading", name="This sign-in has expired or was already used")).to_be_visible()
    shoot(alan, "error-replayed-callback")


def test_a_person_okta_does_not_assign_to_inigo_is_told_what_to_ask_for(
    people: People, inigo: Inigo, identity_provider: LocalIdentityProvider, shoot: Screenshots
):
    uma = people.new()
    click_the_tile(uma, identity_provider)

    with uma.expect_response(lambda response: "/oidc/callback/" in response.url) as callback:
        sign_in_at_okta_as(uma, UMA)

    assert callback.value.status == 403
    expect(uma.get_by_role("heading", name="You are not assigned to Inigo in Okta")).to_be_visible()
    expect(uma.get_by_text("Ask your Okta administrator to assign you the Inigo app")).to_be_visible()
    expect(uma.get_by_text(demo.NOT_ASSIGNED_DESCRIPTION).first).to_be_visible()
    shoot(uma, "error-not-assigned")
    uma.set_viewport_size(PHONE)
    shoot(uma, "error-not-assigned-phone-390")
    assert uma.request.get("/api/me/").status == 401


def test_other_error_pages_are_finished_pages(people: People, inigo: Inigo, shoot: Screenshots):
    visitor = people.new()

    not_found = visitor.goto("/no/such/page/")
    assert not_found is not None
    assert not_found.status == 404
    expect(visitor.get_by_role("heading", name="Page not found")).to_be_visible()
    shoot(visitor, "error-404")

    unknown = visitor.goto("/oidc/initiate/?iss=https%3A%2F%2Funknown.okta.com")
    assert unknown is not None
    assert unknown.status == 404
    expect(visitor.get_by_role("heading", name="Your organisation is not set up for Inigo")).to_be_visible()
    shoot(visitor, "error-unknown-okta-org")

    visitor.goto("/login/")
    visitor.get_by_label("Work email").fill("jane@unknown.example")
    visitor.get_by_role("button", name="Continue with Okta").click()
    expect(visitor.get_by_role("alert")).to_contain_text("We don't recognise that email domain")
    shoot(visitor, "login-unknown-domain")


def test_a_burst_ends_on_the_same_kind_of_page_as_every_other_failure(people: People, inigo: Inigo, shoot: Screenshots):
    """Last in this file: it uses up this address's initiate rate limit for a minute. Each gunicorn worker counts in
    its own local-memory cache here, and django-ratelimit's windows are fixed, so a burst sent first may straddle a
    window's end; the browser itself keeps asking until it is refused. At 30 a minute, one of two workers gets at
    least 100 of 200 requests; those take well under two minutes, so at most three windows, one holding 34 or more."""
    visitor = people.new()
    url = "/oidc/initiate/?iss=https%3A%2F%2Funknown.okta.com"
    statuses = []
    for _ in range(200):
        page = visitor.goto(url)
        assert page is not None
        statuses.append(page.status)
        if page.status == 429:
            break
    assert statuses[-1] == 429, f"never refused: {sorted(set(statuses))}"
    assert set(statuses[:-1]) <= {404}, statuses
    expect(visitor.get_by_role("heading", name="Too many sign-in attempts")).to_be_visible()
    expect(visitor.get_by_text("Sign-in stopped")).to_be_visible()
    expect(visitor.get_by_role("link", name="Go to the Inigo login page")).to_be_visible()
    shoot(visitor, "error-rate-limited")
