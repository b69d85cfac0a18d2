"""Database routing: django-tenants' app placement, plus per-model placement for apps that hold
both platform and enterprise data.

An app listed in both SHARED_APPS and TENANT_APPS would get every table in every schema.
`SPLIT_APP_PUBLIC_MODELS` names, per such app, the models that live in the public schema only;
its other models live in enterprise schemas only, except those named in
`SPLIT_APP_BOTH_MODELS`, which get a table in every schema. One app, one migration history, and
each schema gets exactly its own tables (tests/test_routing.py checks the catalogues)."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django_tenants.routers import TenantSyncRouter


class PortalRouter(TenantSyncRouter):
    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        allowed = super().allow_migrate(db, app_label, model_name, **hints)
        public_models = settings.SPLIT_APP_PUBLIC_MODELS.get(app_label)
        if allowed is False or public_models is None or model_name is None:
            return allowed
        if model_name.lower() in getattr(settings, "SPLIT_APP_BOTH_MODELS", {}).get(app_label, ()):
            return allowed
        from django.db import connections

        # django-tenants' wrapper (the stubs know Django's): it has the schema
        in_public = cast(Any, connections[db]).schema_name == settings.PUBLIC_SCHEMA_NAME
        return (model_name.lower() in public_models) == in_public
