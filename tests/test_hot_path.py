"""accounts.hot_path: each statement built once is the one the ORM sends for the same query, and gives back the
same models. A migration that adds, renames or drops a column changes both sides, or fails here."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg.pq import TransactionStatus

from accounts import hot_path
from accounts.models import LoginEvent, User
from accounts.session_store import SessionStore
from tenants.models import Tenant


class Sent:
    """Every statement sent on the default connection, with its parameters, as the ORM hands them to the driver."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, list[Any]]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements.append((sql, list(params or ())))
        return execute(sql, params, many, context)


def sent(action: Any) -> tuple[Any, list[tuple[str, list[Any]]]]:
    recorder = Sent()
    with connection.execute_wrapper(recorder):
        result = action()
    return result, recorder.statements


def fields(obj: Any) -> dict[str, Any]:
    return {field.attname: getattr(obj, field.attname) for field in type(obj)._meta.concrete_fields
            if field.attname not in obj.get_deferred_fields()}


@pytest.fixture
def person(acme: Tenant) -> User:
    return User.objects.create(username="t-alice", tenant=acme, issuer=acme.issuer, sub="alice", email="a@acme.test",
                               role="member", last_login=timezone.now())


@pytest.fixture
def session_row(db: None) -> Session:
    store = SessionStore()
    store["pending"] = "x"
    store.save()
    return Session.objects.get(pk=store.session_key)


def test_the_tenant_reads_are_the_orms(acme: Tenant):
    orm, orm_sql = sent(lambda: Tenant.objects.filter(slug="acme").order_by("pk").first())
    ours, our_sql = sent(lambda: hot_path.tenant_by_slug("acme"))
    assert our_sql == orm_sql
    assert fields(ours) == fields(orm)
    assert ours.client_secret == orm.client_secret != ""  # decrypted by the field's converter, as the ORM does
    assert ours._loaded_is_active is True  # Tenant.from_db ran

    orm, orm_sql = sent(lambda: Tenant.objects.filter(pk=acme.pk).order_by("pk").first())
    ours, our_sql = sent(lambda: hot_path.tenant_by_id(acme.pk))
    assert our_sql == orm_sql
    assert fields(ours) == fields(orm)
    orm, orm_sql = sent(lambda: list(Tenant.objects.filter(issuer=acme.issuer, is_active=True).order_by("name")[:50]))
    ours, our_sql = sent(lambda: hot_path.tenants_of_issuer(acme.issuer))
    assert our_sql == orm_sql
    assert [fields(tenant) for tenant in ours] == [fields(tenant) for tenant in orm] != []
    assert hot_path.tenant_by_slug("nobody") is None
    assert hot_path.tenant_by_id(acme.pk + 1000) is None


def test_the_person_reads_are_the_orms(acme: Tenant, person: User):
    orm, orm_sql = sent(lambda: User.objects.filter(tenant_id=acme.pk, issuer=acme.issuer, sub="alice")
                        .order_by("pk").first())
    ours, our_sql = sent(lambda: hot_path.person_by_identity(tenant_id=acme.pk, issuer=acme.issuer, sub="alice"))
    assert our_sql == orm_sql
    assert fields(ours) == fields(orm)
    assert ours._loaded_is_active is True  # User.from_db ran: a later save that switches them off ends sessions

    orm, orm_sql = sent(lambda: User.objects.select_related("tenant").defer("tenant__client_secret")
                        .filter(pk=person.pk).order_by("pk").first())
    ours, our_sql = sent(lambda: hot_path.person_with_tenant(person.pk))
    assert our_sql == orm_sql
    assert fields(ours) == fields(orm)
    assert fields(ours.tenant) == fields(orm.tenant)
    assert "client_secret" in ours.tenant.get_deferred_fields()
    assert hot_path.person_by_identity(tenant_id=acme.pk, issuer=acme.issuer, sub="bob") is None


