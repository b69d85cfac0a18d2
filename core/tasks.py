"""Per-enterprise tasks of core, fanned out by `tenants.tasks.dispatch_per_enterprise`. Task
names are kept from before the feature packages (beat schedules and queued messages use them)."""

from __future__ import annotations

from typing import Any

from config.celery import app
from core.services import enterprise_refresh_member_count as refresh
from tenants.context import current_schema
from tenants.tasks import current_enterprise


@app.task(name="tenants.tasks.enterprise_refresh_member_count")
def enterprise_refresh_member_count() -> dict[str, Any]:
    """Recompute the enterprise's member count (a real periodic task proving the fan-out)."""

    enterprise = current_enterprise()
    count = refresh(enterprise=enterprise)
    return {"schema": current_schema(), "enterprise_id": enterprise.pk, "member_count": count}
