"""Every statement a login sends to the database on its way, built once per process: the session's read, insert and
update, the tenant by its slug or id, the active tenants of an issuer (the Okta tile), the person by (tenant,
issuer, sub), the session's person with their tenant (every signed-in request), the login event's insert, and the
sign-in's transaction.

Why a module of its own. Django's ORM builds and compiles each query again on every call: for the returning
person's one SELECT that is about 0.7 ms of CPU of its 0.86 ms, and a login runs a dozen such statements. Here each
statement is compiled once, by the ORM itself, from the same queryset or model save the rest of the code would
use (so a migration cannot leave a statement behind: tests/test_hot_path.py holds each one to the ORM's SQL), and
is then sent with new values through Django's cursor. Rows become models through `Model.from_db`, with the
fields' converters (the tenant's client secret is decrypted as the ORM would). Only reads and two inserts go this
way: a write to a person stays on the model, because `User.save` ends their sessions when `is_active` changes.

On PostgreSQL, a round trip is also spent per message, not per statement: Django's psycopg cursors bind values on
the client, so several statements go as one simple-protocol message. The callback reads its session and its tenant
in one message (session_and_tenant), and the sign-in's transaction takes two (SignIn): BEGIN with the old
session's removal, then the login event, the new session and COMMIT. SQLite (the development server) gets the same
statements one at a time, in `transaction.atomic()`.

Nothing here decides anything: callers check what they read, as they did with the ORM.
"""

import datetime
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.contrib.sessions.models import Session
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models.sql import InsertQuery, UpdateQuery
from django.utils import timezone
from psycopg.pq import TransactionStatus

from accounts.models import LoginEvent, User
from tenants import selectors
from tenants.models import Tenant

# Values the statements are compiled with, found again among the compiled parameters: each marks where one
# argument goes. Never sent: only the compiled SQL is kept.
_TEXT_MARKS = ("\x00hot-path-1\x00", "\x00hot-path-2\x00", "\x00hot-path-3\x00")
_INT_MARKS = (-7_001_001, -7_001_002)
_TIME_MARK = datetime.datetime(1901, 2, 3, 4, 5, 6, 789, tzinfo=datetime.UTC)


@dataclass(frozen=True)
class Read:
    """A SELECT compiled once: its SQL, where each argument goes, and how its rows become models."""

    sql: str
    slots: tuple[int, ...]  # for each parameter of `sql`, the index of the argument that fills it
    compiler: Any
    converters: dict[int, Any]
    model: type[models.Model]
    init_list: tuple[str, ...]
    fields: slice
    related: tuple[tuple[type[models.Model], tuple[str, ...], slice, int, Callable[[Any, Any], None]], ...]

    def params(self, arguments: Sequence[Any]) -> list[Any]:
        return [arguments[slot] for slot in self.slots]

    def models_from(self, rows: list[Any], alias: str) -> list[Any]:
        if self.converters:
            rows = list(self.compiler.apply_converters(rows, self.converters))
        found = []
        for row in rows:
            obj = self.model.from_db(alias, self.init_list, row[self.fields])
            for model, init_list, fields, pk_index, local_setter in self.related:
                # A nullable foreign key's LEFT OUTER JOIN gives NULLs: no related object (Django's RelatedPopulator).
                local_setter(obj, None if row[pk_index] is None else model.from_db(alias, init_list, row[fields]))
            found.append(obj)
        return found


def _read(queryset: models.QuerySet, marks: Sequence[Any]) -> Read:
    """The compiled form of `queryset`, whose filter values are `marks` (distinct, each used at most once)."""
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    slots = tuple(_slot(param, marks) for param in params)
    select, klass_info = compiler.select, compiler.klass_info
    converters = compiler.get_converters([column[0] for column in select])

    def columns(info: dict[str, Any]) -> tuple[tuple[str, ...], slice]:
        start, end = info["select_fields"][0], info["select_fields"][-1] + 1
        return tuple(column[0].target.attname for column in select[start:end]), slice(start, end)

    init_list, fields = columns(klass_info)

    def pk_index(info: dict[str, Any]) -> int:
        pk = info["model"]._meta.pk
        return next(index for index in info["select_fields"] if select[index][0].target == pk)

    related = tuple(
        (info["model"], *columns(info), pk_index(info), info["local_setter"])
        for info in klass_info.get("related_klass_infos", ())
    )
    return Read(sql, slots, compiler, converters, klass_info["model"], init_list, fields, related)


def _slot(param: Any, marks: Sequence[Any]) -> int:
    for index, mark in enumerate(marks):
        if param == mark and type(param) is type(mark):
            return index
    raise AssertionError(f"a compiled parameter that is none of the arguments: {param!r}")


