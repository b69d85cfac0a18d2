"""Reads about health reports (ENT-5) for administrators, always through their scope (ENT-8).

Only admins whose scope holds the health category get anything: full admins without it (amy)
are refused like members. The summary is aggregate SQL per department (counts and cities, no
names, no details); the named list carries name, city and the unwell flag, never the encrypted
details (services.health.health_report_reveal decrypts one report and records it)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404
from django.utils.translation import gettext as _

from core.models import Membership
from core.scopes import AdminScope
from health.models import HealthReport
from tenants.categories import Category
from tenants.context import enterprise_schema
from tenants.models import Enterprise


@dataclass(frozen=True)
class CityCount:
    city: str
    count: int


@dataclass
class DepartmentHealth:
    """One department's figures for a day (members directly in it; a member in two departments
    counts in both). `department_id` None is the row of members without a department."""

    department_id: int | None
    name: str
    depth: int
    members: int = 0
    reported: int = 0
    unwell: int = 0
    cities: list[CityCount] = field(default_factory=list)

    @property
    def not_reported(self) -> int:
        return max(self.members - self.reported, 0)


@dataclass
class HealthSummary:
    day: datetime.date
    departments: list[DepartmentHealth]
    members: int  # distinct active members in scope
    reported: int
    unwell: int

    @property
    def not_reported(self) -> int:
        return max(self.members - self.reported, 0)


def _require_health(scope: AdminScope) -> None:
    if not scope.has_category(Category.HEALTH):
        raise PermissionDenied(_("Your administrator scope does not include health data."))


def health_summary(*, enterprise: Enterprise, scope: AdminScope, day: datetime.date) -> HealthSummary:
    """Per department in the admin's health scope: active members, reports submitted, unwell,
    not reported, and reports per city. Five aggregate queries whatever the number of members;
    no member is named."""
    _require_health(scope)
    with enterprise_schema(enterprise):
        whole = Category.HEALTH in scope.whole
        departments = scope.departments(Category.HEALTH)
        active = Membership.objects.filter(status=Membership.Status.ACTIVE)
        reports = HealthReport.objects.filter(date=day, membership__status=Membership.Status.ACTIVE)
        if not whole:  # a whole-enterprise scope keeps members without a department (group None)
            active = active.filter(departments__in=departments)
            reports = reports.filter(membership__departments__in=departments)
        rows: dict[int | None, DepartmentHealth] = {
            pk: DepartmentHealth(department_id=pk, name=name, depth=path.count("/") - 2)
            for pk, name, path in departments.order_by("path").values_list("pk", "name", "path")
        }
        member_counts = active.values_list("departments").annotate(n=Count("pk")).order_by()
        for department_id, n in member_counts:
            if department_id is None:
                rows[None] = DepartmentHealth(department_id=None, name=_("No department"), depth=0)
            if department_id in rows:
                rows[department_id].members = n
        city_counts = (
            reports.values_list("membership__departments", "city")
            .annotate(n=Count("pk"), sick=Count("pk", filter=Q(unwell=True)))
            .order_by("membership__departments", "-n", "city")
        )
        for department_id, city, n, sick in city_counts:
            row = rows.get(department_id)
            if row is None:
                continue
            row.reported += n
            row.unwell += sick
            row.cities.append(CityCount(city=city, count=n))
        in_scope = scope.members(Category.HEALTH, include_invited=False)
        members = in_scope.count()
        totals = HealthReport.objects.filter(date=day, membership__in=in_scope).aggregate(
            reported=Count("pk"), unwell=Count("pk", filter=Q(unwell=True))
        )
    return HealthSummary(
        day=day,
        departments=list(rows.values()),
        members=members,
        reported=totals["reported"],
        unwell=totals["unwell"],
    )


def health_reports_for_admin(*, enterprise: Enterprise, scope: AdminScope, day: datetime.date) -> list[HealthReport]:
    """The day's reports of active members within the admin's health scope, with the member
    (for the name); the encrypted details are not even loaded. One query."""
    _require_health(scope)
    with enterprise_schema(enterprise):
        return list(
            HealthReport.objects.filter(date=day, membership__in=scope.members(Category.HEALTH, include_invited=False))
            .select_related("membership")
            .defer("details_encrypted")
            .order_by("membership__display_name", "id")
        )


def health_report_for_admin(*, enterprise: Enterprise, scope: AdminScope, pk: int) -> HealthReport:
    """Fetch-and-authorize one report: the same 404 for a missing report and for one of a member
    outside the admin's health scope."""
    _require_health(scope)
    with enterprise_schema(enterprise):
        report = (
            HealthReport.objects.filter(pk=pk, membership__in=scope.members(Category.HEALTH, include_invited=False))
            .select_related("membership")
            .first()
        )
    if report is None:
        raise Http404("No such health report.")
    return report


def health_reports_of_member(*, enterprise: Enterprise, membership: Membership, limit: int = 14) -> list[HealthReport]:
    """The member's own latest reports (newest first), without the encrypted details."""
    with enterprise_schema(enterprise):
        return list(
            HealthReport.objects.filter(membership=membership).defer("details_encrypted").order_by("-date")[:limit]
        )


def health_report_of_member_on(
    *, enterprise: Enterprise, membership: Membership, day: datetime.date
) -> HealthReport | None:
    with enterprise_schema(enterprise):
        return HealthReport.objects.filter(membership=membership, date=day).first()
