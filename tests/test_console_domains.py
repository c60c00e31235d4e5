"""The console's email domains page (/org/domains/, SPEC "Email domains, verified" and "The customer console"),
through HTTP against a real DNS server on loopback (the dns_zone fixture): owner Ada and admin Grace of Acme add,
verify and remove Acme's domains; member Alan only gets the 403 page; Bob, admin of Globex, must never touch Acme's
domains, nor claim one Acme has verified."""

import time

import pytest
from django.test import Client

from accounts.events import EventKind
from accounts.models import LoginEvent, Role, User
from tenants.models import DomainState, Tenant, TenantEmailDomain
from tests.conftest import Browser
from tests.dns_server import silent_dns_server
from tests.oidc_provider import query_of
from tests.test_admin_tenants import support_client
from tests.test_admin_users import person
from tests.test_console_people import console_client
from tests.test_email_domains import UNKNOWN_DOMAIN, publish_challenge, routes_to, sign_in_page
from tests.test_reauth import signed_in_long_ago

DOMAINS_URL = "/org/domains/"


def signed_in_just_now(user: User) -> Client:
    """A console browser whose Okta sign-in (auth_time) is fresh: changes go through at once."""
    client = console_client(user)
    signed_in_long_ago(Browser(client), seconds=0)
    return client


@pytest.fixture
def ada(acme: Tenant) -> Client:
    return signed_in_just_now(person(acme, "ada", Role.OWNER))


@pytest.fixture
def grace(acme: Tenant) -> Client:
    return signed_in_just_now(person(acme, "grace", Role.ADMIN))


@pytest.fixture
def bob(globex: Tenant) -> Client:
    return signed_in_just_now(person(globex, "bob", Role.ADMIN))


def add(client: Client, typed: str, **options):
    return client.post(DOMAINS_URL, {"action": "add", "domain": typed}, **options)


def verify(client: Client, domain: str, **options):
    return client.post(DOMAINS_URL, {"action": "verify", "domain": domain}, **options)


def remove(client: Client, domain: str, **options):
    return client.post(DOMAINS_URL, {"action": "remove", "domain": domain}, **options)


def claim_of(tenant: Tenant, domain: str) -> TenantEmailDomain:
    return TenantEmailDomain.objects.get(tenant=tenant, domain=domain)


def said(response) -> str:
    """What the page says, its notices included, as a person reads it (apostrophes unescaped)."""
    return response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')


# --- Done when: a domain added on the page routes /login/ only once its record is published and verified ---------
def test_a_domain_added_on_the_page_routes_login_only_after_its_record_is_published_and_verified(
    client, dns_zone, acme, ada
):
    added = add(ada, "Acme.com")

    assert (added.status_code, added["Location"]) == (302, DOMAINS_URL)
    claim = claim_of(acme, "acme.com")
    page = said(ada.get(DOMAINS_URL))
    assert "acme.com is added, pending" in page
    assert f'<code id="record-name-1">{claim.record_name}</code>' in page  # pending: first, with its record
    assert f'<code id="record-value-1">{claim.record_value}</code>' in page
    assert 'data-copy="record-name-1"' in page and 'data-copy="record-value-1"' in page and "js/copy.js" in page
    assert not routes_to(client, "jane@acme.com", acme)  # pending: before

    early = said(verify(ada, "acme.com", follow=True))
    assert "No TXT record at _inigo-challenge.acme.com yet" in early and "48 hours" in early
    assert not routes_to(client, "jane@acme.com", acme)

    publish_challenge(dns_zone, claim)
    done = said(verify(ada, "acme.com", follow=True))

    assert "acme.com is verified" in done
    assert claim_of(acme, "acme.com").state == DomainState.VERIFIED
    assert routes_to(client, "jane@acme.com", acme)  # after
    changes = LoginEvent.objects.filter(kind=EventKind.CONSOLE).order_by("pk")
    assert [(event.reason, event.user.sub, event.tenant) for event in changes] == [
        ("domain_added", "ada", acme), ("domain_verified", "ada", acme),
    ]  # the verify that found nothing changed nothing, and is no event


