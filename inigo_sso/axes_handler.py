"""django-axes guards the admin's password login only.

With AXES_ONLY_ADMIN_SITE, axes stops checking lockouts outside /admin/, but its database handler still writes
on every login signal: cleaning expired attempts, an access-log row and a reset, four queries on each Okta
sign-in that gain nothing (login events record those). This handler keeps them to admin sign-ins."""

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from django.http import HttpRequest


class AdminOnlyAxesHandler(AxesDatabaseHandler):
    def user_logged_in(self, sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
        if self.is_admin_request(request):
            super().user_logged_in(sender, request, user, **kwargs)

    def user_logged_out(self, sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
        if self.is_admin_request(request):
            super().user_logged_out(sender, request, user, **kwargs)
