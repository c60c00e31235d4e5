"""/org/events/ through HTTP: Acme's owner and admin read Acme's events with the words the person saw; a member gets
the 403 page; Globex's events never appear; a search by reference in lower case finds it."""

from accounts.models import Role, User
from tests.test_activity_events import acme_story, person  # noqa: F401 (a fixture)
from tests.test_console_people import console_client

EVENTS_URL = "/org/events/"


def owner_of(tenant) -> User:
    return User.objects.get(tenant=tenant, role=Role.OWNER)


def test_the_owner_and_an_admin_read_every_kind_with_references(acme, acme_story):  # noqa: F811
    grace = person(acme, "grace", Role.ADMIN)
    for actor in (owner_of(acme), grace):
        response = console_client(actor).get(EVENTS_URL)

        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        page = response.content.decode()
        assert acme_story["refused"].reference in page and acme_story["globex"].reference not in page
        assert "Okta: User created" in page and "New Client ID and Client Secret saved" in page


def test_a_search_by_reference_in_lower_case_and_a_kind_filter(acme, acme_story):  # noqa: F811
    client = console_client(owner_of(acme))

    found = client.get(EVENTS_URL, {"q": acme_story["refused"].reference.lower()})
    console = client.get(EVENTS_URL, {"kind": "console"})

    assert found.context["page"].lines[0].reference == acme_story["refused"].reference
    assert len(found.context["page"].lines) == 1
    assert [line.kind for line in console.context["page"].lines] == ["console"]


def test_a_member_gets_the_page_that_names_the_owner(acme, acme_story):  # noqa: F811
    alan = person(acme, "alan", Role.MEMBER)

    response = console_client(alan).get(EVENTS_URL)

    assert response.status_code == 403 and acme_story["refused"].reference not in response.content.decode()


def test_bad_filters_and_positions_answer_the_page_not_an_error(acme, acme_story):  # noqa: F811
    client = console_client(owner_of(acme))

    response = client.get(EVENTS_URL, {"kind": "x" * 5000, "outcome": "maybe", "before": "9" * 40, "q": "%" * 300})

    assert response.status_code == 200
