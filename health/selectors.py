"""Reads about health reports (ENT-5) for administrators, always through their scope (ENT-8).

Only admins whose scope holds the health category get anything: full admins without it (amy)
are refused like members. The summary aggregates per department subtree over a date range and
suppresses every figure about fewer than the enterprise's minimum group size (no names, no
details, docs/health.md); the named list carries name, city and the unwell flag, never the encrypted
details (services.health.health_report_reveal decrypts one report and records it)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Department, EnterpriseSettings, Membership
from core.scopes import AdminScope
from health.models import HealthReport
from tenants.categories import Category
from tenants.context import enterprise_schema
from tenants.models import Enterprise

HEALTH_MIN_GROUP_SIZE_DEFAULT = 5
HEALTH_MIN_GROUP_SIZE_FLOOR = 3  # GB/T 35273 §6.2: never fewer; the service refuses it
HEALTH_MIN_GROUP_SIZE_MAX = 100
MAX_RANGE_DAYS = 31


@dataclass(frozen=True)
class Figure:
    """One aggregate figure. `value` is None when it is about 1 to N-1 people (suppressed): it
    is then shown as "< N" and nothing below it is broken down. Zero is shown: it singles out
    nobody."""

    value: int | None
    min_group_size: int

    @property
    def suppressed(self) -> bool:
        return self.value is None

    @property
    def display(self) -> str:
        return f"< {self.min_group_size}" if self.value is None else str(self.value)

    def __str__(self) -> str:
        return self.display


def _figure(value: int, people: int, n: int) -> Figure:
    """`value` (a count) about `people` distinct people, suppressed when 0 < people < n."""
    return Figure(None if 0 < people < n else value, n)


@dataclass(frozen=True)
class CityCount:
    """People who reported from a city over the range. Cities with fewer than N people are
    pooled into one line (`city` empty: "other cities"), never listed by name."""

    city: str
    people: Figure

    @property
    def count(self) -> Figure:
        return self.people


@dataclass
class DepartmentHealth:
    """One department's figures over the range, its whole subtree included (a member in two
    departments counts once in each, and once in a common parent). `department_id` None is the
    row of members without a department; `department_id` 0 with `depth` -1 is the total."""

    department_id: int | None
    name: str
    depth: int
    path: str = ""
    suppressed: bool = False
    members: Figure = field(default_factory=lambda: Figure(0, HEALTH_MIN_GROUP_SIZE_DEFAULT))
    reported: Figure = field(default_factory=lambda: Figure(0, HEALTH_MIN_GROUP_SIZE_DEFAULT))
    not_reported: Figure = field(default_factory=lambda: Figure(0, HEALTH_MIN_GROUP_SIZE_DEFAULT))
    reports: Figure = field(default_factory=lambda: Figure(0, HEALTH_MIN_GROUP_SIZE_DEFAULT))
    unwell: Figure = field(default_factory=lambda: Figure(0, HEALTH_MIN_GROUP_SIZE_DEFAULT))
    cities: list[CityCount] = field(default_factory=list)


@dataclass(frozen=True)
class DayHealth:
    """One day of the range over the selected group (the active members in scope, under the
    selected department): members who reported that day, members who did not, members unwell
    that day, suppressed like a department row (a group under N: all "< N"; reported and missing
    both hidden when either is 1 to N-1; unwell hidden when 1 to N-1)."""

    date: datetime.date
    members: Figure
    reported: Figure
    missing: Figure
    unwell: Figure


@dataclass
class HealthSummary:
    date_from: datetime.date
    date_to: datetime.date
    min_group_size: int
    total: DepartmentHealth  # every active member in the admin's health scope (or the department's subtree)
    departments: list[DepartmentHealth]
    trend: list[DayHealth] = field(default_factory=list)
    department: Department | None = None  # the selected subtree (None: the whole scope)

    @property
    def day(self) -> datetime.date:
        return self.date_to

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    @property
    def chart_departments(self) -> list[DepartmentHealth]:
        """The bars of the per-department chart: the child departments of the top row when the
        rows hang under one top department (the root, a scoped admin's one subtree, the selected
        department), else the top rows; the "no department" row as its own bar. A suppressed
        department has no visible children (they are never broken down), so it is one bar."""
        tree = [row for row in self.departments if row.department_id is not None]
        if not tree:
            return list(self.departments)
        top_depth = min(row.depth for row in tree)
        tops = [row for row in tree if row.depth == top_depth]
        if len(tops) == 1:
            top = tops[0]
            children = [row for row in tree if row.depth == top_depth + 1 and row.path.startswith(top.path)]
            tops = children or tops
        return tops + [row for row in self.departments if row.department_id is None]


def _require_health(scope: AdminScope) -> None:
    if not scope.has_category(Category.HEALTH):
        raise PermissionDenied(_("Your administrator scope does not include health data."))


def health_min_group_size(*, enterprise: Enterprise) -> int:
    """The enterprise's minimum group size N (ENT-5, GB/T 35273 §6.2). One query."""
    with enterprise_schema(enterprise):
        value = EnterpriseSettings.objects.filter(pk=1).values_list("health_min_group_size", flat=True).first()
    return max(value or HEALTH_MIN_GROUP_SIZE_DEFAULT, HEALTH_MIN_GROUP_SIZE_FLOOR)