def test_the_session_read_is_djangos(session_row: Session):
    def django_read() -> Any:
        return Session.objects.get(session_key=session_row.pk, expire_date__gt=timezone.now())

    orm, orm_sql = sent(django_read)
    ours, our_sql = sent(lambda: hot_path.session_read(session_row.pk))
    assert [sql for sql, _ in our_sql] == [sql for sql, _ in orm_sql]
    assert our_sql[0][1][1] == session_row.pk  # the key; [0] is "now", which moved on
    assert fields(ours) == fields(orm)

    Session.objects.filter(pk=session_row.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert hot_path.session_read(session_row.pk) is None


def test_the_session_and_the_tenant_in_one_message_are_the_two_reads(acme: Tenant, session_row: Session):
    (row, tenant), ours = sent(lambda: hot_path.session_and_tenant(session_row.pk, "acme"))
    _, session_sql = sent(lambda: hot_path.session_read(session_row.pk))
    _, tenant_sql = sent(lambda: hot_path.tenant_by_slug("acme"))
    if connection.vendor == "postgresql":
        assert [sql for sql, _ in ours] == [f"{session_sql[0][0]}; {tenant_sql[0][0]}"]
    else:
        assert [sql for sql, _ in ours] == [session_sql[0][0], tenant_sql[0][0]]
    assert (row.pk, tenant.pk) == (session_row.pk, acme.pk)
    assert hot_path.session_and_tenant("no-such-key", "nobody") == (None, None)


def test_the_inserts_and_the_update_are_the_orms(acme: Tenant, person: User):
    def event() -> LoginEvent:
        return LoginEvent(tenant=acme, user=person, outcome="success", reason="ok", kind="signin", email="a@acme.test")

    _, orm_sql = sent(lambda: event().save(force_insert=True))
    ours = event()
    _, our_sql = sent(lambda: hot_path.event_insert(ours))
    assert [sql for sql, _ in our_sql] == [sql for sql, _ in orm_sql if "SAVEPOINT" not in sql]
    stored = LoginEvent.objects.get(pk=ours.pk)
    assert fields(stored) == fields(ours)
    assert not ours._state.adding

    store = SessionStore()
    store["a"] = 1
    row = store.create_model_instance(store._get_session(no_load=True))
    row.session_key = "k" * 28
    _, orm_sql = sent(lambda: Session(session_key="j" * 28, session_data=row.session_data,
                                      expire_date=row.expire_date).save(force_insert=True))
    _, our_sql = sent(lambda: hot_path.session_insert(row))
    assert [sql for sql, _ in our_sql] == [sql for sql, _ in orm_sql if "SAVEPOINT" not in sql]
    with pytest.raises(IntegrityError), transaction.atomic():
        hot_path.session_insert(row)  # the key is taken

    row.session_data = "changed"
    _, orm_sql = sent(lambda: Session(session_key="j" * 28, session_data="changed",
                                      expire_date=row.expire_date).save(force_update=True))
    _, our_sql = sent(lambda: hot_path.session_update(row))
    assert [sql for sql, _ in our_sql] == [sql for sql, _ in orm_sql if "SAVEPOINT" not in sql]
    assert our_sql[0][1] == [value if value != "j" * 28 else "k" * 28 for value in orm_sql[-1][1]]
    assert Session.objects.get(pk="k" * 28).session_data == "changed"
    assert hot_path.session_update(Session(session_key="gone" * 7, session_data="", expire_date=row.expire_date)) \
        is False


# The sign-in's transaction in two messages, as it runs in production: autocommit, on PostgreSQL.


def idle() -> bool:
    return connection.connection.info.transaction_status == TransactionStatus.IDLE


@pytest.mark.django_db(transaction=True)
def test_a_sign_in_that_ends_before_its_commit_leaves_nothing_behind(postgres, session_row: Session):
    with pytest.raises(RuntimeError), hot_path.sign_in() as signing_in:
        assert signing_in.messages
        data, live = signing_in.take_over(session_row.pk)
        assert live and data == session_row.session_data
        raise RuntimeError("the sign-in failed between its two messages")

    assert idle()  # never handed back to Django mid-transaction
    assert Session.objects.filter(pk=session_row.pk).exists()  # the old row's removal rolled back


@pytest.mark.django_db(transaction=True)
def test_a_refused_insert_in_the_commit_message_rolls_the_whole_sign_in_back(postgres, acme, person,
                                                                               session_row: Session):
    taken = LoginEvent.objects.create(tenant=acme, user=person, outcome="success", reason="ok", kind="signin")
    clash = LoginEvent(tenant=acme, user=person, outcome="success", reason="ok", kind="signin",
                       reference=taken.reference)
    new_row = Session(session_key="n" * 28, session_data=session_row.session_data, expire_date=session_row.expire_date)

    with pytest.raises(IntegrityError), hot_path.sign_in() as signing_in:
        signing_in.take_over(session_row.pk)
        signing_in.commit(event=clash, session_row=new_row)  # the event's INSERT fails: its COMMIT is skipped

    assert idle()
    assert Session.objects.filter(pk=session_row.pk).exists()
    assert not Session.objects.filter(pk=new_row.pk).exists()
    assert LoginEvent.objects.count() == 1

    event = LoginEvent(tenant=acme, user=person, outcome="success", reason="ok", kind="signin")
    with hot_path.sign_in() as signing_in:
        signing_in.take_over(session_row.pk)
        signing_in.commit(event=event, session_row=new_row)
    assert idle()
    assert list(Session.objects.values_list("pk", flat=True)) == [new_row.pk]
    assert LoginEvent.objects.filter(pk=event.pk).exists()


# The state entry's removal, committed asynchronously (SessionStore.removal_commits_asynchronously)


@pytest.mark.django_db(transaction=True)
def test_an_asynchronous_session_update_is_its_own_transaction_and_changes_no_other(postgres, session_row: Session):
    session_row.session_data = "removed"
    _, our_sql = sent(lambda: hot_path.session_update(session_row, asynchronous_commit=True))

    update = hot_path.statements().session_update.sql
    assert [sql for sql, _ in our_sql] == [f"{hot_path.ASYNCHRONOUS_COMMIT}; {update}"]  # one message
    with connection.cursor() as cursor:  # in such a message the setting holds, for that message's transaction
        cursor.execute(f"{hot_path.ASYNCHRONOUS_COMMIT}; SELECT current_setting('synchronous_commit')")
        cursor.nextset()
        assert cursor.fetchone() == ("off",)
    assert idle()  # the message's implicit transaction has committed
    assert Session.objects.get(pk=session_row.pk).session_data == "removed"
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")  # SET LOCAL held for that message's transaction alone
        assert cursor.fetchone() == ("on",)
    gone = Session(session_key="gone" * 7, session_data="", expire_date=session_row.expire_date)
    assert hot_path.session_update(gone, asynchronous_commit=True) is False
    assert idle()


@pytest.mark.django_db(transaction=True)
def test_a_failed_asynchronous_update_leaves_no_transaction_open(postgres, session_row: Session):
    """The UPDATE fails on the server after the SET of its message (here: it waits for a row another connection
    holds, past the statement timeout): the message's implicit transaction rolls back, and Django gets the
    connection back idle, as after any failed statement in autocommit."""
    import psycopg
    from django.db import OperationalError

    holder = psycopg.connect(conninfo=connection.connection.info.dsn, password=connection.settings_dict["PASSWORD"])
    try:
        holder.execute("SELECT 1 FROM django_session WHERE session_key = %s FOR UPDATE", [session_row.pk])
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 100")
        session_row.session_data = "removed"
        with pytest.raises(OperationalError, match="statement timeout"):
            hot_path.session_update(session_row, asynchronous_commit=True)
        assert idle()
    finally:
        holder.rollback()
        holder.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")
    assert Session.objects.get(pk=session_row.pk).session_data != "removed"


def test_inside_a_transaction_a_session_update_never_changes_how_it_commits(postgres, session_row: Session):
    # Any caller's transaction: SET LOCAL would hold for the rest of it, its COMMIT included.
    with transaction.atomic():
        _, our_sql = sent(lambda: hot_path.session_update(session_row, asynchronous_commit=True))
    assert [sql for sql, _ in our_sql] == [hot_path.statements().session_update.sql]


@pytest.mark.django_db(transaction=True)
def test_between_the_sign_in_s_two_messages_a_session_update_never_changes_how_it_commits(postgres,
                                                                                          session_row: Session):
    # SignIn's transaction is one Django is not told of: SET LOCAL there would make the sign-in's COMMIT, the one
    # that makes the removal durable, asynchronous too.
    other = SessionStore()
    other["x"] = 1
    other.save()
    row = Session.objects.get(pk=other.session_key)
    with hot_path.sign_in() as signing_in:
        signing_in.take_over(session_row.pk)
        assert not connection.in_atomic_block
        _, our_sql = sent(lambda: hot_path.session_update(row, asynchronous_commit=True))
    assert [sql for sql, _ in our_sql] == [hot_path.statements().session_update.sql]
    assert idle()
