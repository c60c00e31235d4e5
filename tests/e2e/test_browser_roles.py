"""/org/roles/ in a real browser at 1280 x 800, as the people of the demo organisation meet it: owner Ada maps the
IT-Admins group Okta pushed to admin (a preview first: under Inigo's roles it changes nobody yet), then takes roles from
Okta, seeing first that Alan becomes admin and Grace, an admin outside the group, a member. Admin Grace sees the page
without controls before; afterwards she is a member and gets the 403 page, and Alan, now an admin, sees the roles come
from Okta. Screenshots of each step for a person to judge (test-artifacts/e2e/)."""

import pytest

pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install 'playwright>=1.45'")

from playwright.sync_api import expect

from devidp import demo
from devidp.server import LocalIdentityProvider
from tests.e2e.conftest import CHROMIUM, Inigo, People, Screenshots
from tests.e2e.test_browser_console import look, make_admin
from tests.e2e.test_truthful_pages import sign_in_with_okta

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
)

ADA, GRACE, ALAN, _UMA = demo.DEMO_PEOPLE


def groups_pushed(inigo: Inigo) -> None:
    """What Okta's Push Groups would have sent: IT-Admins (Alan) and Everyone (the three of them)."""
    inigo.manage("shell", "-c", "from accounts.models import TenantGroup, User; "
                                f"people = User.objects.filter(tenant__slug={demo.TENANT_SLUG!r}); "
                                "TenantGroup.objects.create(tenant=people[0].tenant, display_name='IT-Admins')"
                                f".members.set(people.filter(email={ALAN.email!r})); "
                                "TenantGroup.objects.create(tenant=people[0].tenant, display_name='Everyone')"
                                ".members.set(people)")


def test_the_owner_maps_a_group_and_takes_roles_from_okta_after_seeing_what_changes(
    people: People, inigo: Inigo, identity_provider: LocalIdentityProvider, shoot: Screenshots
):
    ada, grace, alan = people.new(), people.new(), people.new()
    for page, person in ((ada, ADA), (grace, GRACE), (alan, ALAN)):
        sign_in_with_okta(page, identity_provider, person)
    make_admin(inigo, GRACE.email, demo.TENANT_SLUG)
    groups_pushed(inigo)

    # The admin: the same page, without a control.
    grace.goto("/org/people/")
    grace.get_by_role("link", name="Roles").click()
    expect(grace.get_by_role("heading", name="Roles", exact=True)).to_be_visible()
    expect(grace.locator("table.groups")).to_contain_text("IT-Admins")
    expect(grace.locator("main")).to_contain_text("Only the owner changes where roles come from")
    expect(grace.locator("main form")).to_have_count(0)
    look(grace, shoot, "roles-admin-views")

    # The owner maps IT-Admins to admin: the preview says it changes nobody while roles come from Inigo.
    ada.goto("/org/roles/")
    table = ada.locator("table.groups")
    expect(table).to_contain_text("Everyone")
    expect(table.locator("tr", has_text="Everyone")).to_contain_text("3")
    look(ada, shoot, "roles-owner-page")
    ada.get_by_label("Role for members of IT-Admins").select_option("admin")
    ada.get_by_role("button", name="Preview the mapping of IT-Admins").click()
    expect(ada.get_by_role("heading", name="Map IT-Admins to admin?")).to_be_visible()
    expect(ada.locator("main")).to_contain_text("Nobody's role changes.")
    look(ada, shoot, "roles-owner-mapping-preview")
    ada.get_by_role("button", name="Map IT-Admins to admin").click()
    expect(ada.get_by_role("status")).to_contain_text("IT-Admins is mapped to admin.")

    # Roles from Okta: what it does first, then the confirmation.
    ada.get_by_role("button", name="Take roles from Okta…").click()
    expect(ada.locator("main")).to_contain_text("1 person becomes admin, 1 admin becomes a member.")
    look(ada, shoot, "roles-owner-switch-preview")
    ada.get_by_role("button", name="Take roles from Okta", exact=True).click()
    expect(ada.get_by_role("status")).to_contain_text("Roles now come from Okta. 1 person became admin")
    expect(ada.locator("main")).to_contain_text("Set roles by hand in Inigo")
    look(ada, shoot, "roles-owner-from-okta")

    # At their next click: Grace is a member (the 403 page), Alan an admin who sees where roles come from.
    response = grace.goto("/org/roles/")
    assert response is not None and response.status == 403
    expect(grace.locator("main")).to_contain_text(f"The owner is {ADA.name}")
    look(grace, shoot, "roles-former-admin-refused")
    alan.goto("/org/roles/")
    expect(alan.locator("main")).to_contain_text("Okta: a person is admin while they are in a group")
    look(alan, shoot, "roles-new-admin-views")
    alan.goto("/org/people/")
    alan.get_by_role("link", name=GRACE.name).click()
    expect(alan.locator("main")).to_contain_text("Roles come from Okta")
    expect(alan.locator("main")).to_contain_text(
        "from Okta: in no group mapped to admin, and without Okta's Admin role")
    look(alan, shoot, "roles-person-page-under-okta")
