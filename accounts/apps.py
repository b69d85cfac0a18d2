from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # Django's way to connect receivers once the apps are loaded (not a cycle dodge).
        from accounts.security import receivers  # noqa: F401
