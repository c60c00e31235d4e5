"""When a person signed in: `last_login` marks the first sign-in, the login events say the last one.

Django's `update_last_login` (connected to `user_logged_in` by django.contrib.auth) spends one UPDATE on every
sign-in. For people from Okta every successful sign-in already writes a login event, so "last sign-in" is read from
those (`last_sign_in`, an index scan of loginevent_user_time) and `last_login` is written once: by the first
sign-in's own INSERT or UPDATE (accounts.services._first_sign_in). What reads `last_login` only asks whether it is
set: "has signed in" (SCIM provisioning, the home page's "not signed in yet", the check constraint
user_is_staff_xor_tenant_member). Staff accounts, which sign in with a password and write no login event, keep
Django's UPDATE at every sign-in.
"""

from typing import Any

from django.contrib.auth import user_logged_in
from django.contrib.auth.models import update_last_login
from django.db.models import OuterRef, Subquery
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.events import EventKind
from accounts.models import LoginEvent, User


@receiver(user_logged_in, dispatch_uid="accounts.signins.last_login")
def _first_or_staff_last_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if user.tenant_id is None or user.last_login is None:
        update_last_login(sender, user)


def last_sign_in() -> Subquery:
    """The time of the user's (OuterRef("pk")) latest successful sign-in, for .annotate()."""
    latest = LoginEvent.objects.filter(
        user=OuterRef("pk"), kind=EventKind.SIGNIN, outcome=LoginEvent.Outcome.SUCCESS
    ).order_by("-created_at")
    return Subquery(latest.values("created_at")[:1])
