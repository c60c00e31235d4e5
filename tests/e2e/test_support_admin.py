"""The support admin in a real browser at 1280 x 800, as a new support person meets it: the tenants list with its
health columns, a tenant's health panel over 30 days of seeded sign-ins, the login events filtered by reason, and a
failure page whose reference support finds in one search. Every page is checked with axe-core.

The module has its own server and database (tests/e2e/support_seed.py fills it)."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest

pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install 'playwright>=1.45'")

from playwright.sync_api import Page, expect

from devidp import demo
from devidp.server import LocalIdentityProvider
from tests.e2e.conftest import CHROMIUM, Inigo, People, Screenshots, assert_accessible, assert_fits
from tests.e2e.support_seed import STAFF_PASSWORD, STAFF_USERNAME

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
)

ADA, GRACE, ALAN, UMA = demo.DEMO_PEOPLE


@pytest.fixture(scope="module")
def seeded(inigo: Inigo) -> Inigo:
    inigo.manage("shell", "-c", "from tests.e2e.support_seed import seed; seed()")
    return inigo


def sign_in_to_admin(page: Page) -> None:
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(STAFF_USERNAME)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Signed in as")).to_contain_text("Sam Support")


def sign_in_with_okta(page: Page, identity_provider: LocalIdentityProvider, person: demo.DemoPerson) -> None:
    page.goto(identity_provider.dashboard_url)
    page.get_by_role("link", name="Inigo").click()
    page.get_by_role("button", name=person.name).click()


@pytest.fixture
def staff(people: People, seeded: Inigo) -> Page:
    page = people.new(width=1280, height=800)
    sign_in_to_admin(page)
    return page


def test_the_tenants_list_shows_each_tenants_week_and_last_check_and_fits(staff: Page, shoot: Screenshots):
    staff.goto("/admin/tenants/tenant/")

    rows = staff.locator("#result_list tbody tr")
    expect(rows).to_have_count(9)
    demo_row = rows.filter(has_text=demo.TENANT_NAME)
    expect(demo_row).to_contain_text("ok")
    expect(demo_row.locator(".health-ok").first).to_be_visible()
    expect(rows.filter(has_text="Globex")).to_contain_text("problems")
    shoot(staff, "admin-tenants-list", full_page=False)
    assert_fits(staff)
    assert_accessible(staff)


def test_a_tenants_health_panel_draws_30_days_and_names_this_weeks_reasons(staff: Page, shoot: Screenshots):
    staff.goto("/admin/tenants/tenant/")
    staff.get_by_role("link", name=demo.TENANT_NAME).click()

    panel = staff.locator("section.health")
    expect(panel.get_by_role("heading", name="Sign-in health")).to_be_visible()
    expect(panel.locator("svg g")).to_have_count(30)
    expect(panel.locator("svg rect.bar-ok")).to_have_count(30)
    expect(panel.locator(".health-reasons")).to_contain_text("user_not_assigned")
    expect(panel).to_contain_text("no problems")
    shoot(staff, "admin-tenant-health", full_page=False)
    assert_accessible(staff)

    # A reason in the panel leads to those events of this tenant.
    panel.locator(".health-reasons a").first.click()
    expect(staff.locator("#result_list tbody tr").first).to_be_visible()
    assert "tenant__id__exact=" in staff.url and "reason=" in staff.url


def test_the_login_events_filter_by_reason_and_each_reason_says_what_it_means(staff: Page, shoot: Screenshots):
    staff.goto("/admin/accounts/loginevent/")
    with staff.expect_navigation():
        staff.get_by_label("Reason").select_option("user_not_assigned")

    rows = staff.locator("#result_list tbody tr")
    expect(rows.first).to_be_visible()
    reasons = set(staff.locator("#result_list td.field-reason_words code").all_inner_texts())
    assert reasons == {"user_not_assigned"}
    expect(rows.first).to_contain_text("You are not assigned to Inigo in Okta")
    expect(rows.first.locator(".field-time")).to_contain_text("UTC")
    shoot(staff, "admin-login-events-by-reason", full_page=False)
    assert_fits(staff)
    assert_accessible(staff)

    rows.first.locator("td.field-reason_words a").click()
    expect(staff.get_by_role("heading", name="Sign-in failure reasons")).to_be_visible()
    assert staff.url.endswith("#user_not_assigned")


def test_the_tenant_filter_finds_a_tenant_by_typing(staff: Page):
    staff.goto("/admin/accounts/loginevent/")
    staff.locator(".tenant-filter .select2-selection").click()
    staff.locator(".select2-search__field").fill("umbre")
    staff.get_by_role("option", name="Umbrella Pharmaceuticals (umbrella)").click()

    staff.wait_for_url(lambda url: "tenant__id__exact=" in url)
    tenants = set(staff.locator("#result_list td.field-tenant_name").all_inner_texts())
    assert tenants == {"Umbrella Pharmaceuticals"}


def test_a_failure_page_shows_its_reference_and_support_finds_the_event_by_it(
    people: People, seeded: Inigo, identity_provider: LocalIdentityProvider, shoot: Screenshots
):
    uma = people.new()
    sign_in_with_okta(uma, identity_provider, UMA)
    expect(uma.get_by_role("heading", name="You are not assigned to Inigo in Okta")).to_be_visible()
    reference = uma.locator(".reference-code").inner_text()
    assert len(reference) == 10
    expect(uma.locator(".reference")).to_contain_text("UTC")
    shoot(uma, "error-not-assigned-with-reference", full_page=False)
    assert_accessible(uma)

    staff = people.new()
    sign_in_to_admin(staff)
    staff.goto("/admin/accounts/loginevent/")
    staff.locator("#searchbar").fill(reference.lower())  # read aloud, typed in any case
    staff.locator("#searchbar").press("Enter")
    rows = staff.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("user_not_assigned")
    expect(rows.first).to_contain_text(demo.TENANT_NAME)  # the tenant is filled in from the state entry


def test_pages_without_a_login_event_show_a_reference_of_the_request(people: People, seeded: Inigo):
    visitor = people.new()
    response = visitor.goto("/no/such/page/")
    assert response is not None and response.status == 404
    reference = visitor.locator(".reference-code").inner_text()
    assert len(reference) == 8


def test_view_site_tells_staff_they_have_no_organisation(staff: Page):
    staff.get_by_role("link", name="View site").click()
    expect(staff.get_by_role("heading", name="Staff accounts have no organisation")).to_be_visible()
    staff.get_by_role("link", name="Back to the support admin").click()
    staff.wait_for_url(lambda url: url.endswith("/admin/"))


# --- every page a person or support meets, checked by axe-core: add a page with one line ---------------------------
@dataclass(frozen=True)
class Visit:
    name: str
    path: str | Callable[[Inigo], str]
    who: str  # "anonymous", "staff" or "okta" (the demo organisation's owner)


PAGES = [
    Visit("login", "/login/", "anonymous"),
    Visit("error-404", "/no/such/page/", "anonymous"),
    Visit("home", "/", "okta"),
    Visit("staff-home", "/", "staff"),
    Visit("admin-index", "/admin/", "staff"),
    Visit("admin-users", "/admin/accounts/user/", "staff"),
    Visit("admin-login-events", "/admin/accounts/loginevent/", "staff"),
    Visit("admin-failure-reasons", "/admin/accounts/loginevent/reasons/", "staff"),
]


@pytest.mark.parametrize("visit", PAGES, ids=[visit.name for visit in PAGES])
def test_each_page_has_no_serious_accessibility_violation(
    visit: Visit, people: People, seeded: Inigo, identity_provider: LocalIdentityProvider, shoot: Screenshots
):
    page = people.new()
    if visit.who == "staff":
        sign_in_to_admin(page)
    elif visit.who == "okta":
        sign_in_with_okta(page, identity_provider, ADA)
        expect(page.get_by_role("heading", name=f"Welcome, {ADA.name}")).to_be_visible()
    page.goto(visit.path(seeded) if callable(visit.path) else visit.path)
    shoot(page, f"a11y-{visit.name}")
    assert_accessible(page)
    if page.locator("#result_list").count():
        assert_fits(page)
