"""Celery tasks of enterprise_data (autodiscovered); each sub-domain keeps its own module."""

from attendance.tasks import attendance_mark_missing
from retention.tasks import erasure_plans_run, retention_purge

__all__ = ["attendance_mark_missing", "erasure_plans_run", "retention_purge"]
