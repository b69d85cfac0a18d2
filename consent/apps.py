from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = _("Consent and notices")

    def ready(self) -> None:
        # Django's way to connect receivers once the apps are loaded (not a cycle dodge).
        from consent import receivers  # noqa: F401
