"""The session store: Django's database sessions with fewer statements per sign-in, and the same guarantees."""

from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import hot_path
from accounts.session_store import SessionStore


def test_a_new_key_at_sign_in_deletes_the_old_row_and_writes_the_new_one_once(db):
    session = SessionStore()
    session["pending"] = "x"
    session.save()
    old_key = session.session_key

    with CaptureQueriesContext(connection) as queries:
        session.cycle_key()
        session["user"] = "1"
        session.save()

    sql = [query["sql"].split()[0] for query in queries.captured_queries if "SAVEPOINT" not in query["sql"]]
    assert sql == ["DELETE", "INSERT"]
    assert session.session_key != old_key
    assert not Session.objects.filter(session_key=old_key).exists()
    assert SessionStore(session.session_key).load() == {"pending": "x", "user": "1"}


def test_a_taken_key_is_never_overwritten(db, monkeypatch):
    taken = SessionStore()
    taken["owner"] = "someone else"
    taken.save()
    keys = iter([taken.session_key, "f" * 32])
    session = SessionStore()
    monkeypatch.setattr(session, "_get_new_session_key", lambda: next(keys))

    session["mine"] = "1"
    session.save()

    assert session.session_key == "f" * 32
    assert SessionStore(taken.session_key).load() == {"owner": "someone else"}


def test_a_cycled_key_that_is_taken_draws_another(db, monkeypatch):
    taken = SessionStore()
    taken["owner"] = "someone else"
    taken.save()
    session = SessionStore()
    session.save()
    keys = iter([taken.session_key, "e" * 32])
    monkeypatch.setattr(session, "_get_new_session_key", lambda: next(keys))

    session.cycle_key()
    session.save()

    assert session.session_key == "e" * 32
    assert SessionStore(taken.session_key).load() == {"owner": "someone else"}


def test_a_change_made_in_place_is_saved_by_the_next_save(db):
    # As mozilla-django-oidc removes a used state entry: del on the inner dict, then save(), without `modified`.
    session = SessionStore()
    session["oidc_states"] = {"used": {"nonce": "n"}}
    session.save()

    del session["oidc_states"]["used"]
    session.save()

    assert SessionStore(session.session_key).load() == {"oidc_states": {}}


def test_the_responses_save_after_a_sign_ins_insert_writes_nothing_and_later_ones_write(db):
    session = SessionStore()
    session["pending"] = "x"
    session.save()
    session.cycle_key()
    session["user"] = "1"
    hot_path.session_insert(session.row_for_sign_in())  # what the sign-in's transaction inserts
    session.inserted()

    with CaptureQueriesContext(connection) as queries:
        session.save()  # SessionMiddleware's, with nothing changed since
    assert queries.captured_queries == []

    session["later"] = "y"
    session.save()
    assert SessionStore(session.session_key).load() == {"pending": "x", "user": "1", "later": "y"}
