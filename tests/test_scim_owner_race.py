"""People provisioned by SCIM and people who were not, all signing in for the first time in the same second: one
owner, no error, one user per person (as tests/test_first_owner_race.py, on PostgreSQL)."""

import threading

import pytest
from django.db import connection
from django.test import Client

from accounts.models import Role, User
from tests.conftest import profile
from tests.scim_helpers import okta_user, scim_for

PEOPLE = 12


@pytest.mark.django_db(transaction=True)
def test_first_sign_ins_of_provisioned_and_new_people_race_to_exactly_one_owner(postgres, provider, acme):
    okta = scim_for(acme)
    for number in range(PEOPLE):
        if number % 3 == 0:  # provisioned with externalId
            created = okta.post("/Users", okta_user(f"p{number}@acme.test", external_id=f"person{number}"))
            assert created.status_code == 201
        elif number % 3 == 1:  # provisioned without: linked by preferred_username
            assert okta.post("/Users", okta_user(f"p{number}@acme.test", external_id=None)).status_code == 201
    browsers = []
    for number in range(PEOPLE):
        sub = f"person{number}"
        provider.set_user(sub, profile(sub, preferred_username=f"p{number}@acme.test"))
        client = Client()
        started = client.get("/oidc/initiate/", {"iss": provider.issuer})
        browsers.append((client, provider.authorize(started["Location"], sub)))
    barrier = threading.Barrier(PEOPLE)
    statuses: list[int] = []

    def finish_login(client: Client, callback: str) -> None:
        try:
            barrier.wait(timeout=10)
            statuses.append(client.get(callback).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=finish_login, args=browser) for browser in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert statuses == [302] * PEOPLE
    assert User.objects.filter(tenant=acme).count() == PEOPLE
    assert User.objects.filter(tenant=acme, role=Role.OWNER).count() == 1
    assert not User.objects.filter(tenant=acme, sub="").exists()
    assert not User.objects.filter(tenant=acme, last_login__isnull=True).exists()
