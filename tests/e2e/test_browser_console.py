"""The console's people pages in a real browser at 1280 x 800, as the people of the demo organisation meet them:
owner Ada, admin Grace and member Alan; and Grace again as an admin of another organisation (Globex, on the same
Okta), who must never see the demo's people. Screenshots of each page for a person to judge (test-artifacts/e2e/)."""

import re

import pytest

pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install 'playwright>=1.45'")

from playwright.sync_api import Page, expect

from devidp import demo
from devidp.server import LocalIdentityProvider
from tests.e2e.conftest import CHROMIUM, Inigo, People, Screenshots, assert_accessible
from tests.e2e.test_truthful_pages import sign_in_with_okta

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
)

ADA, GRACE, ALAN, _UMA = demo.DEMO_PEOPLE


def make_admin(inigo: Inigo, email: str, slug: str) -> None:
    inigo.manage("shell", "-c", "from accounts.models import User; "
                                f"User.objects.filter(email={email!r}, tenant__slug={slug!r}).update(role='admin')")


def look(page: Page, shoot: Screenshots, name: str) -> None:
    shoot(page, name, full_page=False)
    assert_accessible(page)


def test_the_people_pages_as_owner_admin_member_and_another_tenants_admin(
    people: People, inigo: Inigo, identity_provider: LocalIdentityProvider, shoot: Screenshots
):
    ada, grace, alan = people.new(), people.new(), people.new()
    for page, person in ((ada, ADA), (grace, GRACE), (alan, ALAN)):
        sign_in_with_okta(page, identity_provider, person)
    make_admin(inigo, GRACE.email, demo.TENANT_SLUG)

    # The owner: from her home page to the people, a search, one person, Sign out everywhere.
    ada.goto("/")
    ada.get_by_role("link", name="Open the console").click()
    expect(ada.get_by_role("heading", name="Overview")).to_be_visible()
    ada.locator(".console-nav").get_by_role("link", name="People").click()
    expect(ada.get_by_role("heading", name="People")).to_be_visible()
    table = ada.locator("table.people")
    for person in (ADA, GRACE, ALAN):
        expect(table).to_contain_text(person.name)
    expect(table).not_to_contain_text("t1-")  # names, never internal usernames
    look(ada, shoot, "console-owner-people")
    ada.get_by_label("Name or email").fill("GRAC")
    ada.get_by_role("button", name="Show").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    look(ada, shoot, "console-owner-people-search")
    ada.goto("/org/people/")
    ada.get_by_role("link", name=ALAN.name).click()
    expect(ada.get_by_role("heading", name=ALAN.name)).to_be_visible()
    expect(ada.locator("main")).to_contain_text("Signed in")
    expect(ada.locator("code").first).to_have_text(re.compile(r"^[A-Z0-9]{10}$"))  # a reference to quote
    look(ada, shoot, "console-owner-person")
    # Below it, the ownership: a box to tick that says what she becomes (an admin: roles are set in Inigo here).
    confirm = ada.get_by_label(re.compile("I understand that I stop being the owner and become an admin"))
    confirm.scroll_into_view_if_needed()
    expect(confirm).not_to_be_checked()
    shoot(ada, "console-owner-person-ownership", full_page=False)
    ada.get_by_role("button", name=f"Sign out {ALAN.name} everywhere").click()
    expect(ada.get_by_role("status")).to_contain_text(f"{ALAN.name} is signed out everywhere")
    expect(ada.locator("main")).to_contain_text("Signed out everywhere from the console")
    look(ada, shoot, "console-owner-signed-out-alan")
    alan.goto("/")
    expect(alan.locator("main")).to_contain_text("You were signed out by your organisation's admin")
    shoot(alan, "console-alan-told-why", full_page=False)

    # The admin: the same list; the owner's page without the button.
    grace.goto("/org/people/")
    look(grace, shoot, "console-admin-people")
    grace.get_by_role("link", name=ADA.name).click()
    expect(grace.locator("main")).to_contain_text("Only the owner can end the owner's sessions.")
    expect(grace.get_by_role("button", name=re.compile("Sign out .* everywhere"))).to_have_count(0)
    look(grace, shoot, "console-admin-owner-page")
    grace.goto("/org/people/")
    alan_link = grace.get_by_role("link", name=ALAN.name).get_attribute("href")

    # The member: the 403 page names the owner; his home page signs out his other devices.
    sign_in_with_okta(alan, identity_provider, ALAN)
    response = alan.goto("/org/people/")
    assert response is not None and response.status == 403
    expect(alan.locator("main")).to_contain_text(f"The owner is {ADA.name} ({ADA.email})")
    look(alan, shoot, "console-member-refused")
    alan.goto("/")
    alan.get_by_role("button", name="Sign out of all devices").click()
    expect(alan.get_by_role("status")).to_contain_text("This one stays signed in")
    look(alan, shoot, "console-member-home-signed-out-of-all-devices")

    # An admin of another organisation on the same Okta: only her own people, a 404 for the demo's.
    inigo.manage("add_tenant", "globex", "--name", "Globex", "--okta-domain", identity_provider.issuer,
                 "--client-id", "inigo-globex", stdin="globex-client-secret\n")
    bob = people.new()
    bob.goto(f"/oidc/initiate/globex/?iss={identity_provider.issuer}")
    bob.get_by_role("button", name=GRACE.name).click()
    expect(bob.locator("main")).to_contain_text("Globex")
    make_admin(inigo, GRACE.email, "globex")
    bob.goto("/org/people/")
    expect(bob.locator("table.people tbody tr")).to_have_count(1)
    expect(bob.locator("table.people")).not_to_contain_text(ADA.name)
    look(bob, shoot, "console-other-tenant-admin-people")
    response = bob.goto(alan_link)
    assert response is not None and response.status == 404
    look(bob, shoot, "console-other-tenant-admin-404")


def test_the_people_page_on_a_phone(people: People, identity_provider: LocalIdentityProvider, shoot: Screenshots):
    ada = people.new(width=390, height=844)
    sign_in_with_okta(ada, identity_provider, ADA)

    ada.goto("/org/people/")

    expect(ada.get_by_role("heading", name="People")).to_be_visible()
    width = ada.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], f"the page scrolls sideways on a phone: {width}"
    shoot(ada, "console-owner-people-phone")
    assert_accessible(ada)
