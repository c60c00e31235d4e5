"""A customer sets up single sign-on themselves, in Chromium: support runs `setup_link`, the customer's Okta
administrator opens the link, pastes a wrong secret (refused, nothing saved), then the right one, and signs in as
the organisation's first person, its owner. The local identity provider plays their Okta, with the Inigo app
registered as a client with a secret of its own. Screenshots at 1280x800 in test-artifacts/e2e/."""

import subprocess
import sys

import pytest

pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install 'playwright>=1.45'")

import requests
from playwright.sync_api import expect

from devidp import demo
from devidp.server import LocalIdentityProvider
from tests.e2e.conftest import CHROMIUM, ROOT, Inigo, People, Screenshots

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
)

ADA = demo.DEMO_PEOPLE[0]


def register_inigo_app(identity_provider: LocalIdentityProvider, redirect_uri: str) -> tuple[str, str]:
    """What the customer's Okta does when they add the Inigo app: a client with its own ID and secret."""
    response = requests.post(f"{identity_provider.issuer}/oauth2/clients", json={"redirect_uris": [redirect_uri]},
                             timeout=5)
    assert response.status_code == 201, response.text
    return response.json()["client_id"], response.json()["client_secret"]


def test_a_customer_sets_up_sign_in_from_a_setup_link_and_becomes_owner(
    people: People, inigo: Inigo, identity_provider: LocalIdentityProvider, shoot: Screenshots
):
    link = inigo.manage("setup_link", "newco", "--name", "NewCo Ltd").strip().splitlines()[-1]
    assert link.startswith(f"{inigo.url}/setup/")
    redirect_uri = f"{inigo.url}/oidc/callback/newco/"
    client_id, secret = register_inigo_app(identity_provider, redirect_uri)

    admin = people.new()
    admin.goto(link)
    expect(admin.get_by_role("heading", name="Set up single sign-on for NewCo Ltd")).to_be_visible()
    expect(admin.locator("code", has_text=redirect_uri)).to_be_visible()
    expect(admin.get_by_role("button", name="Copy").first).to_be_visible()  # JavaScript shows the copy buttons
    shoot(admin, "setup-page")

    admin.get_by_label("Okta domain").fill(identity_provider.issuer)
    admin.get_by_label("Client ID").fill(client_id)
    admin.get_by_label("Client Secret").fill("a-secret-from-another-app")
    admin.get_by_role("button", name="Check and save").click()
    expect(admin.get_by_text("Nothing was saved: Okta did not accept these credentials.")).to_be_visible()
    expect(admin.get_by_text("Okta refused the Client ID or Client Secret")).to_be_visible()
    expect(admin.get_by_label("Client Secret")).to_have_value("")
    expect(admin.get_by_label("Client ID")).to_have_value(client_id)
    admin.get_by_text("Client ID and Client Secret", exact=True).scroll_into_view_if_needed()
    shoot(admin, "setup-wrong-secret-refused")
    refused = admin.request.get("/oidc/authenticate/?tenant=newco", max_redirects=0)
    assert refused.status == 403 and "Sign-in is not set up yet" in refused.text()

    admin.get_by_label("Client Secret").fill(secret)
    admin.get_by_role("button", name="Check and save").click()
    expect(admin.get_by_role("heading", name="Single sign-on is set up for NewCo Ltd")).to_be_visible()
    shoot(admin, "setup-done")

    admin.get_by_role("link", name="Sign in to finish").click()
    expect(admin.get_by_role("heading", name="Sign in to continue to Inigo")).to_be_visible()
    admin.get_by_role("button", name=ADA.name).click()
    expect(admin).to_have_url(f"{inigo.url}/")
    expect(admin.get_by_role("heading", name=f"Welcome, {ADA.name}")).to_be_visible()
    facts = admin.locator(".facts")
    expect(facts).to_contain_text("NewCo Ltd")
    expect(facts).to_contain_text("Owner")
    me = admin.request.get("/api/me/").json()
    assert (me["tenant"], me["role"]) == ("newco", "owner")
    shoot(admin, "setup-owner-home")

    again = people.new()
    response = again.goto(link)
    assert response is not None and response.status == 410
    expect(again.get_by_role("heading", name="This organisation is set up: sign in")).to_be_visible()
    expect(again.get_by_role("link", name="Sign in to NewCo Ltd")).to_have_attribute(
        "href", "/oidc/authenticate/?tenant=newco")
    shoot(again, "setup-link-used")

    # Later, support makes a link that replaces the Client ID and Secret (the customer's secret rotation).
    staff_env = {**inigo.env, "DJANGO_SUPERUSER_PASSWORD": "correct horse battery staple"}
    done = subprocess.run([sys.executable, "manage.py", "createsuperuser", "--no-input", "--username", "sam",
                           "--email", "sam@inigo.example"], cwd=ROOT, env=staff_env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    support = people.new()
    support.goto("/admin/login/")
    support.get_by_label("Username").fill("sam")
    support.get_by_label("Password").fill("correct horse battery staple")
    support.get_by_role("button", name="Log in").click()
    support.goto("/admin/tenants/tenant/")
    support.get_by_role("link", name="NewCo Ltd").click()
    expect(support.get_by_text("used", exact=False).first).to_be_visible()
    support.get_by_role("button", name="Create setup link").click()
    expect(support.get_by_role("heading", name="New setup link for NewCo Ltd")).to_be_visible()
    expect(support.get_by_role("button", name="Copy")).to_be_visible()
    rotation_link = support.locator("#setup-link").inner_text()
    assert rotation_link.startswith(f"{inigo.url}/setup/") and rotation_link != link
    shoot(support, "admin-setup-link-shown-once")
    admin.goto(rotation_link)
    expect(admin.get_by_role("heading", name="Replace the Okta credentials of NewCo Ltd")).to_be_visible()
    expect(admin.get_by_label("Okta domain")).to_be_disabled()
    shoot(admin, "setup-rotation-page")

    # The SCIM token page: laid out as the setup link's, each value with its Copy button.
    support.goto("/admin/tenants/tenant/")
    support.get_by_role("link", name="NewCo Ltd").click()
    tenant_trail = " ".join(support.locator(".breadcrumbs").inner_text().split())
    support.get_by_role("button", name="Issue a new token (the current one stops working)").click()
    expect(support.get_by_role("heading", name="New SCIM token for NewCo Ltd")).to_be_visible()
    expect(support.get_by_role("button", name="Copy")).to_have_count(2)
    # The tenant page's own trail, one step further (as on the setup link's page).
    assert " ".join(support.locator(".breadcrumbs").inner_text().split()) == f"{tenant_trail} \u203a SCIM token"
    shoot(support, "admin-scim-token-copy", full_page=False)

    # A superuser moves NewCo to another Okta org: a page asks first, and nothing is saved until they confirm.
    support.goto("/admin/tenants/tenant/")
    support.get_by_role("link", name="NewCo Ltd").click()
    support.get_by_label("Okta domain").fill(f"{identity_provider.issuer}/oauth2/default")
    support.get_by_role("button", name="Save", exact=True).click()
    expect(support.get_by_role("heading", name="Move NewCo Ltd to another Okta org?")).to_be_visible()
    expect(support.locator("#issuer-change-people")).to_contain_text("1 person will get a new account.")
    expect(support.locator("#issuer-change-secret")).to_contain_text("The secret must be entered again.")
    shoot(support, "admin-issuer-change-confirmation", full_page=False)
    support.get_by_role("link", name=f"No, keep {identity_provider.issuer}").click()
    expect(support.get_by_label("Okta domain")).to_have_value(identity_provider.issuer)

    log = inigo.log.read_text()  # the app's request lines and gunicorn's access log
    for token in (link, rotation_link):
        assert token.rsplit("/", 2)[-2] not in log
    assert secret not in log
    assert '"GET /setup/[redacted]/" 410' in log and '"POST /setup/[redacted]/" 200' in log
