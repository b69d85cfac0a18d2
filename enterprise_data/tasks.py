"""Celery tasks of enterprise_data (autodiscovered); each sub-domain keeps its own module."""

from enterprise_data.tasks_attendance import attendance_mark_missing

__all__ = ["attendance_mark_missing"]
