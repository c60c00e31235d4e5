"""Big groups: Okta pushes groups of 50,000 people. A PUT and a PATCH of a group of 50,000 mapped to admin each move
50,000 roles in one transaction (RFC 7644 section 3.5.2), in a bounded number of set-based statements, never one per
member. The figures go to docs/benchmarks.md ("Roles from Okta: a 50,000-member push")."""

import time
import uuid
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.events import EventKind
from accounts.models import GroupRole, LoginEvent, Role, TenantGroup, User
from accounts.roles import Reason, role_source_change
from tenants.models import RoleSource, Tenant
from tests.scim_helpers import GROUP_SCHEMA, PATCH_SCHEMA, scim_for
from tests.test_budgets import statements

PEOPLE = 50_000
# The token, the roles lock, the group, the member lookups (20,000 ids a SELECT), the group's UPDATE, its members
# now, one INSERT of the memberships (unnest), the provisioning event, role_source, the people's role inputs, one
# INSERT of the events (unnest), the deferred foreign-key checks (two SET CONSTRAINTS), then 5,000 people at a
# time a lock (SELECT of ids and roles) and one UPDATE, the answer's group and members.
STATEMENTS = 40


def people_seed(tenant: Tenant, count: int) -> list[dict[str, str]]:
    """`count` people Okta provisioned (no sign-in yet), as members of a PUT body: {"value": id, "display": name}."""
    now = timezone.now()
    users = [
        User(tenant=tenant, username=f"t{tenant.pk}-scim-{uuid.uuid4().hex}", role=Role.MEMBER, provisioned_at=now,
             scim_user_name=f"person{number}@acme.test", email=f"person{number}@acme.test")
        for number in range(count)
    ]
    User.objects.bulk_create(users, batch_size=5_000)
    return [{"value": user.scim_id, "display": user.scim_user_name} for user in users]


def user_updates() -> tuple[int, int]:
    """This transaction's UPDATEs of accounts_user so far, and how many of them were HOT (heap-only tuples)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'accounts_user'")
        return cursor.fetchone()


def timed(send: Any) -> tuple[Any, float, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = send()
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.content[:300]
    return response, elapsed, statements(queries)


def admin_group_under_okta(tenant: Tenant, okta: Any) -> str:
    """An empty group "Everyone" pushed by Okta and mapped to admin, with role_source okta: its SCIM id."""
    group_id = okta.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Everyone"}).json()["id"]
    TenantGroup.objects.filter(scim_id=group_id).update(role=GroupRole.ADMIN)
    role_source_change(tenant=tenant, role_source=RoleSource.OKTA, reason=Reason(EventKind.CONSOLE, "test"))
    return group_id


def test_a_push_of_50000_members_moves_their_roles_in_a_few_statements(postgres, acme, capsys):
    members = people_seed(acme, PEOPLE)
    okta = scim_for(acme)
    group_id = admin_group_under_okta(acme, okta)
    body = {"schemas": [GROUP_SCHEMA], "displayName": "Everyone", "members": members}

    updates_before = user_updates()
    put, put_seconds, put_statements = timed(lambda: okta.put(f"/Groups/{group_id}", body))
    updated, hot = (after - before for after, before in zip(user_updates(), updates_before, strict=True))

    # `role` is in no index and the pages have room (accounts 0016): every role UPDATE is HOT, no index written.
    # Only the PUT: the test's one transaction keeps its first versions alive, so the PATCH's need a third place.
    assert (updated, hot) == (PEOPLE, PEOPLE)

    assert len(put.json()["members"]) == PEOPLE
    assert User.objects.filter(tenant=acme, role=Role.ADMIN).count() == PEOPLE
    assert LoginEvent.objects.filter(tenant=acme, reason="role_changed", kind="provisioning").count() == PEOPLE
    assert len(put_statements) <= STATEMENTS, put_statements

    removal = {"schemas": [PATCH_SCHEMA], "Operations": [
        {"op": "replace", "value": {"id": group_id, "displayName": "Everyone"}},
        {"op": "remove", "path": "members", "value": [{"value": m["value"]} for m in members]}]}
    _, patch_seconds, patch_statements = timed(lambda: okta.patch(f"/Groups/{group_id}", removal))

    assert User.objects.filter(tenant=acme, role=Role.MEMBER).count() == PEOPLE
    assert not TenantGroup.objects.get(scim_id=group_id).members.exists()
    assert len(patch_statements) <= STATEMENTS, patch_statements
    with capsys.disabled():
        print(f"\n{PEOPLE} members, all changing role: PUT {len(body['members'])} members, {len(put_statements)} "
              f"statements, {put_seconds:.2f} s; PATCH remove, {len(patch_statements)} statements, "
              f"{patch_seconds:.2f} s ({len(removal['Operations'][1]['value'])} members); "
              f"the PUT's role updates: {hot} of {updated} HOT")
