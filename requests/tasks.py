"""Periodic work of data-subject requests (DSR-4, RET-2's fan-out pattern).

`request_send_reminders` runs in one enterprise's schema (beat reaches every active enterprise
through `tenants.tasks.dispatch_per_enterprise`); `account_request_send_reminders` runs in the
public schema for account-data requests. Both are safe to run twice (reminders are claimed)."""

from __future__ import annotations

from datetime import date
from typing import Any

from config.celery import app
from requests.account_deletion.services import account_deletions_execute_due
from requests.account_export.services import account_export_build as build_account_export
from requests.account_export.services import account_exports_purge as purge_account_exports
from requests.export.services import export_build as build
from requests.models import AccountExport, Export
from requests.workflow.reminders import request_send_reminders as send
from tenants.tasks import current_enterprise


@app.task(name="requests.tasks.request_send_reminders")
def request_send_reminders(day: str | None = None) -> dict[str, Any]:

    enterprise = current_enterprise()
    sent = send(enterprise=enterprise, today=date.fromisoformat(day) if day else None)
    return {"schema": enterprise.schema_name, "reminded": sent}


@app.task(name="requests.tasks.account_request_send_reminders")
def account_request_send_reminders(day: str | None = None) -> dict[str, Any]:

    sent = send(enterprise=None, today=date.fromisoformat(day) if day else None)
    return {"schema": "public", "reminded": sent}


@app.task(name="requests.tasks.export_build", acks_late=True)
def export_build(export_id: int) -> dict[str, Any]:
    """DSR-2: build a member's export in the schema the task was sent from (`_schema_name`)."""

    enterprise = current_enterprise()
    try:
        export = build(enterprise=enterprise, export_id=export_id)
    except Export.DoesNotExist:  # gone (purged, the member left) or never in this schema: nothing to do
        return {"schema": enterprise.schema_name, "export_id": export_id, "state": "missing"}
    return {"schema": enterprise.schema_name, "export_id": export_id, "state": export.state}


@app.task(name="requests.tasks.account_deletions_execute", acks_late=True, reject_on_worker_lost=True)
def account_deletions_execute() -> dict[str, Any]:
    """DSR-6, beat every 10 minutes (public schema): execute the account deletions whose
    cooling-off is over, and finish any a lost worker left half done. Safe to run twice."""

    return {"schema": "public", "executed": account_deletions_execute_due()}


@app.task(name="requests.tasks.account_export_build", acks_late=True)
def account_export_build(export_id: int) -> dict[str, Any]:
    """DSR-2 for account data: build an account's export (public schema)."""

    try:
        export = build_account_export(export_id=export_id)
    except AccountExport.DoesNotExist:  # gone (purged, the account erased): nothing to do
        return {"schema": "public", "export_id": export_id, "state": "missing"}
    return {"schema": "public", "export_id": export_id, "state": export.state}


@app.task(name="requests.tasks.account_exports_purge")
def account_exports_purge() -> dict[str, Any]:
    """Beat, hourly (public schema): delete the files of account exports whose link has expired,
    and the rows past the DSR-7 window. Safe to run twice."""

    return {"schema": "public", **purge_account_exports()}
