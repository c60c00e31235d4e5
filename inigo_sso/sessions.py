"""Django's database sessions, with the statements a sign-in does not need taken out.

Sessions stay in the database (a login started on one app server finishes on another, and a Redis outage loses no
session). Django's backend spends four statements on the new session key that `auth.login` asks for (OWASP: a new
key at every sign-in, against session fixation): a SELECT to check the new key is free, an INSERT of the new row,
a SELECT and a DELETE of the old one; and the response then UPDATEs the row it has just inserted. Here:
- the new key is not looked up first: 32 characters from a 36-letter alphabet drawn with `secrets` (about 165 bits)
  do not collide, and if one ever did the primary key would refuse the INSERT, and a fresh key is drawn;
- the new row is written once, by the save at the end of the response (an INSERT instead of INSERT + UPDATE);
- the old row goes in one DELETE, without reading it first.
"""

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError
from django.utils.crypto import get_random_string


class SessionStore(db.SessionStore):
    _insert_on_save = False

    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)

    def cycle_key(self) -> None:
        data = self._session
        old_key = self.session_key
        self._session_key = self._get_new_session_key()
        self._session_cache = data
        self._insert_on_save = True
        self.modified = True
        if old_key:
            self.delete(old_key)

    def save(self, must_create: bool = False) -> None:
        if not self._insert_on_save:
            return super().save(must_create=must_create)
        while True:
            try:
                super().save(must_create=True)
            except CreateError:
                self._session_key = self._get_new_session_key()  # the key was taken: draw another
                continue
            self._insert_on_save = False
            return

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self.model.objects.filter(session_key=session_key).delete()
