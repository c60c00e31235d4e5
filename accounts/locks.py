"""Row locks for writes to people: one order everywhere, so that two writers never wait for each other in a circle.

- A write that can make or change a tenant's owner, or a person's activity (a first sign-in; SCIM's create,
  update, deactivation and delete; support staff's deactivation; an ownership transfer) locks the tenant's row
  first, then the person's: `person_lock`. Each such write of one tenant waits for the one before it, and sees
  what it committed.
- A write that touches many people (group membership, Sign out everywhere, Universal Logout) locks only those
  people, in id order, and never the tenant: `people_lock`. A tenant-first write that holds two people (a first
  sign-in linking a provisioned person, a transfer) locks them in id order too, so people are always locked in
  the same order, and the tenant's row is only ever taken first, before any person.
- A write that changes an input of a person's role (accounts.roles: a pushed group's members, a group's mapping,
  `role_source`, a transfer, a SCIM user create, update or delete: the roles Okta assigned) first takes the
  tenant's roles lock, `roles_lock`, before any row lock: such writes of one tenant run one after the other, so
  each decides roles from inputs the one before it committed (a member added to a group while that group is
  mapped to admin is never left a member). It is a PostgreSQL advisory lock, not a row: sign-ins never take it,
  so a 50,000-member push holds up no sign-in. Then the write locks only the people whose role changes, in id
  order.
- A first sign-in never waits for a person while it holds the tenant's row: it locks its person NOWAIT, and a row
  held elsewhere (by a write of many people's roles: a 50,000-member push holds the people whose role it changes
  from their chunk's UPDATE until it commits, about 3 s, as accounts.roles.roles_settle locks them last) ends its
  transaction, tenant lock included, with PeopleBusy; it then waits for the person holding nothing (`people_wait`)
  and starts again. Waiting with the tenant's lock held made every first
  sign-in of the tenant queue behind that one person: 10 to 18 s during a push (docs/benchmarks.md).
- A returning sign-in's profile update is an UPDATE of only the fields that changed: a lock on the person's row
  alone, held for one statement.

Every lock is FOR NO KEY UPDATE, never FOR UPDATE. Inserting a row that points at a tenant or a person (a login
event, a provisioning event, a group membership) takes FOR KEY SHARE on that row through its foreign key. FOR
UPDATE conflicts with KEY SHARE: a SCIM update holding the person and inserting its event waited for a first sign-in
holding the tenant FOR UPDATE, which waited for that person: a deadlock, answered 500. NO KEY UPDATE does not
conflict with KEY SHARE, and still conflicts with itself, so the writers above stay in line (PostgreSQL
documentation, "Explicit Locking", row-level lock modes). Every function here must run inside transaction.atomic().
"""

from django.db import OperationalError, connection, transaction
from django.db.models import QuerySet
from psycopg.errors import LockNotAvailable

from accounts.models import User
from tenants.models import Tenant

ROLES_LOCK_SPACE = 0x726F6C65  # "role": the first key of pg_advisory_xact_lock(int, int), the tenant id the second


def roles_lock(tenant_id: int) -> None:
    """Hold the tenant's roles lock until the transaction ends (PostgreSQL; elsewhere writers are serialised by
    the database itself)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ROLES_LOCK_SPACE, tenant_id])


def tenant_lock(tenant_id: int) -> None:
    """Lock the tenant's row until the transaction ends."""
    Tenant.objects.select_for_update(no_key=True).filter(pk=tenant_id).values_list("pk").first()


def person_lock(*, tenant_id: int, person: QuerySet[User]) -> User | None:
    """Lock the tenant, then the one person `person` selects, and return that person as committed now (None when
    there is no such person any more). What was read before the lock may be stale: use what this returns."""
    tenant_lock(tenant_id)
    return person.select_for_update(no_key=True, of=("self",)).filter(tenant_id=tenant_id).first()


def people_lock(people: QuerySet[User], *, nowait: bool = False) -> list[User]:
    """Lock these people, in id order, without their tenant, and return them as committed now. With `nowait`, a
    row another transaction holds raises PeopleBusy at once instead of waiting (PostgreSQL's NOWAIT)."""
    try:
        return list(people.select_for_update(no_key=True, nowait=nowait, of=("self",)).order_by("pk"))
    except OperationalError as error:
        if nowait and isinstance(error.__cause__, LockNotAvailable):
            raise PeopleBusy from error
        raise


class PeopleBusy(Exception):
    """Another transaction holds one of the people's rows (a write that changes many people's roles, say)."""


def people_wait(people: QuerySet[User]) -> None:
    """Wait until no other transaction holds these people's rows, holding nothing else meanwhile (its own
    transaction, people only, in id order: the order above)."""
    with transaction.atomic():
        people_lock(people)
