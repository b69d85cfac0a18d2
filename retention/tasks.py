"""The daily retention purge (RET-2..RET-5) and scheduled erasures (DSR-5/DSR-6), one task per
enterprise.

Beat sends `tenants.tasks.dispatch_per_enterprise(task_name="enterprise_data.tasks_retention.retention_purge",
states=PURGE_STATES)`; tenant-schemas-celery runs each task in its enterprise's schema and
`current_enterprise()` refuses the public schema. Safe to run twice and to redeliver after a lost
worker (acks_late, reject_on_worker_lost in settings): the purge takes a per-enterprise lock and
resumes an unfinished run (retention.services.purge)."""

from __future__ import annotations

from typing import Any

from config.celery import app
from retention.services.erasure import erasure_plans_run_due, withdrawn_data_erase
from retention.services.platform import platform_purge as purge
from retention.services.purge import BATCH_SIZE, PURGE_STATES, purge_run
from retention.services.termination import enterprise_termination_execute, terminations_due
from tenants.tasks import current_enterprise


@app.task(name="enterprise_data.tasks_retention.retention_purge", acks_late=True, reject_on_worker_lost=True)
def retention_purge(batch_size: int = BATCH_SIZE) -> dict[str, Any]:
    """Purge every retention category of the current enterprise past its cut-off."""
    enterprise = current_enterprise()
    if enterprise.state not in PURGE_STATES:
        return {"schema": enterprise.schema_name, "status": "skipped", "reason": enterprise.state}
    return purge_run(enterprise=enterprise, batch_size=batch_size).as_dict()


@app.task(name="enterprise_data.tasks_retention.erasure_plans_run", acks_late=True, reject_on_worker_lost=True)
def erasure_plans_run() -> dict[str, Any]:
    """Run the current enterprise's erasure plans that are due (and finish any a dead worker left)."""
    enterprise = current_enterprise()
    if enterprise.state not in PURGE_STATES:
        return {"schema": enterprise.schema_name, "completed": [], "reason": enterprise.state}
    return {"schema": enterprise.schema_name, "completed": erasure_plans_run_due(enterprise=enterprise)}


@app.task(name="tenants.tasks.terminations_execute_due")
def terminations_execute_due() -> list[str]:
    """Beat, daily (public schema): execute the terminations whose notice has run out (TEN-4)."""

    return [enterprise_termination_execute(enterprise=enterprise).slug for enterprise in terminations_due()]


@app.task(name="tenants.tasks.platform_purge")
def platform_purge() -> dict[str, Any]:
    """Beat, daily (public schema): the platform's own short-lived personal data past its period."""

    return purge().as_dict()


@app.task(name="consent.tasks.consent_withdrawal_erase", acks_late=True)
def consent_withdrawal_erase(record_id: int) -> dict[str, object]:
    """CON-6: delete what a withdrawn consent (or an ended legal basis) covered, in the schema the
    task was sent from (tenant-schemas-celery's `_schema_name` header). Idempotent."""

    enterprise = current_enterprise()
    counts = withdrawn_data_erase(enterprise=enterprise, record_id=record_id)
    return {"schema": enterprise.schema_name, "record_id": record_id, "counts": counts}
