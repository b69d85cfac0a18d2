from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = _("Enterprises")

    def ready(self) -> None:
        from . import signals  # noqa: F401
        from .third_party_labels import label_third_party_apps

        label_third_party_apps()
        self._refuse_unsafe_pooling()

    def _refuse_unsafe_pooling(self, databases: dict[str, dict[str, Any]] | None = None) -> None:
        """Issue 18 §4: behind a transaction pooler, refuse to start with a configuration that
        would let one enterprise's search_path reach another (web, workers and commands alike —
        not only `manage.py check`)."""
        from django.core import checks
        from django.core.exceptions import ImproperlyConfigured

        from .checks import check_pool_configuration, pool_configuration_errors

        checks.register(check_pool_configuration)
        errors = pool_configuration_errors(databases)
        if errors:
            raise ImproperlyConfigured(" ".join(f"{error.msg} {error.hint or ''}".strip() for error in errors))
