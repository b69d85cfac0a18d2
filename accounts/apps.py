from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Django's way to connect receivers once the apps are loaded (not a cycle dodge).
        from accounts.security import receivers  # noqa: F401
