"""What provisioning may cost: a deactivating PATCH runs a fixed number of SQL statements, and Okta's `userName eq`
lookup and a GET by id are index lookups among 10,000 tenants and 200,000 users (seeded by bench/seed.py, the
benchmark's seeder)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from bench.seed import seed
from scim.services import scim_users, with_user_name
from tests.scim_helpers import deactivate, okta_user, scim_for
from tests.test_budgets import statements

# The token (one indexed lookup by digest, the tenant joined), the tenant's roles lock (an update is an input of the
# person's role: accounts.roles), the tenant's row lock, the user by id under its own lock (accounts.locks: a
# deactivation racing a first sign-in is never undone, and never deadlocks), its UPDATE, the provisioning event, and
# the tenant's role_source as committed under the roles lock (under `okta`, one more: the person's role inputs).
PATCH_DEACTIVATE_QUERIES = 7
# The token and the user by userName.
FILTER_QUERIES = 2
TENANTS_AT_SCALE = 10_000
USERS_AT_SCALE = 200_000


def test_a_deactivating_patch_stays_within_its_statement_budget(acme):
    okta = scim_for(acme)
    ada = okta.post("/Users", okta_user("ada@acme.test")).json()
    okta.get("/Users")  # "last called" was just written: the next write is a minute away

    with CaptureQueriesContext(connection) as queries:
        assert okta.patch(f"/Users/{ada['id']}", deactivate()).status_code == 200
    ran = statements(queries)
    assert len(ran) <= PATCH_DEACTIVATE_QUERIES, ran

    with CaptureQueriesContext(connection) as queries:
        assert okta.get("/Users", {"filter": 'userName eq "ADA@acme.test"'}).json()["totalResults"] == 1
    assert len(statements(queries)) <= FILTER_QUERIES, statements(queries)


def _uses_index(plan: str, index: str) -> None:
    assert "Seq Scan" not in plan, plan
    assert index in plan, plan


def test_username_filter_and_get_by_id_are_index_lookups_at_scale(db, capsys):
    if connection.vendor != "postgresql":
        pytest.skip(f"EXPLAIN among 200,000 users (seeded with PostgreSQL's COPY) is checked on PostgreSQL; this run "
                    f"uses {connection.vendor}. Set DATABASE_URL=postgres://...")
    tenant_ids = seed(tenants=TENANTS_AT_SCALE, users=USERS_AT_SCALE)
    tenant_id = tenant_ids[4_321]
    user = User.objects.filter(tenant_id=tenant_id).order_by("pk").last()
    from tenants.models import Tenant

    tenant = Tenant.objects.get(pk=tenant_id)
    assert User.objects.count() >= USERS_AT_SCALE

    by_name = with_user_name(scim_users(tenant), user.scim_user_name.upper()).explain()
    by_id = scim_users(tenant).filter(scim_id=user.scim_id).explain()

    _uses_index(by_name, "user_scim_user_name_unique")
    _uses_index(by_id, "user_scim_id_unique")
    assert with_user_name(scim_users(tenant), user.scim_user_name.upper()).get() == user
    with capsys.disabled():
        print(f"\nEXPLAIN userName eq:\n{by_name}\nEXPLAIN GET by id:\n{by_id}")