@dataclass(frozen=True)
class Write:
    """An INSERT or UPDATE compiled once: its SQL, and the fields whose values fill it, in order."""

    sql: str
    compiler: Any
    fields: tuple[models.Field, ...]
    returns_pk: bool


def _insert(model: type[models.Model], alias: str) -> Write:
    """What `obj.save(force_insert=True)` sends for a new row of `model` (Model._save_table's insert)."""
    meta = model._meta
    fields = tuple(f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field)
    query = InsertQuery(model)
    query.insert_values(fields, [model()])
    compiler = query.get_compiler(using=alias)
    compiler.returning_fields = meta.db_returning_fields
    ((sql, _params),) = compiler.as_sql()
    return Write(sql, compiler, fields, returns_pk=bool(meta.db_returning_fields))


@dataclass(frozen=True)
class Update:
    """A session's UPDATE compiled once: its SQL, and for each parameter the argument (key, data, expiry) it takes."""

    sql: str
    slots: tuple[int, ...]


def _session_update(alias: str) -> Update:
    """What a session's `save(force_update=True)` sends (Model._do_update): its data and expiry, by key."""
    connection = connections[alias]
    time_mark = connection.ops.adapt_datetimefield_value(_TIME_MARK)
    marks = (_TEXT_MARKS[0], _TEXT_MARKS[1], time_mark)
    query = Session.objects.using(alias).filter(pk=marks[0]).query.chain(UpdateQuery)
    meta = Session._meta
    query.add_update_fields([(meta.get_field("session_data"), None, marks[1]),
                             (meta.get_field("expire_date"), None, _TIME_MARK)])
    sql, params = query.get_compiler(using=alias).as_sql()
    return Update(sql, tuple(_slot(param, marks) for param in params))


@dataclass(frozen=True)
class Statements:
    session: Read
    session_delete: str  # DELETE ... RETURNING the data and whether it had not expired
    session_insert: Write
    session_update: Update
    tenant_by_slug: Read
    tenant_by_id: Read
    tenants_of_issuer: Read
    person: Read
    person_with_tenant: Read
    event_insert: Write
    multi_statement: bool  # several statements may go in one message (PostgreSQL's client-side binding)


def _build(alias: str) -> Statements:
    connection = connections[alias]
    sessions = Session.objects.using(alias)
    people = User.objects.using(alias)
    time_mark = connection.ops.adapt_datetimefield_value(_TIME_MARK)
    table = connection.ops.quote_name(Session._meta.db_table)
    key, data, expiry = (connection.ops.quote_name(Session._meta.get_field(name).column)
                         for name in ("session_key", "session_data", "expire_date"))
    return Statements(
        # SessionStore._get_session_from_db
        session=_read(sessions.filter(session_key=_TEXT_MARKS[0], expire_date__gt=_TIME_MARK)[:21],
                      (_TEXT_MARKS[0], time_mark)),
        session_delete=f"DELETE FROM {table} WHERE {key} = %s RETURNING {data}, {expiry} > %s",  # noqa: S608
        session_insert=_insert(Session, alias),
        session_update=_session_update(alias),
        tenant_by_slug=_read(selectors.tenant_of_slug(_TEXT_MARKS[0]).using(alias), _TEXT_MARKS[:1]),
        tenant_by_id=_read(Tenant.objects.using(alias).filter(pk=_INT_MARKS[0]).order_by("pk")[:1], _INT_MARKS[:1]),
        tenants_of_issuer=_read(selectors.tenants_of_issuer(_TEXT_MARKS[0]).using(alias), _TEXT_MARKS[:1]),
        # accounts.services.user_provision: the person of (tenant, issuer, sub)
        person=_read(people.filter(tenant_id=_INT_MARKS[0], issuer=_TEXT_MARKS[0], sub=_TEXT_MARKS[1])
                     .order_by("pk")[:1], (_INT_MARKS[0], _TEXT_MARKS[0], _TEXT_MARKS[1])),
        # TenantOIDCBackend.get_user: the session's person with their tenant, whose secret nothing after sign-in needs
        person_with_tenant=_read(people.select_related("tenant").defer("tenant__client_secret")
                                 .filter(pk=_INT_MARKS[0]).order_by("pk")[:1], _INT_MARKS[:1]),
        event_insert=_insert(LoginEvent, alias),
        multi_statement=connection.vendor == "postgresql" and not connection.settings_dict.get(
            "OPTIONS", {}).get("server_side_binding"),
    )


