from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and sign-in"

    def ready(self) -> None:
        from accounts import sessions  # noqa: F401 (connects the user_logged_in receiver)
