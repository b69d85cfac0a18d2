"""The Celery app. tenant-schemas-celery makes every task carry the schema it was sent from
(the `_schema_name` header) and switch the worker's connection to it before running."""

import os

from tenant_schemas_celery.app import CeleryApp as TenantAwareCeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = TenantAwareCeleryApp("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()  # `tasks` of every installed app
# Feature packages that are not Django apps of their own keep their tasks beside their services.
app.autodiscover_tasks(["core", "attendance", "retention", "directory.imports"])
