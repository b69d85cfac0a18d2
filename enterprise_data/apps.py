from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnterpriseDataConfig(AppConfig):
    """The Django app of the enterprise's own data: its label (`enterprise_data`) owns the tables
    and migrations of core, directory, invitations, attendance, health, biometrics, ledger and
    retention, whose models declare it (docs/architecture.md). It sits at the top of the layers."""

    name = "enterprise_data"
    verbose_name = _("Enterprise data")

    def ready(self) -> None:
        # Django's way to connect receivers once the apps are loaded (not a cycle dodge): retention
        # acts on consent's signals (consent sits below it).
        from retention import receivers  # noqa: F401
