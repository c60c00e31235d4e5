"""Django's database sessions, with the statements a sign-in does not need taken out, and the rest built once.

Sessions stay in the database (a login started on one app server finishes on another, and a Redis outage loses no
session). Django's backend spends four statements on the new session key that `auth.login` asks for (OWASP: a new
key at every sign-in, against session fixation): a SELECT to check the new key is free, an INSERT of the new row,
a SELECT and a DELETE of the old one; and the response then UPDATEs the row it has just inserted. Here:
- the new key is not looked up first: `secrets.token_urlsafe(21)`, 168 bits (Django's 32 characters of 36 letters
  held 165), does not collide, and if one ever did the primary key would refuse the INSERT, and a fresh key is drawn;
- the new row is written once (an INSERT instead of INSERT + UPDATE);
- the sign-in reads the session after the token exchange and deletes its old row in one statement (take_over:
  DELETE ... RETURNING), where mozilla-django-oidc's reload and then auth.login's cycle_key took a SELECT and a
  DELETE (other old rows go in one DELETE, without reading them first);
- a session's read, INSERT or UPDATE is compiled once per process (accounts.hot_path) and goes alone, in
  autocommit, without the BEGIN and COMMIT Django puts around it (the callback's state entry removal goes with a
  SET LOCAL in the same message, as that message's own transaction: removal_commits_asynchronously);
- the sign-in inserts its new row in its own transaction (accounts.hot_path.SignIn, row_for_sign_in), and the
  response's save, which follows with nothing changed, then writes nothing;
- the callback may hand the session its row, read in the same round trip as the tenant (preload).
"""

import secrets

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.contrib.sessions.models import Session
from django.db import IntegrityError, router, transaction

from accounts import hot_path

# 21 random bytes: 28 characters of the URL-safe alphabet (RFC 4648 section 5), as much entropy as Django's
# get_random_string(32, VALID_KEY_CHARS) draws, from the same `secrets` source, without its per-character loop.
SESSION_KEY_BYTES = 21


