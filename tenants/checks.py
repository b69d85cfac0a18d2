"""Refuse, at start-up, a database configuration that would leak one enterprise's search_path
to another behind a transaction pooler (issue 18 §4; tenants.postgresql_backend)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error
from django.utils.module_loading import import_string

from tenants.postgresql_backend.base import POOL_MODES, TRANSACTION_POOLING
from tenants.postgresql_backend.base import DatabaseWrapper as PoolSafeWrapper


def pool_configuration_errors(databases: dict[str, dict[str, Any]] | None = None) -> list[Error]:
    """What is unsafe in DATABASES for its pool mode (an empty list when nothing is)."""
    errors = []
    for alias, conf in (settings.DATABASES if databases is None else databases).items():
        mode = conf.get("POOL_MODE", "")
        if mode not in POOL_MODES:
            errors.append(
                Error(f"DATABASES[{alias!r}]['POOL_MODE'] is {mode!r}: use one of {POOL_MODES}.", id="tenants.E101")
            )
            continue
        if mode != TRANSACTION_POOLING:
            continue
        try:
            wrapper = import_string(f"{conf.get('ENGINE', '')}.base.DatabaseWrapper")
        except ImportError:
            wrapper = None
        if not (isinstance(wrapper, type) and issubclass(wrapper, PoolSafeWrapper)):
            errors.append(
                Error(
                    f"DATABASES[{alias!r}] is behind a transaction pooler with the engine {conf.get('ENGINE')!r}, "
                    "whose session-level search_path another client's transaction would inherit.",
                    hint="Use ENGINE 'tenants.postgresql_backend' (it sets the search_path inside every transaction).",
                    id="tenants.E102",
                )
            )
        if not conf.get("DISABLE_SERVER_SIDE_CURSORS"):
            errors.append(
                Error(
                    f"DATABASES[{alias!r}] is behind a transaction pooler with server-side cursors enabled.",
                    hint="Set DISABLE_SERVER_SIDE_CURSORS = True.",
                    id="tenants.E103",
                )
            )
    return errors


def check_pool_configuration(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    return pool_configuration_errors()
