"""Sending tasks by name (docs/architecture.md, "Layers"): a service names the task it wants run
after its transaction commits instead of importing the task module, so services never import
task modules and a layer never imports the tasks of a layer above. Task names are stable strings
(`@app.task(name=...)`), kept when modules move: beat schedules and queued messages use them."""

from __future__ import annotations

from typing import Any

from celery import Task
from django.db import transaction

from config.celery import app


def task_by_name(name: str) -> Task:
    """The task registered as `name`; the task modules are imported on first use (a web process
    does not import them at start-up, a worker does)."""
    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]


def task_send_on_commit(name: str, *, kwargs: dict[str, Any], schema: str | None = None) -> None:
    """Send the task registered as `name` once the current transaction commits (at once outside
    one). Services name their tasks instead of importing task modules, so a service never imports
    a task module and a layer never imports the tasks of a layer above (docs/architecture.md).
    `schema`: run it in that enterprise's schema (tenant-schemas-celery's header); without it
    the task carries the schema current when it is sent."""
    headers = {"_schema_name": schema} if schema else None

    def send() -> None:
        task_by_name(name).apply_async(kwargs=kwargs, headers=headers)

    transaction.on_commit(send)