class SessionStore(db.SessionStore):
    _insert_on_save = False
    _saved_in_transaction = False  # the sign-in's transaction wrote the session, and nothing has changed it since
    _next_update_asynchronous = False  # see removal_commits_asynchronously

    @property  # type: ignore[override]
    def modified(self) -> bool:
        return self._modified

    @modified.setter
    def modified(self, value: bool) -> None:
        # Every change Django makes to a session (set, pop, flush, cycle_key...) sets this.
        self._modified = value
        if value:
            self._saved_in_transaction = False

    def _get_new_session_key(self) -> str:
        return secrets.token_urlsafe(SESSION_KEY_BYTES)

    def _get_session_from_db(self) -> Session | None:
        row = hot_path.session_read(self.session_key, router.db_for_read(self.model)) if self.session_key else None
        if row is None:
            self._session_key = None  # as Django's: a key with no live row is forgotten
        return row

    def preload(self, row: Session | None) -> None:
        """This session's row as the caller has just read it (accounts.hot_path.session_and_tenant): what load()
        would have read, without its round trip."""
        if row is None:
            self._session_key = None
        self._session_cache = self.decode(row.session_data) if row is not None else {}

    def removal_commits_asynchronously(self, on: bool = True) -> None:
        """The next UPDATE of this session is a callback's state entry removal (mozilla-django-oidc saves it before the
        token request): committed without waiting for PostgreSQL's WAL to reach the disk (an asynchronous commit), which
        takes about half a millisecond off a sign-in here (docs/benchmarks.md). Every other request sees it at once, as
        with any commit; only a crash of the database server (or an immediate shutdown) before the WAL is flushed could
        undo it, and PostgreSQL's WAL writer flushes it within 3 x wal_writer_delay (0.6 s by default). Every answer the
        callback gives for a sign-in, a re-check, a re-authentication or a refusal waits for a commit of its own first
        (the sign-in's transaction, the re-check's session, the others' login event), which flushes the WAL up to there,
        the removal included; only an unexpected 5xx writes nothing. So a removal can be lost only in a crash before its
        callback has answered, or within that fraction of a second after a 5xx, and what comes back then is a state
        entry of this browser's own session: with a code already exchanged, which Okta refuses (RFC 6749 section 4.1.2),
        or with one never exchanged, which can finish that browser's own sign-in once more. No other browser, person or
        tenant gains anything. Every other session write waits for the disk, as Django's do. `on=False` takes it back
        when no UPDATE came."""
        self._next_update_asynchronous = on

    def cycle_key(self) -> None:
        data = self._session
        old_key = self.session_key
        # A row still to be inserted (taken over, or a key cycled before) has no old row to delete.
        stored = old_key is not None and not self._insert_on_save
        self._session_key = self._get_new_session_key()
        self._session_cache = data
        self._insert_on_save = True
        self.modified = True
        if stored:
            self.delete(old_key)

    def take_over(self, signing_in: hot_path.SignIn) -> None:
        """Read this session's row and delete it, in one statement (DELETE ... RETURNING) of the sign-in's
        transaction, which it replaces. The data is the row as it is now, with whatever a parallel tab added during
        the token exchange (what mozilla-django-oidc's reload after the exchange is for); the sign-in then inserts
        the row again, under the key auth.login gives it."""
        data, live = signing_in.take_over(self.session_key) if self.session_key else (None, False)
        self._session_cache = self.decode(data) if data is not None and live else {}  # an expired one holds nothing
        self._insert_on_save = True  # the row is gone: it is inserted again

    def forget(self, key: str | None) -> None:
        """After the transaction that took this session over rolled back: the row under `key` is there again,
        and is read anew when next needed."""
        self._session_key = key
        if hasattr(self, "_session_cache"):
            del self._session_cache
        self._insert_on_save = False
        self._saved_in_transaction = False

    def save(self, must_create: bool = False) -> None:
        if self._saved_in_transaction and not must_create:
            # Once, for the response's save after a sign-in: the row is the one the sign-in has just inserted, and
            # the session has not changed since. Any later save writes again, as Django's does.
            self._saved_in_transaction = False
            return
        if self.session_key is None:
            return self.create()  # which comes back here with must_create
        if not self._insert_on_save:
            return self._save_row(must_create)
        while True:
            try:
                self._save_row(must_create=True)
            except CreateError:
                self._session_key = self._get_new_session_key()  # the key was taken: draw another
                continue
            self._insert_on_save = False
            return

    def _save_row(self, must_create: bool) -> None:
        alias = router.db_for_write(self.model)
        if transaction.get_connection(alias).in_atomic_block:
            super().save(must_create=must_create)  # Django's savepoint keeps a failure out of the caller's transaction
            return
        # In autocommit one INSERT or UPDATE is a transaction by itself: Django's transaction.atomic() around it
        # would add a BEGIN and a COMMIT, two more round trips to the database, to every session write.
        row = self.create_model_instance(self._get_session(no_load=must_create))
        if must_create:
            try:
                hot_path.session_insert(row, alias)
            except IntegrityError as exc:
                raise CreateError from exc
        else:
            asynchronous, self._next_update_asynchronous = self._next_update_asynchronous, False
            if not hot_path.session_update(row, alias, asynchronous_commit=asynchronous):
                raise UpdateError  # the row was deleted meanwhile

    def row_for_sign_in(self) -> Session | None:
        """The new row of a cycled key, for the sign-in's transaction to insert (accounts.hot_path.SignIn.commit):
        a key that is taken fails that transaction, which retries. None without a cycled key: nothing to insert,
        and the response's save does the rest. Call `inserted` once the transaction has committed."""
        if not self._insert_on_save:
            return None
        return self.create_model_instance(self._get_session(no_load=True))

    def inserted(self) -> None:
        """The row of row_for_sign_in is committed: the response's save has nothing left to write."""
        if self._insert_on_save:
            self._insert_on_save = False
            self._saved_in_transaction = True

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None or self._insert_on_save:
                # No row under this key: the sign-in took it over (its DELETE is part of the sign-in's transaction),
                # or it is a new key not inserted yet. auth.login flushes a session that holds another person.
                return
            session_key = self.session_key
        # One DELETE, in autocommit a transaction by itself. Not QuerySet.delete(): its transaction.atomic() cannot
        # start between the sign-in's two messages (accounts.hot_path.SignIn), where Django believes the connection
        # is in autocommit and psycopg refuses to leave it mid-transaction.
        self.model.objects.filter(session_key=session_key)._raw_delete(router.db_for_write(self.model))