def test_a_wrong_value_and_a_unicode_domain_are_said_in_plain_words(dns_zone, acme, grace):
    add(grace, "Bücher.example")
    claim = claim_of(acme, "xn--bcher-kva.example")
    dns_zone.publish(claim.record_name, "inigo-domain-verification=from-another-page")

    page = said(verify(grace, "xn--bcher-kva.example", follow=True))

    assert "bücher.example" in page and "_inigo-challenge.xn--bcher-kva.example" in page
    assert 'holds another value ("inigo-domain-verification=from-another-page")' in page
    assert f"Publish exactly {claim.record_value}" in page
    assert claim_of(acme, "xn--bcher-kva.example").state == DomainState.PENDING


# --- Done when: a second tenant's claim to a verified domain, and gmail.com, are refused with a message ----------
@pytest.mark.parametrize(("typed", "words"), [
    ("ACME.test", "acme.test is verified by another organisation in Inigo. If it is yours, contact Inigo support."),
    ("gmail.com", "gmail.com is a public mail domain"),
    ("not a domain", "is not an email domain (expected something like acme.com)"),
    ("x" * 300, "That is longer than any domain (253 characters at most)"),
    ("globex.test", "globex.test is one of your domains already."),
])
def test_a_claim_inigo_refuses_is_a_400_with_a_message_and_changes_nothing(acme, bob, typed, words):
    response = add(bob, typed)

    assert response.status_code == 400
    assert words in said(response)
    assert "Acme" not in said(response)  # which organisation holds it is nobody else's business
    assert 'aria-invalid="true"' in said(response)
    assert TenantEmailDomain.objects.count() == 2  # acme.test and globex.test, as support entered them
    assert not LoginEvent.objects.exists()


def test_two_tenants_may_hold_a_domain_pending_and_the_first_to_verify_wins(client, dns_zone, acme, globex, ada,
                                                                            bob):
    add(ada, "shared.example")
    add(bob, "shared.example")
    dns_zone.publish("_inigo-challenge.shared.example", claim_of(acme, "shared.example").record_value,
                     claim_of(globex, "shared.example").record_value)

    assert "shared.example is verified" in said(verify(bob, "shared.example", follow=True))
    late = said(verify(ada, "shared.example", follow=True))

    assert "shared.example is verified by another organisation in Inigo" in late and "Globex" not in late
    assert routes_to(client, "jane@shared.example", globex)


# --- Done when: removing a domain makes /login/ answer "We don't recognise that email domain" at once -------------
def test_removing_a_verified_domain_stops_its_routing_at_once(client, dns_zone, acme, ada):
    add(ada, "acme.com")
    publish_challenge(dns_zone, claim_of(acme, "acme.com"))
    verify(ada, "acme.com")
    assert routes_to(client, "jane@acme.com", acme)

    removed = remove(ada, "acme.com", follow=True)

    assert "acme.com is removed: from now on, an address at acme.com" in said(removed)
    response = sign_in_page(client, "jane@acme.com")
    assert response.status_code == 400 and UNKNOWN_DOMAIN in response.content
    assert not TenantEmailDomain.objects.filter(domain="acme.com").exists()
    assert LoginEvent.objects.filter(reason="domain_removed", user__sub="ada").exists()


def test_removing_a_domain_support_entered_takes_it_off_the_staff_list(client, acme, grace):
    remove(grace, "acme.test")

    assert Tenant.objects.get(pk=acme.pk).email_domains == ""
    assert not routes_to(client, "jane@acme.test", acme)


