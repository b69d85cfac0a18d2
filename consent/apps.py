from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent"

    def ready(self) -> None:
        # Django's way to connect receivers once the apps are loaded (not a cycle dodge).
        from consent import receivers  # noqa: F401
