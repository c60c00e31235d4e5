"""Changes Acme's owner Ada and admin Grace make from the console's settings, as services (the pages call them):
new credentials through the setup page's checks, and a new SCIM token, each a console event saying who did it."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from accounts.console_changes import (
    CREDENTIALS_REFUSED,
    CREDENTIALS_ROTATED,
    SCIM_TOKEN_ISSUED,
    console_credentials_rotate,
)
from accounts.models import LoginEvent, Role, User
from scim.models import ProvisioningEvent
from scim.tokens import console_scim_token_issue, scim_token_issue
from tenants.check_limits import FAILED_CHECKS_PER_HOUR
from tenants.credentials import Outcome
from tenants.models import ConnectionCheckResult
from tests.scim_helpers import assert_scim_error
from tests.test_scim_tokens import scim_get
from tests.test_setup import link_of_existing, redirect_uri, sign_in, working  # noqa: F401 (a fixture)


def person(tenant, sub: str, role: str) -> User:
    return User.objects.create(username=f"{tenant.slug}-{sub}", tenant=tenant, issuer=tenant.issuer, sub=sub,
                               email=f"{sub}@acme.test", name=sub.capitalize(), role=role)


@pytest.fixture
def ada(working) -> User:  # noqa: F811
    return person(working, "ada", Role.OWNER)


@pytest.fixture
def grace(working) -> User:  # noqa: F811
    return person(working, "grace", Role.ADMIN)


def request_of(actor: User):
    request = RequestFactory().post("/org/settings/")
    request.user = actor
    return request


def rotate(actor: User, client_id: str, client_secret: str):
    return console_credentials_rotate(actor=actor, request=request_of(actor), client_id=client_id,
                                      client_secret=client_secret)


def test_a_wrong_secret_saves_nothing_and_the_old_values_keep_working(provider, working, grace):  # noqa: F811
    old = (working.client_id, working.client_secret)
    new_id, _new_secret = provider.register_client([redirect_uri("acme")])

    attempt = rotate(grace, new_id, "not-the-new-secret")

    assert attempt.outcome is Outcome.CHECKS_FAILED
    working.refresh_from_db()
    assert (working.client_id, working.client_secret) == old
    response, _ = sign_in(provider, "uma")
    assert response.status_code == 302 and response["Location"] == "/"
    event = LoginEvent.objects.get(reason=CREDENTIALS_REFUSED)
    assert (event.kind, event.outcome, event.user) == ("console", "failure", grace)
    assert "failed: credentials" in event.detail and "by Grace (grace@acme.test, admin)" in event.detail
    assert "not-the-new-secret" not in event.detail
    assert not ConnectionCheckResult.objects.exists()  # a check of candidate values says nothing of the saved ones


def test_the_right_values_are_saved_and_the_next_sign_in_uses_them(provider, working, grace):  # noqa: F811
    new_id, new_secret = provider.register_client([redirect_uri("acme")])

    attempt = rotate(grace, new_id, new_secret)

    assert attempt.saved
    working.refresh_from_db()
    assert (working.client_id, working.client_secret, working.issuer) == (new_id, new_secret, provider.issuer)
    response, _ = sign_in(provider, "uma")
    assert response.status_code == 302 and response["Location"] == "/"
    assert provider.token_requests[-1].authorization.startswith("Basic ")
    event = LoginEvent.objects.get(reason=CREDENTIALS_ROTATED)
    assert (event.kind, event.user) == ("console", grace) and new_id in event.detail and new_secret not in event.detail
    assert ConnectionCheckResult.objects.get(tenant=working).ok


def test_failed_checks_count_once_per_tenant_whichever_page_they_came_from(client, provider, working, ada):  # noqa: F811
    new_id, new_secret = provider.register_client([redirect_uri("acme")])
    outcomes = [rotate(ada, new_id, "wrong").outcome for _ in range(FAILED_CHECKS_PER_HOUR)]

    limited = rotate(ada, new_id, new_secret)  # the right values, but the hour's checks are spent
    from_setup = client.post(link_of_existing("acme"), {"client_id": new_id, "client_secret": new_secret})

    assert outcomes == [Outcome.CHECKS_FAILED] * FAILED_CHECKS_PER_HOUR
    assert limited.outcome is Outcome.LIMITED and limited.retry_at is not None
    assert from_setup.status_code == 429
    working.refresh_from_db()
    assert working.client_id != new_id
    assert LoginEvent.objects.filter(reason=CREDENTIALS_REFUSED).count() == FAILED_CHECKS_PER_HOUR


def test_a_member_rotates_nothing(provider, working):  # noqa: F811
    alan = person(working, "alan", Role.MEMBER)
    new_id, new_secret = provider.register_client([redirect_uri("acme")])

    with pytest.raises(PermissionDenied):
        rotate(alan, new_id, new_secret)

    working.refresh_from_db()
    assert working.client_id != new_id and provider.token_requests == []


def test_a_new_scim_token_works_and_the_old_one_answers_401_at_once(working, ada):  # noqa: F811
    old = scim_token_issue(tenant=working)

    new = console_scim_token_issue(actor=ada, request=request_of(ada))

    assert scim_get(new).status_code == 200
    assert_scim_error(scim_get(old), 401)
    event = LoginEvent.objects.get(reason=SCIM_TOKEN_ISSUED)
    assert (event.kind, event.user) == ("console", ada) and "by Ada (ada@acme.test, owner)" in event.detail
    assert new not in event.detail
    issued = ProvisioningEvent.objects.filter(action="token_issued").latest("created_at")
    assert "console by Ada" in issued.detail


def test_only_the_owner_issues_a_scim_token(working, grace):  # noqa: F811
    old = scim_token_issue(tenant=working)

    with pytest.raises(PermissionDenied):
        console_scim_token_issue(actor=grace, request=request_of(grace))

    assert scim_get(old).status_code == 200
    assert not LoginEvent.objects.filter(reason=SCIM_TOKEN_ISSUED).exists()