# --- the page answers within 5 s whatever DNS does --------------------------------------------------------------
def test_the_page_answers_within_5_s_when_dns_never_answers(settings, acme, ada):
    add(ada, "acme.com")
    with silent_dns_server() as servers:
        settings.SSO_DNS_NAMESERVERS = servers
        started = time.monotonic()
        response = verify(ada, "acme.com")
        took = time.monotonic() - started

    print(f"/org/domains/ Verify against a DNS server that never answers: {response.status_code} after {took:.2f} s")
    assert response.status_code == 302 and took < 5
    assert "The DNS server did not answer" in said(ada.get(DOMAINS_URL))
    assert claim_of(acme, "acme.com").state == DomainState.PENDING


# --- who may: 404 for another tenant's domain, 403 for a member, a recent sign-in for every change ----------------
@pytest.mark.parametrize("action", ["verify", "remove"])
def test_another_tenants_domain_answers_404_and_changes_nothing(dns_zone, acme, ada, bob, action):
    add(ada, "acme.com")
    publish_challenge(dns_zone, claim_of(acme, "acme.com"))
    events = LoginEvent.objects.count()

    for domain in ("acme.com", "acme.test", "nobody.example", "not a domain", ""):
        assert bob.post(DOMAINS_URL, {"action": action, "domain": domain}).status_code == 404
    assert claim_of(acme, "acme.com").state == DomainState.PENDING
    assert claim_of(acme, "acme.test").is_verified
    assert LoginEvent.objects.count() == events
    assert [claim.domain for claim in bob.get(DOMAINS_URL).context["domains"]] == ["globex.test"]


def test_a_member_gets_the_403_page_on_the_page_and_its_posts(acme, ada):
    alan = signed_in_just_now(person(acme, "alan"))

    for response in (alan.get(DOMAINS_URL), add(alan, "acme.com"), remove(alan, "acme.test")):
        assert response.status_code == 403
        assert "The owner is <strong>Ada</strong> (ada@acme.test)" in said(response)
    assert not TenantEmailDomain.objects.filter(domain="acme.com").exists()
    assert claim_of(acme, "acme.test").is_verified


def test_someone_signed_out_goes_to_login_and_staff_to_the_admin(acme):
    assert Client().post(DOMAINS_URL, {"action": "remove", "domain": "acme.test"})["Location"] == "/login/"
    assert support_client().get(DOMAINS_URL).status_code == 403
    assert claim_of(acme, "acme.test").is_verified


@pytest.mark.parametrize(("action", "domain"), [("add", "acme.com"), ("verify", "acme.com"), ("remove", "acme.test")])
def test_a_change_on_an_old_sign_in_goes_through_okta_and_changes_nothing(provider, dns_zone, acme, ada, action,
                                                                          domain):
    add(ada, "acme.com")
    publish_challenge(dns_zone, claim_of(acme, "acme.com"))
    stale = console_client(User.objects.get(sub="ada"), recent=False)  # no auth_time: too old
    before = list(TenantEmailDomain.objects.values_list("domain", "state"))

    response = stale.post(DOMAINS_URL, {"action": action, "domain": domain})

    assert response.status_code == 302 and response["Location"].startswith(provider.issuer)
    assert (query_of(response["Location"])["prompt"], query_of(response["Location"])["max_age"]) == ("login", "0")
    assert list(TenantEmailDomain.objects.values_list("domain", "state")) == before


def test_an_unknown_action_is_a_400(acme, ada):
    response = ada.post(DOMAINS_URL, {"action": "delete", "domain": "acme.test"})

    assert response.status_code == 400
    assert claim_of(acme, "acme.test").is_verified


def test_the_page_lists_pending_domains_first_and_the_console_links_to_it(acme, grace):
    add(grace, "zeta.example")
    add(grace, "alpha.example")

    response = grace.get(DOMAINS_URL)

    assert [claim.domain for claim in response.context["domains"]] == ["alpha.example", "zeta.example", "acme.test"]
    assert 'href="/org/domains/" aria-current="page"' in said(response)
    assert "no-store" in response["Cache-Control"]
    assert said(response).count('value="verify"') == 2  # the pending ones
    assert 'href="/org/domains/"' in said(grace.get("/org/people/"))
