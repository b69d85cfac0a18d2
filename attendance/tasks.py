"""Periodic attendance work (ENT-4, RET-2's fan-out pattern).

`attendance_mark_missing` runs in one enterprise's schema (tenant-schemas-celery sets it from the
task's `_schema_name` header); beat reaches every active enterprise through
`tenants.tasks.dispatch_per_enterprise(task_name="enterprise_data.tasks_attendance.attendance_mark_missing")`.
Safe to run twice: the marking statements only add an exception that is not there yet."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from attendance.services import attendance_mark_missing as mark_missing
from config.celery import app
from tenants.tasks import current_enterprise


@app.task(name="enterprise_data.tasks_attendance.attendance_mark_missing")
def attendance_mark_missing(day: str | None = None) -> dict[str, Any]:
    """Mark missing clock-ins/outs of `day` (ISO date; default yesterday, Asia/Shanghai)."""
    enterprise = current_enterprise()
    target = (
        date.fromisoformat(day)
        if day
        else timezone.localdate(timezone=timezone.get_default_timezone()) - timedelta(days=1)
    )
    result = mark_missing(enterprise=enterprise, day=target)
    return {
        "schema": enterprise.schema_name,
        "day": target.isoformat(),
        "working_day": result.working_day,
        "missing_in": result.missing_in,
        "missing_out": result.missing_out,
    }
