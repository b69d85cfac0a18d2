"""Reads of the console home (ENT-12). Every figure goes through the acting admin's AdminScope
(ENT-8): a figure whose category the admin does not hold is None (the page leaves it out), and
counts are over the members, departments and requests in scope. Each section runs a fixed number
of queries whatever the number of members (tests/dashboard/test_dashboard.py)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from attendance.models import Geofence
from attendance.selectors import (
    AttendanceCounts,
    Figures,
    attendance_counts,
    is_working_day,
    statistics_periods,
    statistics_window,
)
from attendance.services import attendance_policy_get
from biometrics.models import Device
from core.models import Department
from core.scopes import AdminScope
from health.selectors import HealthToday, health_today
from invitations.models import Invitation
from invitations.selectors import invitation_list_pending
from requests.models import REQUEST_CATEGORIES, Request
from requests.workflow.calendar import WorkingCalendar
from requests.workflow.selectors import State, days_left, requests_for_admin
from retention.selectors import PurgeSummary, purge_last_run
from tenants.categories import Category
from tenants.context import enterprise_schema
from tenants.models import Enterprise


@dataclass(frozen=True)
class RequestFigures:
    pending: int  # open requests in scope
    overdue: int  # running past their deadline
    nearest_days_left: int | None  # working days to the nearest deadline (negative: overdue)
    nearest_id: int | None


@dataclass(frozen=True)
class NoticeFigures:
    version: int  # 0: no notice published yet
    members: int
    acknowledged: int

    @property
    def rate(self) -> int | None:
        """Per cent of the active members in scope who acknowledged the current version."""
        return round(100 * self.acknowledged / self.members) if self.members and self.version else None


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: str
    done: bool
    url_name: str


# The home's attendance trend: the last two weeks, today included.
TREND_DAYS = 14


@dataclass(frozen=True)
class AttendanceTrend:
    """Late, absent and out-of-range member-days per day (attendance statistics' definitions)."""

    days: list[tuple[date, Figures]]

    @property
    def date_from(self) -> date:
        return self.days[0][0]

    @property
    def date_to(self) -> date:
        return self.days[-1][0]


@dataclass(frozen=True)
class Dashboard:
    today: date
    computed_at: datetime  # when the figures were read (they may come from the cache)
    members: int | None  # active members in the directory scope
    attendance: AttendanceCounts | None
    attendance_trend: AttendanceTrend | None
    health: HealthToday | None
    invitations_pending: int | None
    requests: RequestFigures | None
    notice: NoticeFigures | None
    purge: PurgeSummary | None
    purge_shown: bool
    checklist: list[ChecklistItem]

    @property
    def checklist_open(self) -> bool:
        return any(not item.done for item in self.checklist)


def dashboard_attendance(
    *, enterprise: Enterprise, scope: AdminScope, day: date
) -> tuple[AttendanceCounts | None, AttendanceTrend | None]:
    """Today's counts and the last TREND_DAYS days' trend. Three queries: the policy (end of the
    working day), one aggregate for today, one for the trend."""
    if not scope.has_category(Category.ATTENDANCE):
        return None, None
    policy = attendance_policy_get(enterprise=enterprise)
    with enterprise_schema(enterprise):
        counts = attendance_counts(scope=scope, day=day, work_ends=policy.work_ends, working_day=is_working_day(day))
        window = statistics_window(
            date_from=day - timedelta(days=TREND_DAYS - 1), date_to=day, work_ends=policy.work_ends
        )
        rows = statistics_periods(scope=scope, window=window)
    return counts, AttendanceTrend(days=[(row.start, row.figures) for row in rows])


def dashboard_requests(*, scope: AdminScope, today: date) -> RequestFigures | None:
    """Requests about enterprise data in scope: open, overdue (running past the deadline), and
    the nearest deadline's working days left (DSR-4). Two queries, three with a deadline."""
    if not any(scope.has_category(category) for category in REQUEST_CATEGORIES):
        return None
    open_requests = requests_for_admin(scope=scope, state=State.OPEN)
    figures = open_requests.aggregate(
        pending=Count("pk"),
        overdue=Count("pk", filter=Q(status__in=Request.RUNNING_STATUSES, due_on__lt=today)),
    )
    nearest = open_requests.filter(due_on__isnull=False).order_by("due_on", "id").first()
    left = days_left(nearest, today=today, calendar=WorkingCalendar()) if nearest is not None else None
    return RequestFigures(
        pending=figures["pending"],
        overdue=figures["overdue"],
        nearest_days_left=left,
        nearest_id=nearest.pk if nearest is not None else None,
    )


def dashboard_notice(*, enterprise: Enterprise, scope: AdminScope) -> NoticeFigures | None:
    """The current notice version's acknowledgement among the active members in the consent
    scope (CON-3). One aggregate."""
    if not scope.has_category(Category.CONSENT):
        return None
    version = enterprise.notice_version
    figures = scope.members(Category.CONSENT, include_invited=False).aggregate(
        members=Count("pk"), acknowledged=Count("pk", filter=Q(notice_acknowledged__gte=max(version, 1)))
    )
    return NoticeFigures(version=version, **figures)


def _exist(querysets: dict[str, QuerySet[Any]]) -> dict[str, bool]:
    """Whether each queryset has a row, in one statement (`SELECT EXISTS(…), EXISTS(…)`)."""
    if not querysets:
        return {}
    parts: list[str] = []
    params: list[Any] = []
    for queryset in querysets.values():
        sql, sql_params = queryset.values("pk")[:1].query.sql_with_params()
        parts.append(f"EXISTS({sql})")
        params.extend(sql_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return {name: bool(value) for name, value in zip(querysets, row, strict=True)}


def dashboard_checklist(*, enterprise: Enterprise, scope: AdminScope) -> list[ChecklistItem]:
    """The setup of a new enterprise, the items of the categories the admin holds: publish the
    notice, add departments, invite members, set a geofence, register a device. One query."""
    steps: list[tuple[str, Any, str, QuerySet[Any] | bool]] = []
    if scope.has_category(Category.CONSENT):
        steps.append(
            ("notice", _("Publish the personal information notice"), "console_notices", enterprise.notice_version > 0)
        )
    if scope.has_category(Category.DIRECTORY):
        steps.append(
            ("departments", _("Add departments"), "console_org", Department.objects.filter(parent__isnull=False))
        )
        steps.append(("invite", _("Invite members"), "console_invitations", Invitation.objects.all()))
    if scope.has_category(Category.ATTENDANCE):
        steps.append(("geofence", _("Set a geofence for attendance"), "console_geofences", Geofence.objects.all()))
    if scope.has_category(Category.BIOMETRICS):
        steps.append(("device", _("Register a device"), "biometrics_devices", Device.objects.all()))
    found = _exist({key: done for key, _label, _url, done in steps if not isinstance(done, bool)})
    return [
        ChecklistItem(key, str(label), done if isinstance(done, bool) else found[key], url_name)
        for key, label, url_name, done in steps
    ]


# Part of the cache key: raise it whenever Dashboard or the figures it holds change shape.
DASHBOARD_CACHE_VERSION = 1


def dashboard_cache_key(*, enterprise: Enterprise, scope: AdminScope, today: date) -> str:
    """One entry per enterprise, administrator, scope and local day: a scoped admin's figures are
    never read by anyone else, and a change of scope or of day misses the cache."""
    scope_text = repr((sorted(scope.whole), sorted((c, tuple(sorted(p))) for c, p in scope.paths.items())))
    digest = hashlib.sha256(scope_text.encode()).hexdigest()[:16]
    admin = scope.membership.pk if scope.membership is not None else 0
    return f"dashboard:{DASHBOARD_CACHE_VERSION}:{enterprise.schema_name}:{enterprise.pk}:{admin}:{digest}:{today}"


def dashboard_for(*, enterprise: Enterprise, scope: AdminScope, fresh: bool = False) -> Dashboard:
    """Every figure the admin may see, for today (the enterprise's local day).

    The figures are kept for settings.DASHBOARD_CACHE_SECONDS per administrator and scope (the
    page says when they were read and offers a refresh, `fresh=True`); the setup checklist is
    always read anew, so that a step done shows as done at once (docs/dashboard.md)."""
    today = timezone.localdate()
    key = dashboard_cache_key(enterprise=enterprise, scope=scope, today=today)
    seconds = settings.DASHBOARD_CACHE_SECONDS
    dashboard = None if fresh or not seconds else cache.get(key)
    # The age is read on the portal's clock (Redis expires the entry on its own, later).
    if dashboard is None or timezone.now() - dashboard.computed_at >= timedelta(seconds=seconds):
        dashboard = _dashboard_read(enterprise=enterprise, scope=scope, today=today)
        if seconds:
            cache.set(key, dashboard, timeout=seconds + 5)
    with enterprise_schema(enterprise):
        return replace(dashboard, checklist=dashboard_checklist(enterprise=enterprise, scope=scope))


def _dashboard_read(*, enterprise: Enterprise, scope: AdminScope, today: date) -> Dashboard:
    with enterprise_schema(enterprise):
        members = (
            scope.members(Category.DIRECTORY, include_invited=False).count()
            if scope.has_category(Category.DIRECTORY)
            else None
        )
        health = (
            health_today(enterprise=enterprise, scope=scope, day=today) if scope.has_category(Category.HEALTH) else None
        )
        invitations = invitation_list_pending(scope=scope).count() if scope.has_category(Category.DIRECTORY) else None
        purge_shown = scope.has_category(Category.RETENTION)
        attendance, trend = dashboard_attendance(enterprise=enterprise, scope=scope, day=today)
        return Dashboard(
            today=today,
            computed_at=timezone.now(),
            members=members,
            attendance=attendance,
            attendance_trend=trend,
            health=health,
            invitations_pending=invitations,
            requests=dashboard_requests(scope=scope, today=today),
            notice=dashboard_notice(enterprise=enterprise, scope=scope),
            purge=purge_last_run(enterprise=enterprise) if purge_shown else None,
            purge_shown=purge_shown,
            checklist=[],
        )
