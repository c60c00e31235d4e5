"""One source for every failure's words: inigo_sso/failures.py. The pages render from it and the README's
troubleshooting table is generated from it; these tests fail when either drifts."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from accounts.management.commands import failures_table
from accounts.oidc.responses import login_failed
from inigo_sso.failures import FAILURES, LoginError


def test_the_readme_troubleshooting_table_is_the_generated_one():
    readme = failures_table.README.read_text()

    assert failures_table.readme_with_table(readme) == readme, "run: python manage.py failures_table --write"


def test_the_check_fails_when_the_readme_drifts(tmp_path, monkeypatch):
    drifted = tmp_path / "README.md"
    drifted.write_text(failures_table.README.read_text().replace("`client_rejected`", "`client_refused`"))
    monkeypatch.setattr(failures_table, "README", drifted)

    with pytest.raises(CommandError, match="differs"):
        call_command("failures_table", "--check", stdout=io.StringIO())
    call_command("failures_table", "--write", stdout=io.StringIO())
    call_command("failures_table", "--check", stdout=io.StringIO())
    assert "`client_rejected`" in drifted.read_text()


def test_every_reason_is_in_the_readme_table():
    table = failures_table.failures_table()

    assert [reason for reason in FAILURES if f"`{reason}`" not in table] == []


@pytest.mark.parametrize("reason", sorted(FAILURES))
def test_every_reason_has_its_words_for_the_person_and_for_support(reason):
    failure = FAILURES[reason]

    assert failure.title and failure.explanation and failure.action and failure.fix
    assert 400 <= failure.status < 600


@pytest.mark.parametrize("reason", sorted(FAILURES))
def test_every_failure_page_renders_its_words_from_the_catalogue(reason, db):
    request = RequestFactory().get("/oidc/callback/")
    request.session = {}
    request.user = None

    response = login_failed(request, LoginError(reason))
    response.render()

    failure = FAILURES[reason]
    page = response.content.decode()
    assert response.status_code == failure.status
    for words in (failure.title, failure.explanation, failure.action, reason):
        assert words.replace("'", "&#x27;").replace("\u201c", "“") in page
