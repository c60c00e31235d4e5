"""A pytest plugin: every test runs in transactional mode, so that a sign-in on PostgreSQL sends its transaction as
production does, in two messages while Django believes the connection is in autocommit (accounts.hot_path.SignIn).
Inside a test's transaction.atomic() the sign-in falls back to atomic() and one statement at a time, which hides
whatever breaks between the two messages (an atomic() there is psycopg's "can't change 'autocommit' now").

    DATABASE_URL=postgres://... python -m pytest -p tests.production_transactions tests/test_login_flow.py ...
"""

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.django_db(transaction=True), append=False)  # before the test's own marker
