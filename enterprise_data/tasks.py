"""Celery tasks of enterprise_data (autodiscovered); each sub-domain keeps its own module."""

from enterprise_data.tasks_attendance import attendance_mark_missing
from enterprise_data.tasks_retention import erasure_plans_run, retention_purge

__all__ = ["attendance_mark_missing", "erasure_plans_run", "retention_purge"]
