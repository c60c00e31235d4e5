"""People provisioned by SCIM and people who were not, all signing in for the first time in the same second: one
owner, no error, one user per person (as tests/test_first_owner_race.py, on PostgreSQL)."""


import pytest
from django.test import Client

from accounts.models import Role, User
from tests.conftest import profile
from tests.scim_helpers import okta_user, scim_for
from tests.test_first_owner_race import finish_at_once

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
    statuses = finish_at_once(browsers)

    assert statuses == [302] * PEOPLE
    assert User.objects.filter(tenant=acme).count() == PEOPLE
    assert User.objects.filter(tenant=acme, role=Role.OWNER).count() == 1
    assert not User.objects.filter(tenant=acme, sub="").exists()
    assert not User.objects.filter(tenant=acme, last_login__isnull=True).exists()
