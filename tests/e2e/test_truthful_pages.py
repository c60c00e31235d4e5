"""Pages that tell the truth, in a real browser at 1280 x 800: a tenant right after its setup has no sign-ins and
a passing check; a person Okta deactivated shows as such on the owner's home and in admin, and is told that Okta
removed their access; a tenant whose Okta keeps failing shows its open breaker on its page and in the list.

One app worker: the breaker's counts live in the worker's memory here (no Redis), so every page sees them."""

import re
import socket

import pytest
import requests

pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install 'playwright>=1.45'")

from playwright.sync_api import Page, expect

from devidp import demo
from devidp.server import LocalIdentityProvider
from tests.e2e.conftest import CHROMIUM, Inigo, People, Screenshots, assert_accessible

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
)

INIGO_WORKERS = 1
ADA, GRACE, _ALAN, _UMA = demo.DEMO_PEOPLE
STAFF, PASSWORD = "sue.superuser", "a throwaway test server's password"


@pytest.fixture(scope="module")
def staff_account(inigo: Inigo) -> None:
    inigo.manage("shell", "-c", f"from accounts.models import User; User.objects.create_superuser("
                                f"username={STAFF!r}, password={PASSWORD!r}, first_name='Sue')")


@pytest.fixture
def staff(people: People, staff_account: None) -> Page:
    page = people.new(width=1280, height=800)
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(STAFF)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    return page


def sign_in_with_okta(page: Page, identity_provider: LocalIdentityProvider, person: demo.DemoPerson) -> None:
    page.goto(identity_provider.dashboard_url)
    page.get_by_role("link", name="Inigo").click()
    page.get_by_role("button", name=person.name).click()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_tenant_right_after_setup_has_no_sign_ins_and_a_passing_check(
    people: People, inigo: Inigo, identity_provider: LocalIdentityProvider, staff: Page, shoot: Screenshots
):
    link = inigo.manage("setup_link", "newco", "--name", "NewCo").strip().splitlines()[-1]
    admin_of_newco = people.new()
    admin_of_newco.goto(link)
    admin_of_newco.get_by_label("Okta domain").fill(identity_provider.issuer)
    admin_of_newco.get_by_label("Client ID").fill("inigo-newco")
    admin_of_newco.get_by_label("Client Secret").fill("newco-secret")
    admin_of_newco.get_by_role("button", name="Check and save").click()
    expect(admin_of_newco.get_by_role("link", name="Sign in to finish")).to_be_visible()

    staff.goto("/admin/tenants/tenant/")
    row = staff.locator("#result_list tbody tr").filter(has_text="NewCo")
    expect(row).to_contain_text("0 ok")
    expect(row.locator(".health-ok").last).to_contain_text("ok")  # the last check: the setup's, passed
    staff.get_by_role("link", name="NewCo").click()
    panel = staff.locator("section.health")
    expect(panel).to_contain_text("no sign-ins yet")
    expect(panel).to_contain_text("no problems")
    expect(panel).to_contain_text("Setup completed")
    expect(panel).not_to_contain_text("No Okta domain is set")
    shoot(staff, "truth-tenant-after-setup", full_page=False)
    assert_accessible(staff)


def test_a_person_okta_deactivated_is_shown_so_and_told_okta_removed_access(
    people: People, inigo: Inigo, identity_provider: LocalIdentityProvider, staff: Page, shoot: Screenshots
):
    ada, grace = people.new(), people.new()
    sign_in_with_okta(ada, identity_provider, ADA)
    sign_in_with_okta(grace, identity_provider, GRACE)
    token = inigo.manage("scim_token", demo.TENANT_SLUG).strip().splitlines()[-1]
    scim = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    adopted = requests.post(f"{inigo.url}/scim/v2/Users", headers=scim, timeout=10, json={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": GRACE.email,
        "externalId": GRACE.sub, "name": {"givenName": GRACE.given_name, "familyName": GRACE.family_name},
        "emails": [{"value": GRACE.email, "primary": True}], "active": True,
    })
    assert adopted.status_code == 201, adopted.text
    deactivated = requests.patch(f"{inigo.url}/scim/v2/Users/{adopted.json()['id']}", headers=scim, timeout=10, json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    })
    assert deactivated.status_code == 200 and deactivated.json()["active"] is False

    ada.goto("/")
    grace_row = ada.locator("tr", has_text=GRACE.email)
    expect(grace_row).to_contain_text("Deactivated in Okta")
    shoot(ada, "truth-owner-home-deactivated-person", full_page=False)
    assert_accessible(ada)

    staff.goto("/admin/accounts/user/?q=" + GRACE.email)
    expect(staff.locator("#result_list")).to_contain_text("Deactivated in Okta")
    shoot(staff, "truth-admin-users-deactivated-person", full_page=False)

    grace.goto("/")  # her session ended with the deactivation: she is told why, then signs in again
    sign_in_with_okta(grace, identity_provider, GRACE)
    expect(grace.get_by_role("heading", name="Your access to Inigo was removed in Okta")).to_be_visible()
    expect(grace.locator("main")).to_contain_text("Okta administrator")
    expect(grace.locator("main")).not_to_contain_text("Inigo support to reactivate")
    shoot(grace, "truth-refusal-removed-in-okta", full_page=False)
    assert_accessible(grace)


def test_a_tenant_whose_okta_keeps_failing_shows_its_open_breaker(
    inigo: Inigo, staff: Page, shoot: Screenshots
):
    inigo.manage("add_tenant", "downco", "--name", "DownCo", "--okta-domain", f"http://127.0.0.1:{closed_port()}",
                 "--client-id", "inigo-downco", stdin="downco-secret\n")
    statuses = [requests.get(f"{inigo.url}/oidc/authenticate/", params={"tenant": "downco"}, timeout=10).status_code
                for _ in range(3)]
    assert statuses == [502, 502, 502]

    staff.goto("/admin/tenants/tenant/")
    row = staff.locator("#result_list tbody tr").filter(has_text="DownCo")
    expect(row).to_contain_text(re.compile(r"Okta refused since \d\d:\d\d UTC \(3 failures\)"))
    shoot(staff, "truth-tenants-list-open-breaker", full_page=False)
    staff.get_by_role("link", name="DownCo").click()
    breaker = staff.locator(".health-breaker")
    expect(breaker).to_contain_text("Okta is refused sign-ins for now")
    expect(breaker).to_contain_text("after 3 failed requests")
    expect(breaker).to_contain_text("refused until it answers again")
    shoot(staff, "truth-tenant-open-breaker", full_page=False)
    assert_accessible(staff)
