"""Email domains, verified (SPEC): a domain an organisation adds routes /login/ only once its DNS TXT record is
published and verified, against a real DNS server on loopback (tests/dns_server.py).

Acme's owner Ada adds acme.com; Globex's admin Bob would like it too; support staff Sam vouches for domains."""

import io
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import override_settings

from accounts.email_domains import email_domain_add, email_domain_remove, email_domain_verify
from accounts.events import EventKind
from accounts.models import LoginEvent, Role
from tenants.dns_challenge import Outcome, challenge_lookup
from tenants.domains import DomainError, a_label, domain_of_email, parse_email_domains
from tenants.models import DomainState, Tenant, TenantEmailDomain
from tests.dns_server import silent_dns_server
from tests.test_admin_tenants import add_form_data, change_form_data, change_url, errors_of, support_client
from tests.test_admin_users import person

UNKNOWN_DOMAIN = b"We don&#x27;t recognise that email domain"


@pytest.fixture
def ada(acme):
    return person(acme, "ada", Role.OWNER)


@pytest.fixture
def bob(globex):
    return person(globex, "bob", Role.ADMIN)


def publish_challenge(dns_zone, claim: TenantEmailDomain) -> None:
    dns_zone.publish(claim.record_name, claim.record_value)


def sign_in_page(client, email: str):
    return client.post("/login/", {"email": email})


def routes_to(client, email: str, tenant: Tenant) -> bool:
    response = sign_in_page(client, email)
    if response.status_code == 400:
        assert UNKNOWN_DOMAIN in response.content
        return False
    assert response.status_code == 302, response.content[:300]
    return response["Location"].startswith(tenant.issuer)


# --- the domain as typed, stored and compared --------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "stored"), [
    ("Acme.com", "acme.com"),
    ("@acme.co.uk", "acme.co.uk"),
    ("Bücher.Example", "xn--bcher-kva.example"),
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("eu.acme.com.", "eu.acme.com"),
])
def test_it_stores_a_domain_as_its_lower_case_a_label(typed, stored):
    assert a_label(typed.lstrip("@")) == stored
    assert parse_email_domains(typed) == [stored]


@pytest.mark.parametrize(("typed", "words"), [
    ("gmail.com", "public mail domain"),
    ("GoogleMail.com", "public mail domain"),
    ("localhost", "is not an email domain"),
    ("10.0.0.1", "is not an email domain"),
    ("acme..com", "is not an email domain"),
    ("☃.com", "is not an email domain"),
    ("x" * 250 + ".com", "is not an email domain"),
])
def test_it_refuses_what_is_not_a_domain_and_public_mail_domains(typed, words):
    with pytest.raises(DomainError, match=words):
        parse_email_domains(typed)


def test_login_compares_the_typed_domain_as_its_a_label():
    assert domain_of_email("jane@BÜCHER.example") == "xn--bcher-kva.example"
    assert domain_of_email("jane@") is None
    assert domain_of_email("jane@☃.com") is None


# --- the DNS lookup against a real server ------------------------------------------------------------------------
def test_the_lookup_finds_the_record_among_others(dns_zone):
    dns_zone.publish("_inigo-challenge.acme.com", "v=spf1 -all", "inigo-domain-verification=t0k")

    assert challenge_lookup("_inigo-challenge.acme.com", "inigo-domain-verification=t0k").outcome is Outcome.FOUND


def test_no_such_name_is_missing(dns_zone):  # NXDOMAIN
    lookup = challenge_lookup("_inigo-challenge.acme.com", "inigo-domain-verification=t0k")

    assert lookup.outcome is Outcome.MISSING
    assert dns_zone.questions == ["_inigo-challenge.acme.com"]


def test_a_name_without_txt_records_is_missing(dns_zone):  # NOERROR, no answer
    dns_zone.publish("_inigo-challenge.acme.com")

    assert challenge_lookup("_inigo-challenge.acme.com", "x").outcome is Outcome.MISSING


