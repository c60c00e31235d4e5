"""Login events support staff can work with: columns with the catalogue's words, filters that stay usable with
10,000 tenants, exact searches an index answers, and the tenant filled in wherever it is known."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.console_changes import CREDENTIALS_ROTATED, console_event_record
from accounts.models import LoginEvent, Role, User
from activity.health import tenant_health
from inigo_sso.failures import FAILURES
from support.user_admin import LoginEventAdmin
from tenants.models import Tenant
from tests.test_admin_tenants import page_text, support_client

EVENTS_URL = "/admin/accounts/loginevent/"
REASONS_URL = "/admin/accounts/loginevent/reasons/"


@pytest.fixture
def support(db):
    return support_client()


@pytest.fixture
def events(acme: Tenant, globex: Tenant) -> dict[str, LoginEvent]:
    made = {
        "alice": LoginEvent.objects.create(kind="signin", tenant=acme, outcome="success", reason="ok",
                                           email="Alice@Acme.test",
                                           subject="00ualice", ip_address="203.0.113.7"),
        "uma": LoginEvent.objects.create(kind="signin", tenant=acme, outcome="failure", reason="user_not_assigned",
                                         subject="00uuma", ip_address="2001:db8::15"),
        "gina": LoginEvent.objects.create(kind="signin", tenant=globex, outcome="failure", reason="state_missing",
                                          email="gina@globex.test", ip_address="198.51.100.1"),
    }
    LoginEvent.objects.filter(pk=made["gina"].pk).update(created_at=timezone.now() - timedelta(days=10))
    return made


def listed(client, **params: object) -> list[str]:
    response = client.get(EVENTS_URL, params)
    assert response.status_code == 200
    return sorted(event.subject or event.email for event in response.context["cl"].result_list)


def test_each_row_shows_time_with_seconds_and_zone_tenant_person_outcome_and_reasons_words(support, events):
    page = page_text(support.get(EVENTS_URL))

    uma = events["uma"]
    assert f"{uma.created_at:%-d %b %Y, %H:%M:%S} UTC" in page
    assert "Acme" in page and "Globex" in page
    assert "alice@acme.test".lower() in page.lower()
    assert "00uuma" in page  # no email: the subject stands in
    assert FAILURES["user_not_assigned"].title in page
    assert f'{REASONS_URL}#user_not_assigned' in page


def test_an_events_page_is_titled_in_words_and_labels_the_ip_address(support, events):
    uma = events["uma"]

    page = page_text(support.get(f"{EVENTS_URL}{uma.pk}/change/"))

    title = f"Failure: user_not_assigned ({uma.reference}), {uma.created_at:%-d %b %Y, %H:%M:%S} UTC"
    assert str(uma) == title and title in page
    assert "IP address:" in page and "Ip address" not in page
    assert "2001:db8::15" in page


def test_the_typed_unverified_email_is_shown_apart(events):
    event = events["uma"]
    event.typed_email = "uma@acme.test"  # the field issue 11 adds; read with getattr until then

    shown = LoginEventAdmin(LoginEvent, None).person(event)

    assert "00uuma" in shown
    assert "typed, unverified: uma@acme.test" in shown


def test_it_filters_by_tenant_outcome_reason_and_date(support, events, globex):
    assert listed(support, tenant__id__exact=globex.pk) == ["gina@globex.test"]
    assert listed(support, outcome__exact="failure") == ["00uuma", "gina@globex.test"]
    assert listed(support, reason="user_not_assigned") == ["00uuma"]
    since = str((timezone.now() - timedelta(days=7)).replace(hour=0, minute=0, second=0, microsecond=0))
    assert listed(support, created_at__gte=since) == ["00ualice", "00uuma"]
    assert listed(support, tenant__id__exact="not-a-number") == []


def test_the_tenant_filter_never_lists_every_tenant_and_its_autocomplete_finds_one(support, events):
    Tenant.objects.bulk_create(
        Tenant(name=f"Tenant number {n}", slug=f"t{n}", okta_domain=f"t{n}.okta.com", issuer=f"https://t{n}.okta.com",
               client_id="c") for n in range(50)
    )

    page = page_text(support.get(EVENTS_URL))
    found = support.get("/admin/autocomplete/", {"app_label": "accounts", "model_name": "loginevent",
                                                 "field_name": "tenant", "term": "number 42"}).json()

    assert "Tenant number 7" not in page
    assert 'class="admin-autocomplete"' in page
    assert [result["text"] for result in found["results"]] == ["Tenant number 42 (t42)"]


def test_the_chosen_tenant_stays_shown_in_its_filter(support, events, globex):
    page = page_text(support.get(EVENTS_URL, {"tenant__id__exact": globex.pk}))

    assert f'<option value="{globex.pk}" selected>Globex (globex)</option>' in page


@pytest.mark.parametrize(("term", "found"), [
    ("alice@acme.test", ["00ualice"]),  # exact email, any case
    ("ALICE@ACME.TEST", ["00ualice"]),
    ("alice@acme", []),  # not a part of an email: an index answers only exact matches
    ("00uuma", ["00uuma"]),
    ("203.0.113.7", ["00ualice"]),
    ("2001:DB8::15", ["00uuma"]),
    ("Acme", []),
])
def test_it_searches_exact_email_subject_and_ip(support, events, term, found):
    assert listed(support, q=term) == found


def test_it_finds_an_event_by_its_reference_typed_in_any_case(support, events):
    reference = events["gina"].reference

    assert listed(support, q=reference.lower()) == ["gina@globex.test"]
    assert listed(support, q=f"  {reference} ") == ["gina@globex.test"]


def test_searches_are_equality_lookups_not_scans(support, events):
    with CaptureQueriesContext(connection) as queries:
        support.get(EVENTS_URL, {"q": "alice@acme.test"})

    searches = [query["sql"] for query in queries.captured_queries if "accounts_loginevent" in query["sql"]]
    assert searches
    assert not [sql for sql in searches if " LIKE " in sql.upper()]


def test_the_list_never_counts_every_event(support, events):
    response = support.get(EVENTS_URL, {"reason": "ok"})

    assert response.context["cl"].show_full_result_count is False
    paginator = response.context["cl"].paginator
    assert paginator.count == 1
    assert paginator.COUNT_LIMIT == 1_000


def test_the_reasons_page_explains_every_reason(support, events):
    page = page_text(support.get(REASONS_URL))

    for code, failure in FAILURES.items():
        assert f'id="{code}"' in page
        assert failure.title.replace("'", "&#x27;") in page


def test_an_event_page_says_what_its_reason_means(support, events):
    page = page_text(support.get(f"{EVENTS_URL}{events['uma'].pk}/change/"))

    assert events["uma"].reference in page
    assert FAILURES["user_not_assigned"].action in page


def test_people_outside_support_do_not_reach_the_reasons_page(client, db):
    assert client.get(REASONS_URL).status_code == 302  # to the admin login


# --- the tenant is filled in wherever it is known ----------------------------------------------------------------
def test_an_initiate_for_an_inactive_tenant_records_that_tenant(client, provider, acme):
    Tenant.objects.filter(pk=acme.pk).update(is_active=False)

    client.get("/oidc/initiate/", {"iss": provider.issuer})

    assert LoginEvent.objects.get().tenant == acme


def test_an_initiate_by_slug_with_another_orgs_iss_records_the_tenant(client, provider, acme):
    client.get("/oidc/initiate/acme/", {"iss": "https://other.okta.com"})

    event = LoginEvent.objects.get()
    assert (event.reason, event.tenant) == ("issuer_mismatch", acme)


def test_a_login_page_email_of_a_known_domain_records_the_tenant(client, provider, acme):
    Tenant.objects.filter(pk=acme.pk).update(is_active=False)

    client.post("/login/", {"email": "uma@acme.test"})

    event = LoginEvent.objects.get()
    assert (event.reason, event.tenant, event.typed_email) == ("tenant_inactive", acme, "uma@acme.test")
    assert event.email == ""  # typed, unverified: never the person's email


def test_a_refused_callback_records_the_tenant_of_its_state(client, browser, provider, acme):
    provider.set_user("uma", {"email": "uma@acme.test"})
    started = client.get("/oidc/initiate/", {"iss": provider.issuer})
    state = dict(part.split("=", 1) for part in started["Location"].split("?", 1)[1].split("&"))["state"]

    client.get("/oidc/callback/", {"state": state, "error": "access_denied"})

    assert LoginEvent.objects.get().tenant == acme



def test_past_the_count_limit_the_list_says_more_than(support, acme, monkeypatch):
    monkeypatch.setattr("support.user_admin.BoundedCountPaginator.COUNT_LIMIT", 3)
    LoginEvent.objects.bulk_create(
        LoginEvent(kind="signin", tenant=acme, outcome="success", reason="ok") for _ in range(5)
    )

    page = page_text(support.get(EVENTS_URL))
    LoginEvent.objects.filter(pk__in=LoginEvent.objects.values("pk")[:2]).delete()
    exactly = page_text(support.get(EVENTS_URL))

    assert "More than 3 login events" in page
    assert "More than" not in exactly and "3 login events" in exactly


def test_console_changes_are_listed_beside_the_others_filtered_by_kind_with_who_made_them(support, events, acme):
    ada = User.objects.create(username="ada", tenant=acme, issuer=acme.issuer, sub="00uada", email="ada@acme.test",
                              name="Ada", role=Role.OWNER)
    console_event_record(request=None, actor=ada, reason=CREDENTIALS_ROTATED, what="New Client ID saved")

    assert listed(support, kind="console") == ["00uada"]
    assert listed(support, kind="signin") == ["00ualice", "00uuma", "gina@globex.test"]
    page = page_text(support.get(EVENTS_URL, {"kind": "console"}))
    assert "New Client ID and Client Secret saved" in page
    event = LoginEvent.objects.get(kind="console")
    assert "by Ada (ada@acme.test, owner)" in page_text(support.get(f"{EVENTS_URL}{event.pk}/change/"))
    assert tenant_health(tenant=acme).successes == 1  # Alice's sign-in, not Ada's change