_built: dict[str, Statements] = {}
_build_lock = threading.Lock()


def statements(alias: str = DEFAULT_DB_ALIAS) -> Statements:
    """This process's statements for the database `alias`, built at the first use."""
    built = _built.get(alias)
    if built is None:
        with _build_lock:
            built = _built.get(alias) or _build(alias)
            _built[alias] = built
    return built


# Reads


def _all(read: Read, arguments: Sequence[Any], alias: str) -> list[Any]:
    with connections[alias].cursor() as cursor:
        cursor.execute(read.sql, read.params(arguments))
        return read.models_from(cursor.fetchall(), alias)


def _one(read: Read, arguments: Sequence[Any], alias: str) -> Any:
    found = _all(read, arguments, alias)
    return found[0] if found else None


def session_read(session_key: str, alias: str = DEFAULT_DB_ALIAS) -> Session | None:
    """The session row under this key, unless it has expired (Django's SessionStore.load)."""
    now = connections[alias].ops.adapt_datetimefield_value(timezone.now())
    return _one(statements(alias).session, (session_key, now), alias)


def tenant_by_id(pk: int, alias: str = DEFAULT_DB_ALIAS) -> Tenant | None:
    return _one(statements(alias).tenant_by_id, (pk,), alias)


def tenant_by_slug(slug: str, alias: str = DEFAULT_DB_ALIAS) -> Tenant | None:
    return _one(statements(alias).tenant_by_slug, (slug,), alias)


def tenants_of_issuer(issuer: str, alias: str = DEFAULT_DB_ALIAS) -> list[Tenant]:
    """tenants.selectors.tenants_of_issuer, as a list."""
    return _all(statements(alias).tenants_of_issuer, (issuer,), alias)


def person_by_identity(*, tenant_id: int, issuer: str, sub: str, alias: str = DEFAULT_DB_ALIAS) -> User | None:
    return _one(statements(alias).person, (tenant_id, issuer, sub), alias)


def person_with_tenant(pk: Any, alias: str = DEFAULT_DB_ALIAS) -> User | None:
    return _one(statements(alias).person_with_tenant, (pk,), alias)


def session_and_tenant(
    session_key: str | None, slug: str, alias: str = DEFAULT_DB_ALIAS
) -> tuple[Session | None, Tenant | None]:
    """The callback's two reads in one round trip: its session (None when there is no cookie, or it expired) and
    the tenant its URL names (None for an unknown slug)."""
    built = statements(alias)
    if session_key is None:
        return None, tenant_by_slug(slug, alias)
    if not built.multi_statement:
        return session_read(session_key, alias), tenant_by_slug(slug, alias)
    now = connections[alias].ops.adapt_datetimefield_value(timezone.now())
    with connections[alias].cursor() as cursor:
        cursor.execute(f"{built.session.sql}; {built.tenant_by_slug.sql}",
                       [*built.session.params((session_key, now)), *built.tenant_by_slug.params((slug,))])
        sessions = built.session.models_from(cursor.fetchall(), alias)
        cursor.nextset()
        tenants = built.tenant_by_slug.models_from(cursor.fetchall(), alias)
    return (sessions[0] if sessions else None), (tenants[0] if tenants else None)


# Writes


def _values(write: Write, obj: models.Model) -> list[Any]:
    """The parameters of `write` for `obj`, prepared as Model.save prepares them (defaults, auto_now_add)."""
    compiler = write.compiler
    return [compiler.prepare_value(field, compiler.pre_save_val(field, obj)) for field in write.fields]


def _inserted(write: Write, obj: models.Model, cursor: Any, alias: str) -> None:
    if write.returns_pk:
        obj.pk = cursor.fetchone()[0]
    obj._state.adding = False
    obj._state.db = alias