def test_another_value_is_reported_with_what_was_found(dns_zone):
    dns_zone.publish("_inigo-challenge.acme.com", "inigo-domain-verification=someone-elses")

    lookup = challenge_lookup("_inigo-challenge.acme.com", "inigo-domain-verification=t0k")

    assert lookup.outcome is Outcome.OTHER_VALUE
    assert lookup.values == ("inigo-domain-verification=someone-elses",)


def test_servfail_is_a_server_that_did_not_answer(dns_zone):
    dns_zone.fail("_inigo-challenge.acme.com")

    lookup = challenge_lookup("_inigo-challenge.acme.com", "x")

    assert lookup.outcome is Outcome.NO_ANSWER
    assert "SERVFAIL" in lookup.problem


def test_a_server_that_never_answers_costs_at_most_the_lookup_time(settings):
    with silent_dns_server() as servers:
        settings.SSO_DNS_NAMESERVERS = servers
        started = time.monotonic()
        lookup = challenge_lookup("_inigo-challenge.acme.com", "x")
        took = time.monotonic() - started

    print(f"silent DNS server: answered {lookup.outcome.value} after {took:.2f} s")
    assert lookup.outcome is Outcome.NO_ANSWER
    assert settings.SSO_DNS_LOOKUP_SECONDS - 0.5 < took < 5


def test_a_long_value_split_into_character_strings_is_joined(dns_zone):
    value = "inigo-domain-verification=" + "k" * 400  # over 255 bytes: published as several strings
    encoded = value.encode()
    dns_zone.publish("_inigo-challenge.acme.com", [encoded[:255], encoded[255:]])

    assert challenge_lookup("_inigo-challenge.acme.com", value).outcome is Outcome.FOUND
    assert challenge_lookup("_inigo-challenge.acme.com", value[:255]).outcome is Outcome.OTHER_VALUE


def test_many_records_come_over_tcp_after_a_truncated_answer(dns_zone):
    noise = [f"site-verification-{number:02d}=" + "n" * 90 for number in range(40)]
    dns_zone.publish("_inigo-challenge.acme.com", *noise, "inigo-domain-verification=t0k")

    lookup = challenge_lookup("_inigo-challenge.acme.com", "inigo-domain-verification=t0k")

    assert lookup.outcome is Outcome.FOUND
    assert dns_zone.questions == ["_inigo-challenge.acme.com"] * 2  # UDP (truncated), then TCP


@override_settings(OIDC_MAX_CHECKS_PER_PROCESS=1)
def test_a_verify_while_every_check_slot_is_taken_asks_nothing(dns_zone):
    from okta.provider import check_slot

    with check_slot(requests=1):
        lookup = challenge_lookup("_inigo-challenge.acme.com", "x")

    assert lookup.outcome is Outcome.BUSY and lookup.retry_in >= 1
    assert dns_zone.questions == []


# --- add, verify, route, remove ----------------------------------------------------------------------------------
def test_a_domain_routes_only_after_its_record_is_published_and_verified(client, dns_zone, acme, ada):
    claim = email_domain_add(tenant=acme, typed="Acme.com", by=ada)

    assert (claim.domain, claim.state, claim.added_by) == ("acme.com", DomainState.PENDING, "ada@acme.test")
    assert claim.record_name == "_inigo-challenge.acme.com"
    assert claim.record_value.startswith("inigo-domain-verification=") and len(claim.token) >= 32
    assert not routes_to(client, "jane@acme.com", acme)  # pending never routes

    early = email_domain_verify(claim=claim, by=ada)
    assert not early.verified
    assert "No TXT record at _inigo-challenge.acme.com yet" in early.message and "48 hours" in early.message
    assert not routes_to(client, "jane@acme.com", acme)

    publish_challenge(dns_zone, claim)  # the record appears later
    done = email_domain_verify(claim=claim, by=ada)

    assert done.verified and "acme.com is verified" in done.message
    assert TenantEmailDomain.objects.get(pk=claim.pk).state == DomainState.VERIFIED
    assert routes_to(client, "jane@ACME.com", acme)


