"""Periodic work fans out per enterprise (RET-2's pattern).

Beat sends `dispatch_per_enterprise` in the public schema once per tick; it enqueues the named
task once per active enterprise with that enterprise's schema in the `_schema_name` header, and
tenant-schemas-celery switches the worker's connection to it before the task runs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection

from config.celery import app
from tenants.context import current_schema
from tenants.models import Enterprise
from tenants.pool import pool_fill
from tenants.selectors import enterprise_list


class PublicSchemaRefused(RuntimeError):
    pass


def current_enterprise() -> Enterprise:
    """The enterprise a per-enterprise task is running for; refuses the public schema."""
    tenant = getattr(connection, "tenant", None)
    if current_schema() == settings.PUBLIC_SCHEMA_NAME or not isinstance(tenant, Enterprise):
        raise PublicSchemaRefused("This task runs only in an enterprise's schema.")
    return tenant


@app.task(name="tenants.tasks.dispatch_per_enterprise")
def dispatch_per_enterprise(task_name: str, states: list[str] | None = None, **kwargs: Any) -> list[str]:
    """Enqueue `task_name` once per enterprise in `states` (default: active). Returns task ids."""
    task = app.tasks[task_name]
    schemas = enterprise_list(states=tuple(states or [Enterprise.State.ACTIVE])).values_list("schema_name", flat=True)
    return [task.apply_async(kwargs=kwargs, headers={"_schema_name": schema}).id for schema in schemas]


@app.task(name="tenants.tasks.tenant_pool_refill")
def tenant_pool_refill() -> dict[str, int]:
    """Beat, in the public schema (issue 18 §2): top the warm pool up to TENANT_POOL_SIZE and drop
    pool schemas made for an older migration state. Safe to run twice (it counts first)."""
    if current_schema() != settings.PUBLIC_SCHEMA_NAME:
        raise RuntimeError("The pool is refilled from the public schema.")
    return pool_fill()  # TENANT_POOL_SIZE 0: only drops what is left of an older state