def _insert_one(write: Write, obj: models.Model, alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute(write.sql, _values(write, obj))
        _inserted(write, obj, cursor, alias)


def session_insert(row: Session, alias: str = DEFAULT_DB_ALIAS) -> None:
    """INSERT a new session row; an IntegrityError when its key is taken."""
    _insert_one(statements(alias).session_insert, row, alias)


# PostgreSQL: a transaction that does not wait for its WAL to reach the disk (an asynchronous commit). Sent in the
# same message as its statement, which then runs as that message's implicit transaction block: the setting holds for
# it alone, and a statement that fails rolls the block back, leaving no transaction open.
ASYNCHRONOUS_COMMIT = "SET LOCAL synchronous_commit TO off"


def session_update(row: Session, alias: str = DEFAULT_DB_ALIAS, *, asynchronous_commit: bool = False) -> bool:
    """UPDATE a session row's data and expiry; False when the row is gone. `asynchronous_commit`: on PostgreSQL,
    committed without waiting for the disk (the callback's state entry removal: accounts.session_store)."""
    built = statements(alias)
    update = built.session_update
    connection = connections[alias]
    arguments = (row.pk, row.session_data, connection.ops.adapt_datetimefield_value(row.expire_date))
    params = [arguments[slot] for slot in update.slots]
    with connection.cursor() as cursor:
        # Inside a transaction the setting would hold for the rest of it, its own commit included: a caller's
        # atomic(), or one Django is not told of (SignIn's, between its two messages), which psycopg knows.
        if asynchronous_commit and built.multi_statement and not connection.in_atomic_block and _idle(connection):
            cursor.execute(f"{ASYNCHRONOUS_COMMIT}; {update.sql}", params)
            cursor.nextset()
        else:
            cursor.execute(update.sql, params)
        return cursor.rowcount > 0


def event_insert(event: LoginEvent, alias: str = DEFAULT_DB_ALIAS) -> None:
    """INSERT a login event (its reference may clash: an IntegrityError, which the caller draws again for)."""
    _insert_one(statements(alias).event_insert, event, alias)


def _idle(connection: Any) -> bool:
    """No transaction open on the server, as psycopg tracks it (no round trip)."""
    raw = connection.connection
    return raw is not None and raw.info.transaction_status == TransactionStatus.IDLE


# The sign-in's transaction


class SignIn:
    """One transaction signs a person in (accounts.oidc.views): the session read and its old row deleted, then the
    login event and the new session row. A session never exists without its event. On PostgreSQL it is two round
    trips: `BEGIN; DELETE ... RETURNING` when it opens, `INSERT; INSERT; COMMIT` in `commit`."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.built = statements(alias)
        # Inside a caller's transaction (a test's), or on SQLite: the statements one at a time, in atomic().
        self.messages = self.built.multi_statement and not connections[alias].in_atomic_block
        self.open = False

    def take_over(self, session_key: str) -> tuple[str | None, bool]:
        """The old row's data and whether it had not expired, deleting it; (None, False) when there is none."""
        connection = connections[self.alias]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            if self.messages:
                self.open = True  # from before it is sent: a failure of the DELETE leaves the BEGIN's transaction open
                cursor.execute(f"BEGIN; {self.built.session_delete}", [session_key, now])
                cursor.nextset()
            else:
                cursor.execute(self.built.session_delete, [session_key, now])
            row = cursor.fetchone()
        return (row[0], bool(row[1])) if row else (None, False)

    def commit(self, *, event: LoginEvent, session_row: Session | None) -> None:
        """The event, the new session row (None: the session keeps its row) and COMMIT."""
        if not self.messages:  # inside atomic() (sign_in): one statement at a time
            event_insert(event, self.alias)
            if session_row is not None:
                session_insert(session_row, self.alias)
            return
        event_write, session_write = self.built.event_insert, self.built.session_insert
        sql, params = [event_write.sql], _values(event_write, event)
        if session_row is not None:
            sql.append(session_write.sql)
            params += _values(session_write, session_row)
        with connections[self.alias].cursor() as cursor:
            # One message; an INSERT that fails skips what follows it (COMMIT too) and leaves the transaction
            # aborted, which the caller's block then rolls back.
            cursor.execute("; ".join([*sql, "COMMIT"]), params)
            self.open = False  # committed
            _inserted(event_write, event, cursor, self.alias)
            if session_row is not None:
                _inserted(session_write, session_row, cursor, self.alias)

    def rollback(self) -> None:
        """ROLLBACK whatever of the transaction the server still holds open: the block ended without its commit, or
        a message failed partway (an INSERT refused skips the COMMIT after it and leaves the transaction aborted).
        Asked of the server, not of a flag: a connection must never go back to Django mid-transaction."""
        if not self.open:
            return
        self.open = False
        raw = connections[self.alias].connection
        if raw is not None and raw.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
            with connections[self.alias].cursor() as cursor:
                cursor.execute("ROLLBACK")


@contextmanager
def sign_in(alias: str = DEFAULT_DB_ALIAS) -> Iterator[SignIn]:
    """The sign-in's transaction: everything in the block is one transaction, committed by `SignIn.commit`, rolled
    back if the block ends any other way (an exception, a return before the commit)."""
    signing_in = SignIn(alias)
    if not signing_in.messages:
        with transaction.atomic(using=alias):
            yield signing_in
        return
    try:
        yield signing_in
    finally:
        signing_in.rollback()