def test_a_wrong_value_does_not_verify_and_says_what_to_publish(dns_zone, acme, ada):
    claim = email_domain_add(tenant=acme, typed="acme.com", by=ada)
    dns_zone.publish(claim.record_name, "inigo-domain-verification=not-this-one")

    result = email_domain_verify(claim=claim, by=ada)

    assert not result.verified
    assert '"inigo-domain-verification=not-this-one"' in result.message
    assert f"Publish exactly {claim.record_value}" in result.message
    assert TenantEmailDomain.objects.get(pk=claim.pk).state == DomainState.PENDING


def test_a_dns_server_that_never_answers_leaves_the_domain_pending_within_5_s(settings, acme, ada):
    claim = email_domain_add(tenant=acme, typed="acme.com", by=ada)
    with silent_dns_server() as servers:
        settings.SSO_DNS_NAMESERVERS = servers
        started = time.monotonic()
        result = email_domain_verify(claim=claim, by=ada)
        took = time.monotonic() - started

    assert took < 5
    assert not result.verified and "The DNS server did not answer" in result.message
    assert TenantEmailDomain.objects.get(pk=claim.pk).state == DomainState.PENDING


def test_a_unicode_domain_is_verified_and_routed_by_its_a_label(client, dns_zone, acme, ada):
    claim = email_domain_add(tenant=acme, typed="Bücher.example", by=ada)
    dns_zone.publish("_inigo-challenge.xn--bcher-kva.example", claim.record_value)

    assert email_domain_verify(claim=claim, by=ada).verified
    assert str(claim) == "bücher.example"
    assert routes_to(client, "jane@BÜCHER.example", acme)
    assert routes_to(client, "jane@xn--bcher-kva.example", acme)


def test_a_subdomain_is_its_own_domain(client, dns_zone, acme, ada):
    claim = email_domain_add(tenant=acme, typed="acme.com", by=ada)
    publish_challenge(dns_zone, claim)
    email_domain_verify(claim=claim, by=ada)

    assert routes_to(client, "jane@acme.com", acme)
    assert not routes_to(client, "jane@eu.acme.com", acme)


def test_removing_a_domain_stops_its_routing_at_once(client, dns_zone, acme, ada):
    claim = email_domain_add(tenant=acme, typed="acme.com", by=ada)
    publish_challenge(dns_zone, claim)
    email_domain_verify(claim=claim, by=ada)
    assert routes_to(client, "jane@acme.com", acme)

    email_domain_remove(claim=claim, by=ada)

    response = sign_in_page(client, "jane@acme.com")
    assert response.status_code == 400 and UNKNOWN_DOMAIN in response.content


def test_each_step_is_a_console_event_of_the_tenant(dns_zone, acme, ada):
    claim = email_domain_add(tenant=acme, typed="acme.com", by=ada)
    publish_challenge(dns_zone, claim)
    email_domain_verify(claim=claim, by=ada)
    email_domain_remove(claim=claim, by=ada)

    events = LoginEvent.objects.filter(tenant=acme).order_by("created_at", "pk")
    assert [(event.reason, event.kind, event.user) for event in events] == [
        ("domain_added", EventKind.CONSOLE, ada), ("domain_verified", EventKind.CONSOLE, ada),
        ("domain_removed", EventKind.CONSOLE, ada),
    ]
    assert events[2].detail == "acme.com removed (verified) by ada@acme.test"
    assert claim.token not in " ".join(event.detail for event in events)


