"""Django's database sessions, with the statements a sign-in does not need taken out.

Sessions stay in the database (a login started on one app server finishes on another, and a Redis outage loses no
session). Django's backend spends four statements on the new session key that `auth.login` asks for (OWASP: a new
key at every sign-in, against session fixation): a SELECT to check the new key is free, an INSERT of the new row,
a SELECT and a DELETE of the old one; and the response then UPDATEs the row it has just inserted. Here:
- the new key is not looked up first: 32 characters from a 36-letter alphabet drawn with `secrets` (about 165 bits)
  do not collide, and if one ever did the primary key would refuse the INSERT, and a fresh key is drawn;
- the new row is written once (an INSERT instead of INSERT + UPDATE);
- the sign-in reads the session after the token exchange and deletes its old row in one statement (take_over:
  DELETE ... RETURNING), where mozilla-django-oidc's reload and then auth.login's cycle_key took a SELECT and a
  DELETE (other old rows go in one DELETE, without reading them first);
- a session's INSERT or UPDATE goes alone, in autocommit, without the BEGIN and COMMIT Django puts around it;
- the sign-in inserts its new row inside its own transaction (accounts.oidc.views, save_in_transaction), and the
  response's save, which follows with nothing changed, then writes nothing.
"""

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.db import DatabaseError, IntegrityError, router, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string


class SessionStore(db.SessionStore):
    _insert_on_save = False
    _saved_in_transaction = False  # save_in_transaction wrote the session, and nothing has changed it since

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
        return get_random_string(32, VALID_KEY_CHARS)

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

    def take_over(self) -> None:
        """Read this session's row and delete it, in one statement (DELETE ... RETURNING) of the caller's
        transaction: the sign-in's read of its session, which it replaces. The data is the row as it is now,
        with whatever a parallel tab added during the token exchange (what mozilla-django-oidc's reload after
        the exchange is for); the save that follows inserts the row again, under the key auth.login gives it."""
        connection = transaction.get_connection(router.db_for_write(self.model))
        table = connection.ops.quote_name(self.model._meta.db_table)
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(  # the table name is the model's, quoted; the values are parameters
                f"DELETE FROM {table} WHERE session_key = %s RETURNING session_data, expire_date > %s",  # noqa: S608
                [self.session_key, now],
            )
            row = cursor.fetchone()
        self._session_cache = self.decode(row[0]) if row and row[1] else {}  # an expired session holds nothing
        self._insert_on_save = True  # the row is gone: the save inserts it again

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
            # Once, for the response's save after a sign-in: the row is the one save_in_transaction has just
            # inserted, and the session has not changed since. Any later save writes again, as Django's does.
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
        try:
            row.save(force_insert=must_create, force_update=not must_create, using=alias)
        except IntegrityError as exc:
            if must_create:
                raise CreateError from exc
            raise
        except DatabaseError as exc:  # "Forced update did not affect any rows": the row was deleted meanwhile
            if not must_create:
                raise UpdateError from exc
            raise

    def save_in_transaction(self) -> None:
        """The new row of a cycled key, inserted as one more statement of the caller's transaction.atomic() block,
        with no savepoint of its own (two statements fewer): a key that is taken fails the caller's transaction,
        which retries. Without a cycled key there is nothing to insert, and the response's save does the rest."""
        if not self._insert_on_save:
            return
        self.create_model_instance(self._get_session(no_load=True)).save(force_insert=True)
        self._insert_on_save = False
        self._saved_in_transaction = True

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self.model.objects.filter(session_key=session_key).delete()
