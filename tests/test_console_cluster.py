"""Sign out everywhere, from the console and from the home page, ends the sessions at their next request on another
app server: two gunicorn servers on one PostgreSQL (tests/test_multiprocess.py's running_cluster). The person's
browser on server 1 is signed out by a click on server 0, and nothing else is."""

import os
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import profile
from tests.oidc_provider import ProviderHarness
from tests.test_multiprocess import Cluster, running_cluster

DATABASE = f"inigo_console_cluster_test_{os.getpid()}"


@pytest.fixture(scope="module")
def cluster(_acme_provider: ProviderHarness) -> Iterator[Cluster]:
    with running_cluster(_acme_provider, DATABASE) as running:
        running.provider.reset()
        for sub in ("ada", "alan", "grace"):
            running.provider.set_user(sub, profile(sub))
        yield running


def scim_id_of(cluster: Cluster, owner: requests.Session, email: str) -> str:
    """The person's console id, from the people list the owner sees."""
    page = cluster.get(0, "/org/people/", owner, q=email).text
    start = page.index("/org/people/", page.index("<tbody>")) + len("/org/people/")
    return page[start:page.index("/", start)]


def test_sign_out_everywhere_in_the_console_ends_the_session_on_the_other_server(cluster: Cluster):
    ada = cluster.login("ada", start=0, finish=0)  # the first to sign in: the owner
    alan = cluster.login("alan", start=1, finish=1)
    grace = cluster.login("grace", start=1, finish=1)
    assert cluster.get(1, "/api/me/", alan).status_code == 200

    done = cluster.post_form(0, f"/org/people/{scim_id_of(cluster, ada, 'alan@acme.test')}/", ada, action="sign_out")

    assert done.status_code == 302
    ended = cluster.get(1, "/api/me/", alan)
    assert (ended.status_code, ended.json()["reason"]) == (401, "session_ended_by_admin")
    assert cluster.get(1, "/api/me/", grace).status_code == 200  # nobody else
    assert cluster.get(1, "/api/me/", ada).status_code == 200


def test_sign_out_of_all_devices_on_the_home_page_ends_the_other_sessions_on_the_other_server(cluster: Cluster):
    laptop = cluster.login("grace", start=1, finish=1)
    phone = cluster.login("grace", start=0, finish=0)

    done = cluster.post_form(0, "/", phone, to="/sign-out-everywhere/")

    assert done.status_code == 302
    assert cluster.get(1, "/api/me/", laptop).json()["reason"] == "session_ended_by_self"
    assert cluster.get(1, "/api/me/", phone).status_code == 200  # the device that asked stays signed in