# --- one verified owner ------------------------------------------------------------------------------------------
def test_two_tenants_may_hold_a_domain_pending_and_the_first_to_verify_wins(client, dns_zone, acme, ada, globex,
                                                                            bob):
    acme_claim = email_domain_add(tenant=acme, typed="shared.example", by=ada)
    globex_claim = email_domain_add(tenant=globex, typed="shared.example", by=bob)
    assert acme_claim.token != globex_claim.token  # a token per tenant and domain
    dns_zone.publish(acme_claim.record_name, acme_claim.record_value, globex_claim.record_value)

    assert email_domain_verify(claim=globex_claim, by=bob).verified
    late = email_domain_verify(claim=acme_claim, by=ada)

    assert not late.verified and "verified by another organisation" in late.message
    assert "Globex" not in late.message
    assert routes_to(client, "jane@shared.example", globex)


def test_a_domain_another_tenant_verified_cannot_be_added(acme, globex, bob):
    # globex.test was entered by support staff for Globex: verified.
    with pytest.raises(DomainError, match=r"globex\.test is verified by another organisation"):
        email_domain_add(tenant=acme, typed="GLOBEX.test", by=bob)
    with pytest.raises(DomainError, match="public mail domain"):
        email_domain_add(tenant=acme, typed="gmail.com", by=bob)
    with pytest.raises(DomainError, match="one of your domains already"):
        email_domain_add(tenant=acme, typed="acme.test", by=bob)
    assert not TenantEmailDomain.objects.filter(tenant=acme).exclude(domain="acme.test").exists()


def test_the_database_keeps_one_verified_owner_per_domain(acme, globex):
    with pytest.raises(IntegrityError), transaction.atomic():
        TenantEmailDomain.objects.create(tenant=acme, domain="globex.test", state=DomainState.VERIFIED)


# --- support staff: the field, the trap, admin, add_tenant --------------------------------------------------------
def test_saving_the_staff_list_never_touches_a_domain_the_customer_added(acme, ada):
    claim = email_domain_add(tenant=acme, typed="acme.com", by=ada)

    acme.email_domains = "acme.org"  # acme.test taken out, acme.org put in
    acme.save()

    assert dict(TenantEmailDomain.objects.filter(tenant=acme).values_list("domain", "state")) == {
        "acme.com": DomainState.PENDING, "acme.org": DomainState.VERIFIED,
    }
    assert TenantEmailDomain.objects.get(pk=claim.pk).token == claim.token


def test_removing_a_staff_domain_takes_it_off_the_staff_list(client, acme, ada):
    claim = TenantEmailDomain.objects.get(tenant=acme, domain="acme.test")
    assert claim.entered_by_staff and claim.is_verified

    email_domain_remove(claim=claim, by=ada)
    Tenant.objects.get(pk=acme.pk).save()  # a later save in admin does not bring it back

    assert Tenant.objects.get(pk=acme.pk).email_domains == ""
    assert not TenantEmailDomain.objects.filter(tenant=acme).exists()
    assert not routes_to(client, "jane@acme.test", acme)


def test_a_public_domain_saved_before_the_rule_never_routes(client, acme):
    Tenant.objects.filter(pk=acme.pk).update(email_domains="acme.test,gmail.com")
    Tenant.objects.get(pk=acme.pk).save()

    assert not routes_to(client, "someone@gmail.com", acme)


