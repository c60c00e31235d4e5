"""The console's email domains page in a real browser at 1280 x 800: owner Ada of the demo organisation removes the
domain support entered, adds northwind.example, copies its TXT record with the Copy button, publishes it on a DNS
server (dnslib's, on loopback, which the app server asks through SSO_DNS_NAMESERVERS), verifies it, and adds a
subdomain that stays pending. A visitor's /login/ follows each step. Screenshots for a person to judge."""

from collections.abc import Iterator

import pytest

pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install 'playwright>=1.45'")

from playwright.sync_api import Page, expect

from devidp import demo
from devidp.server import LocalIdentityProvider
from tests.dns_server import DNSZone, dns_server
from tests.e2e.conftest import CHROMIUM, People, Screenshots
from tests.e2e.test_browser_console import look
from tests.e2e.test_truthful_pages import sign_in_with_okta

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
)

ADA = demo.DEMO_PEOPLE[0]


@pytest.fixture(scope="module")
def dns() -> Iterator[DNSZone]:
    with dns_server() as zone:
        yield zone


@pytest.fixture(scope="module")
def inigo_env(dns: DNSZone) -> dict[str, str]:
    return {"SSO_DNS_NAMESERVERS": ",".join(f"{host}:{port}" for host, port in dns.nameservers)}


def domain_card(page: Page, domain: str):
    return page.locator(f"li.domain[id='domain-{domain}']")


def routes_to_okta(visitor: Page, identity_provider: LocalIdentityProvider, email: str) -> bool:
    """What /login/ does with the email now: on to the organisation's Okta, or "We don't recognise that email
    domain"."""
    visitor.goto("/login/")
    visitor.get_by_label("Work email").fill(email)
    visitor.get_by_role("button", name="Continue with Okta").click()
    visitor.wait_for_load_state()
    if visitor.url.startswith(identity_provider.issuer):
        return True
    expect(visitor.get_by_role("alert")).to_contain_text("We don't recognise that email domain")
    return False


def test_an_admin_adds_copies_publishes_verifies_and_removes_domains(
    people: People, identity_provider: LocalIdentityProvider, dns: DNSZone, shoot: Screenshots
):
    ada, visitor = people.new(), people.new()
    ada.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in_with_okta(ada, identity_provider, ADA)
    ada.goto("/org/people/")
    ada.get_by_role("link", name="Email domains").click()
    expect(ada.get_by_role("heading", name="Email domains", exact=True)).to_be_visible()
    expect(domain_card(ada, demo.TENANT_EMAIL_DOMAIN)).to_contain_text("Verified")

    # The domain support entered: removed, /login/ no longer knows it, at once.
    assert routes_to_okta(visitor, identity_provider, ADA.email)
    domain_card(ada, demo.TENANT_EMAIL_DOMAIN).get_by_text(f"Remove {demo.TENANT_EMAIL_DOMAIN}…").click()
    ada.get_by_role("button", name=f"Remove {demo.TENANT_EMAIL_DOMAIN}", exact=True).click()
    expect(ada.get_by_role("status")).to_contain_text(f"{demo.TENANT_EMAIL_DOMAIN} is removed")
    assert not routes_to_okta(visitor, identity_provider, ADA.email)

    # gmail.com: refused, with a message at the field.
    ada.get_by_label("Domain", exact=True).fill("gmail.com")
    ada.get_by_role("button", name="Add domain").click()
    expect(ada.locator("#domain-new-error")).to_contain_text("gmail.com is a public mail domain")
    look(ada, shoot, "console-domains-gmail-refused")

    # northwind.example: pending, its record copied with the Copy button and published; Verify before and after.
    ada.get_by_label("Domain", exact=True).fill("Northwind.example")
    ada.get_by_role("button", name="Add domain").click()
    card = domain_card(ada, "northwind.example")
    expect(card).to_contain_text("Pending")
    card.get_by_role("button", name="Copy the record value of northwind.example").click()
    expect(card.get_by_role("button", name="Copy the record value of northwind.example")).to_have_text("Copied")
    copied = ada.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith("inigo-domain-verification=")
    assert copied == card.locator("code[id^='record-value-']").inner_text()
    card.get_by_role("button", name="Verify northwind.example").click()
    expect(ada.get_by_role("status")).to_contain_text("No TXT record at _inigo-challenge.northwind.example yet")
    look(ada, shoot, "console-domains-nothing-found-yet")
    assert not routes_to_okta(visitor, identity_provider, "jane@northwind.example")

    dns.publish("_inigo-challenge.northwind.example", copied)
    domain_card(ada, "northwind.example").get_by_role("button", name="Verify northwind.example").click()
    expect(ada.get_by_role("status")).to_contain_text("northwind.example is verified")
    expect(domain_card(ada, "northwind.example")).to_contain_text("Verified")
    assert routes_to_okta(visitor, identity_provider, "jane@northwind.example")

    # A subdomain is its own domain: pending beside the verified one.
    ada.get_by_label("Domain", exact=True).fill("eu.northwind.example")
    ada.get_by_role("button", name="Add domain").click()
    expect(domain_card(ada, "eu.northwind.example")).to_contain_text("Pending")
    assert not routes_to_okta(visitor, identity_provider, "jane@eu.northwind.example")
    ada.goto("/org/domains/")
    look(ada, shoot, "console-domains-one-verified-one-pending")
    shoot(ada, "console-domains-one-verified-one-pending-full")


def test_the_domains_page_on_a_phone(people: People, identity_provider: LocalIdentityProvider, shoot: Screenshots):
    ada = people.new(width=390, height=844)
    sign_in_with_okta(ada, identity_provider, ADA)

    ada.goto("/org/domains/")

    expect(ada.get_by_role("heading", name="Email domains", exact=True)).to_be_visible()
    width = ada.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], f"the page scrolls sideways on a phone: {width}"
    cards, room = ada.evaluate("""() => {
        const main = document.querySelector('main');
        const room = main.getBoundingClientRect().right - parseFloat(getComputedStyle(main).paddingRight);
        return [Math.max(...[...document.querySelectorAll('.card')].map(card => card.getBoundingClientRect().right)),
                room];
    }""")
    assert cards <= room + 0.5, f"the cards reach past the page's margin on a phone: {cards} > {room}"
    shoot(ada, "console-domains-phone")
