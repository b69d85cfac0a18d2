from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = _("Enterprises")

    def ready(self) -> None:
        from . import signals  # noqa: F401
        from .third_party_labels import label_third_party_apps

        label_third_party_apps()