def health_range_check(date_from: datetime.date, date_to: datetime.date) -> None:
    """Field errors for a range the summary refuses: reversed, or longer than 31 days."""
    if date_to < date_from:
        raise ValidationError({"date_to": _("The end date must not be before the start date.")})
    if (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
        raise ValidationError({"date_to": _("Choose at most %(days)d days.") % {"days": MAX_RANGE_DAYS}})


def health_departments(*, enterprise: Enterprise, scope: AdminScope) -> list[Department]:
    """The departments of the admin's health scope in tree order (the dashboard's department
    filter). One query."""
    _require_health(scope)
    with enterprise_schema(enterprise):
        return list(scope.departments(Category.HEALTH).order_by("path").only("pk", "name", "path"))


def _ancestor_paths(path: str) -> list[str]:
    """ "/1/4/9/" -> ["/1/", "/1/4/", "/1/4/9/"]."""
    ids = [part for part in path.split("/") if part]
    return ["/" + "/".join(ids[: i + 1]) + "/" for i in range(len(ids))]


def _row(
    row: DepartmentHealth,
    members: set[int],
    reports: dict[int, int],
    unwell: set[int],
    cities: dict[int, set[str]],
    n: int,
) -> DepartmentHealth:
    """Fill `row` with suppressed figures for `members` (GB/T 35273 §6.2, docs/health.md)."""
    m = len(members)
    if 0 < m < n:  # a group of fewer than N: every figure "< N", no breakdown
        hidden = Figure(None, n)
        row.suppressed = True
        row.members = row.reported = row.not_reported = row.reports = row.unwell = hidden
        row.cities = []
        return row
    reporters = [pk for pk in members if pk in reports]
    r = len(reporters)
    row.members = Figure(m, n)
    # reported and not reported add up to members (shown): hide both when either is small
    pair_hidden = 0 < r < n or 0 < m - r < n
    row.reported = Figure(None if pair_hidden else r, n)
    row.not_reported = Figure(None if pair_hidden else m - r, n)
    row.reports = _figure(sum(reports[pk] for pk in reporters), r, n)
    sick = sum(1 for pk in reporters if pk in unwell)
    row.unwell = _figure(sick, sick, n)
    per_city: dict[str, int] = {}
    for pk in reporters:
        for city in cities.get(pk, ()):
            per_city[city] = per_city.get(city, 0) + 1
    shown = sorted(((c, k) for c, k in per_city.items() if k >= n), key=lambda item: (-item[1], item[0]))
    row.cities = [CityCount(city=c, people=Figure(k, n)) for c, k in shown]
    others = {pk for pk in reporters if any(per_city[c] < n for c in cities.get(pk, ()))}
    if others:
        row.cities.append(CityCount(city="", people=_figure(len(others), len(others), n)))
    return row


def health_summary(
    *,
    enterprise: Enterprise,
    scope: AdminScope,
    day: datetime.date | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    department: Department | None = None,
) -> HealthSummary:
    """Per department in the admin's health scope (or in the subtree of `department`, fetched
    through the scope by the caller), over a range of at most 31 days (default today): members,
    members who reported, reports, members unwell at least once, and people per city; and per
    day of the range the members who reported, did not, and were unwell (`trend`). A department
    aggregates its whole subtree. Every figure about 1 to N-1 people is suppressed ("< N", N =
    the enterprise's minimum group size) and a group of fewer than N is not broken down: the
    rows below a suppressed department are left out (ENT-5, GB/T 35273 §6.2). Five queries
    whatever the number of members and days; no member is named and no raw figure leaves this
    function."""
    _require_health(scope)
    date_to = date_to or day or timezone.localdate()
    date_from = date_from or day or date_to
    health_range_check(date_from, date_to)
    n = health_min_group_size(enterprise=enterprise)
    with enterprise_schema(enterprise):
        whole = Category.HEALTH in scope.whole
        if department is not None and whole and department.path.count("/") == 2:
            department = None  # the root department: the whole enterprise (as the reminder's rule)
        in_scope = scope.members(Category.HEALTH, include_invited=False)
        scoped_departments = scope.departments(Category.HEALTH)
        if department is not None:
            scoped_departments = scoped_departments.filter(path__startswith=department.path)
            in_scope = in_scope.filter(
                pk__in=Membership.objects.filter(departments__path__startswith=department.path).values("pk")
            )
        departments = list(scoped_departments.order_by("path").values_list("pk", "name", "path"))
        member_paths = list(in_scope.values_list("pk", "departments__path"))
        reports_in_range = HealthReport.objects.filter(
            date__gte=date_from, date__lte=date_to, membership__in=in_scope
        ).order_by()
        report_rows = list(
            reports_in_range.values_list("membership_id", "city").annotate(
                n=Count("pk"), sick=Count("pk", filter=Q(unwell=True))
            )
        )
        day_rows = {
            day: (reported, sick)
            for day, reported, sick in reports_in_range.values("date")
            .annotate(reported=Count("membership_id", distinct=True), sick=Count("pk", filter=Q(unwell=True)))
            .values_list("date", "reported", "sick")
        }
    by_path: dict[str, set[int]] = {path: set() for _pk, _name, path in departments}
    everyone: set[int] = set()
    no_department: set[int] = set()
    for pk, path in member_paths:
        everyone.add(pk)
        if path is None:
            no_department.add(pk)
            continue
        for prefix in _ancestor_paths(path):
            if prefix in by_path:
                by_path[prefix].add(pk)
    reports: dict[int, int] = {}
    unwell: set[int] = set()
    cities: dict[int, set[str]] = {}
    for pk, city, count, sick in report_rows:
        reports[pk] = reports.get(pk, 0) + count
        if sick:
            unwell.add(pk)
        cities.setdefault(pk, set()).add(city)
    rows: list[DepartmentHealth] = []
    hidden_below: list[str] = []  # paths of suppressed departments: nothing below them is shown
    for pk, name, path in departments:
        if any(path.startswith(prefix) for prefix in hidden_below):
            continue
        row = _row(
            DepartmentHealth(department_id=pk, name=name, depth=path.count("/") - 2, path=path),
            by_path[path],
            reports,
            unwell,
            cities,
            n,
        )
        rows.append(row)
        if row.suppressed:
            hidden_below.append(path)
    if whole and no_department and department is None:
        rows.append(
            _row(
                DepartmentHealth(department_id=None, name=_("No department"), depth=0),
                no_department,
                reports,
                unwell,
                cities,
                n,
            )
        )
    total = _row(
        DepartmentHealth(
            department_id=0, name=department.name if department else _("Everyone in your scope"), depth=-1
        ),
        everyone,
        reports,
        unwell,
        cities,
        n,
    )
    dates = [date_from + datetime.timedelta(days=i) for i in range((date_to - date_from).days + 1)]
    trend = [_day(date, len(everyone), *day_rows.get(date, (0, 0)), n) for date in dates]
    return HealthSummary(
        date_from=date_from,
        date_to=date_to,
        min_group_size=n,
        total=total,
        departments=rows,
        trend=trend,
        department=department,
    )


def _day(date: datetime.date, members: int, reported: int, sick: int, n: int) -> DayHealth:
    """A day's figures over a group of `members`, suppressed as a department row."""
    if 0 < members < n:
        hidden = Figure(None, n)
        return DayHealth(date=date, members=hidden, reported=hidden, missing=hidden, unwell=hidden)
    missing = max(members - reported, 0)
    pair_hidden = 0 < reported < n or 0 < missing < n
    return DayHealth(
        date=date,
        members=Figure(members, n),
        reported=Figure(None if pair_hidden else reported, n),
        missing=Figure(None if pair_hidden else missing, n),
        unwell=_figure(sick, sick, n),
    )


@dataclass(frozen=True)
class HealthToday:
    """A day's reporting over the active members in the admin's health scope, with the same
    suppression as the summary: members under N, or a reported/not-reported split with a side
    under N, show as "< N"."""

    members: Figure
    reported: Figure
    not_reported: Figure


def health_today(*, enterprise: Enterprise, scope: AdminScope, day: datetime.date) -> HealthToday:
    """Two queries (N, one aggregate) whatever the number of members."""
    _require_health(scope)
    n = health_min_group_size(enterprise=enterprise)
    with enterprise_schema(enterprise):
        figures = (
            scope.members(Category.HEALTH, include_invited=False)
            .annotate(has_report=Exists(HealthReport.objects.filter(membership=OuterRef("pk"), date=day)))
            .aggregate(members=Count("pk"), reported=Count("pk", filter=Q(has_report=True)))
        )
    m, r = figures["members"], figures["reported"]
    if 0 < m < n:
        hidden = Figure(None, n)
        return HealthToday(members=hidden, reported=hidden, not_reported=hidden)
    pair_hidden = 0 < r < n or 0 < m - r < n
    return HealthToday(
        members=Figure(m, n),
        reported=Figure(None if pair_hidden else r, n),
        not_reported=Figure(None if pair_hidden else m - r, n),
    )


def health_members_not_reported(*, scope: AdminScope, paths: list[str], day: datetime.date) -> QuerySet[Membership]:
    """Active members in the admin's health scope under `paths` ("/" is the whole enterprise,
    members without a department included) without a report on `day`. Evaluate it in the
    enterprise's schema."""
    members = scope.members(Category.HEALTH, include_invited=False)
    if "/" not in paths:
        members = members.filter(
            pk__in=Membership.objects.filter(
                reduce(or_, (Q(departments__path__startswith=path) for path in paths))
            ).values("pk")
        )
    return members.exclude(Exists(HealthReport.objects.filter(membership=OuterRef("pk"), date=day)))


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
