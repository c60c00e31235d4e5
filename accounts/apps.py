from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and sign-in"

    def ready(self) -> None:
        from django.contrib.auth import user_logged_in

        from accounts import sessions, signins  # noqa: F401 (connect their user_logged_in receivers)

        # Replaced by accounts.signins' receiver: last_login once for people from Okta, every time for staff.
        user_logged_in.disconnect(dispatch_uid="update_last_login")