def test_add_tenant_refuses_a_public_mail_domain(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret\n"))

    with pytest.raises(CommandError, match=r"gmail\.com is a public mail domain"):
        call_command("add_tenant", "acme", "--name", "Acme", "--okta-domain", "acme.okta.com",
                     "--client-id", "0oa1", "--email-domain", "gmail.com")
    assert not Tenant.objects.exists()


def test_admin_refuses_a_public_domain_and_another_tenants_verified_one(globex, public_dns):
    support = support_client()

    public = support.post("/admin/tenants/tenant/add/", add_form_data(email_domains="acme.test, gmail.com"))
    taken = support.post("/admin/tenants/tenant/add/", add_form_data(email_domains="globex.test"))

    assert "gmail.com is a public mail domain" in errors_of(public)["email_domains"][0]
    assert errors_of(taken)["email_domains"] == ["globex.test already belongs to Globex."]


def test_support_sees_each_domains_state_and_verifies_or_removes_any(dns_zone, acme, ada):
    pending = email_domain_add(tenant=acme, typed="acme.com", by=ada)
    support = support_client()

    tenant_page = support.get(change_url(acme)).content.decode()
    listing = support.get("/admin/tenants/tenantemaildomain/").content.decode()

    assert "Email domains and their state" in tenant_page and "added by ada@acme.test" in tenant_page
    assert "acme.com" in listing and "Pending" in listing and "Verified" in listing
    publish_challenge(dns_zone, pending)
    support.post("/admin/tenants/tenantemaildomain/", {"action": "verify", "_selected_action": [pending.pk]})
    assert TenantEmailDomain.objects.get(pk=pending.pk).is_verified
    support.post("/admin/tenants/tenantemaildomain/", {"action": "remove", "_selected_action": [pending.pk]})
    assert not TenantEmailDomain.objects.filter(pk=pending.pk).exists()
    assert LoginEvent.objects.get(reason="domain_removed").detail == (
        "acme.com removed (verified) by support staff sam.support")


def test_a_domain_support_types_in_admin_is_verified_and_routes(client, acme, ada):
    email_domain_add(tenant=acme, typed="acme.com", by=ada)
    support = support_client()
    data = change_form_data(support.get(change_url(acme)))
    data["email_domains"] = "acme.test, acme.com"

    response = support.post(change_url(acme), data)

    assert response.status_code == 302
    claim = TenantEmailDomain.objects.get(tenant=acme, domain="acme.com")
    assert claim.is_verified and claim.entered_by_staff
    assert routes_to(client, "jane@acme.com", acme)


# --- configuration -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "servers"), [
    ("", []),
    ("10.0.0.2", [("10.0.0.2", 53)]),
    ("127.0.0.1:5353, [::1]:54, ::1", [("127.0.0.1", 5353), ("::1", 54), ("::1", 53)]),
])
def test_dns_nameservers_are_addresses_with_optional_ports(monkeypatch, value, servers):
    from inigo_sso.env import env_nameservers

    monkeypatch.setenv("SSO_DNS_NAMESERVERS", value)
    assert env_nameservers("SSO_DNS_NAMESERVERS") == servers


@pytest.mark.parametrize("value", ["dns.example", "127.0.0.1:0", "127.0.0.1:x", "[::1]:70000"])
def test_a_dns_nameserver_that_is_not_an_address_stops_the_start(monkeypatch, value):
    from django.core.exceptions import ImproperlyConfigured

    from inigo_sso.env import env_nameservers

    monkeypatch.setenv("SSO_DNS_NAMESERVERS", value)
    with pytest.raises(ImproperlyConfigured):
        env_nameservers("SSO_DNS_NAMESERVERS")


# --- the migration -----------------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_todays_domains_routing_as_verified_staff_domains():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("tenants", "0004_i15_connection_check_results")], [("tenants", "0005_i31_verified_email_domains")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    tenant = old.get_model("tenants", "Tenant").objects.create(
        name="Acme", slug="acme", okta_domain="acme.okta.com", issuer="https://acme.okta.com", client_id="c",
        email_domains="acme.com,acme.org")
    for domain in ("acme.com", "acme.org"):
        old.get_model("tenants", "TenantEmailDomain").objects.create(tenant=tenant, domain=domain)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # every app: migrating back to tenants 0004 unapplied others

    claims = list(TenantEmailDomain.objects.order_by("domain"))
    assert [(claim.domain, claim.state, claim.entered_by_staff) for claim in claims] == [
        ("acme.com", DomainState.VERIFIED, True), ("acme.org", DomainState.VERIFIED, True)]
    assert claims[0].token != claims[1].token and all(claim.verified_at for claim in claims)
    assert TenantEmailDomain.objects.create(tenant_id=tenant.pk, domain="new.example").state == DomainState.PENDING
