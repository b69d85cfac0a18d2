"""Reads of the retention settings (RET-1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.functional import Promise

from retention.bounds import BOUNDS, RetentionCategory
from retention.models import PurgeRun, PurgeStep, RetentionSetting
from tenants.context import enterprise_schema
from tenants.models import Enterprise


@dataclass(frozen=True)
class RetentionRow:
    category: str
    label: str
    description: Promise
    days: int
    default: int
    min_days: int
    max_days: int
    is_default: bool
    purged: bool


def retention_effective(*, enterprise: Enterprise) -> list[RetentionRow]:
    """Every category with its effective period (the enterprise's setting, else the platform
    default) and bounds, in the categories' declared order. One query. A setting stored under
    older bounds counts as the nearest bound of today's (the platform's bounds always win)."""
    with enterprise_schema(enterprise):
        stored = dict(RetentionSetting.objects.values_list("category", "days"))
    rows = []
    for category, label in RetentionCategory.choices:
        bounds = BOUNDS[category]
        days = stored.get(category)
        rows.append(
            RetentionRow(
                category=category,
                label=str(label),
                description=bounds.description,
                days=bounds.default if days is None else min(max(days, bounds.min_days), bounds.max_days),
                default=bounds.default,
                min_days=bounds.min_days,
                max_days=bounds.max_days,
                is_default=days is None,
                purged=bounds.purged,
            )
        )
    return rows


def retention_days_for(enterprise: Enterprise) -> dict[str, int]:
    """{category: days kept} for the enterprise (what its notice shows, CON-3). One query."""
    return {row.category: row.days for row in retention_effective(enterprise=enterprise)}


@dataclass(frozen=True)
class PurgeSummary:
    run_id: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    rows: dict[str, int]

    @property
    def status_label(self) -> str:
        """ "Done" / "Running" in the reader's language, never the stored code."""
        return str(PurgeRun.Status(self.status).label) if self.status in PurgeRun.Status.values else ""

    @property
    def rows_labelled(self) -> list[tuple[str, int]]:
        """(the category's label, rows deleted) per step, in the run's order."""
        return [
            (str(RetentionCategory(category).label) if category in RetentionCategory.values else "", rows)
            for category, rows in self.rows.items()
        ]


def purge_last_run(*, enterprise: Enterprise) -> PurgeSummary | None:
    """The newest purge run with the rows each category lost (two queries), or None."""
    with enterprise_schema(enterprise):
        run = PurgeRun.objects.order_by("-id").first()
        if run is None:
            return None
        rows = dict(PurgeStep.objects.filter(run=run).order_by("position").values_list("category", "rows"))
    return PurgeSummary(
        run_id=run.pk, status=run.status, started_at=run.started_at, finished_at=run.finished_at, rows=rows
    )
