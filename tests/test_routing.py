"""Per-model placement of split apps (config/routers.py): each schema gets only its own tables."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.db import connection


def tables_in(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


def test_public_models_of_split_apps_live_only_in_public(world):
    for app_label, public_models in settings.SPLIT_APP_PUBLIC_MODELS.items():
        tables = {
            m._meta.db_table for m in apps.get_app_config(app_label).get_models() if m._meta.model_name in public_models
        }
        assert tables, app_label
        assert tables <= tables_in("public")
        for schema in ("acme", "globex", settings.TENANT_BASE_SCHEMA):
            assert not tables & tables_in(schema), schema


def test_enterprise_models_of_split_apps_live_only_in_enterprise_schemas(world):
    for app_label, public_models in settings.SPLIT_APP_PUBLIC_MODELS.items():
        both = settings.SPLIT_APP_BOTH_MODELS.get(app_label, set())
        tables = {
            m._meta.db_table
            for m in apps.get_app_config(app_label).get_models()
            if m._meta.model_name not in public_models | both
        }
        assert not tables & tables_in("public")
        for schema in ("acme", settings.TENANT_BASE_SCHEMA):
            assert tables <= tables_in(schema)


def test_models_placed_in_both_live_in_public_and_in_every_enterprise_schema(world):
    """DSR-3: account-data requests in public, enterprise-data requests in the enterprise's schema."""
    for app_label, models in settings.SPLIT_APP_BOTH_MODELS.items():
        tables = {m._meta.db_table for m in apps.get_app_config(app_label).get_models() if m._meta.model_name in models}
        assert len(tables) == len(models), app_label
        for schema in ("public", "acme", "globex", settings.TENANT_BASE_SCHEMA):
            assert tables <= tables_in(schema), schema
