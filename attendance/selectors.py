"""Reads of attendance data (ENT-4). Admin reads start from the acting admin's scope
(`scope.members(Category.ATTENDANCE)`), so a scoped admin never sees a member outside it; member
reads take the member's own membership. Querysets are lazy: they run in the schema of the
request that evaluates them (the enterprise's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import holidays
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Exists, F, FilteredRelation, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from attendance.models import AttendanceDay, ClockEvent, ClockEventLocation, Geofence
from core.models import Department, Membership
from core.scopes import AdminScope
from tenants.categories import Category
from tenants.ids import object_id

HISTORY_DAYS = 30


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a public holiday of China (the `holidays` package)."""
    return day.weekday() < 5 and day not in holidays.China(years=day.year)


class Status:
    """The overview's status filter (the console home's attendance figures link to it)."""

    ON_TIME = "on_time"
    LATE = "late"
    OUT_OF_RANGE = "out_of_range"
    NOT_CLOCKED_IN = "not_clocked_in"
    CHOICES = (ON_TIME, LATE, OUT_OF_RANGE, NOT_CLOCKED_IN)


_STATUS_FILTERS: dict[str, Q] = {
    Status.ON_TIME: Q(day_row__first_in__isnull=False) & ~Q(day_row__exceptions__contains=["late"]),
    Status.LATE: Q(day_row__exceptions__contains=["late"]),
    Status.OUT_OF_RANGE: Q(day_row__exceptions__contains=["out_of_range"]),
    Status.NOT_CLOCKED_IN: Q(day_row__first_in__isnull=True),
}


def _with_day(scope: AdminScope, day: date) -> QuerySet[Membership]:
    return scope.members(Category.ATTENDANCE, include_invited=False).annotate(
        day_row=FilteredRelation("attendance_days", condition=Q(attendance_days__date=day))
    )


def attendance_overview(
    *, scope: AdminScope, day: date, exceptions_only: bool = False, status: str = ""
) -> QuerySet[Membership]:
    """One row per active member in scope, with that day's record joined in (one query):
    `day_id`, `first_in`, `last_out`, `exceptions` (None when the member has no record).
    `status` (Status) keeps the members on time, late, out of range or not clocked in."""
    rows = (
        scope.members(Category.ATTENDANCE, include_invited=False)
        .annotate(day_row=FilteredRelation("attendance_days", condition=Q(attendance_days__date=day)))
        .annotate(
            day_id=F("day_row__id"),
            first_in=F("day_row__first_in"),
            last_out=F("day_row__last_out"),
            exceptions=F("day_row__exceptions"),
        )
        .order_by("display_name", "id")
    )
    if exceptions_only:
        rows = rows.filter(day_row__isnull=False).exclude(day_row__exceptions=[])
    if status in _STATUS_FILTERS:
        rows = rows.filter(_STATUS_FILTERS[status])
    return rows


@dataclass(frozen=True)
class AttendanceCounts:
    """A day's figures over the active members in the admin's attendance scope (ENT-4). Late
    and out of range are the day records' exceptions (attendance.services sets them when the
    member clocks in); on a working day, members without a clock-in are "not yet clocked in"
    until the working day ends and "absent" after it."""

    day: date
    working_day: bool
    day_over: bool
    members: int
    clocked_in: int
    late: int
    out_of_range: int

    @property
    def on_time(self) -> int:
        return self.clocked_in - self.late

    @property
    def not_clocked_in(self) -> int:
        return self.members - self.clocked_in

    @property
    def absent(self) -> int:
        return self.not_clocked_in if self.working_day and self.day_over else 0

    @property
    def not_yet(self) -> int:
        return self.not_clocked_in if self.working_day and not self.day_over else 0


def attendance_counts(*, scope: AdminScope, day: date, work_ends: time, working_day: bool) -> AttendanceCounts:
    """One aggregate query whatever the number of members. `work_ends` is the policy's end of
    the working day and `working_day` is_working_day(day)."""
    figures = _with_day(scope, day).aggregate(
        members=Count("pk"),
        clocked_in=Count("pk", filter=Q(day_row__first_in__isnull=False)),
        late=Count("pk", filter=_STATUS_FILTERS[Status.LATE]),
        out_of_range=Count("pk", filter=_STATUS_FILTERS[Status.OUT_OF_RANGE]),
    )
    zone = timezone.get_default_timezone()
    day_over = timezone.now() >= timezone.make_aware(datetime.combine(day, work_ends), zone)
    return AttendanceCounts(day=day, working_day=working_day, day_over=day_over, **figures)


def attendance_days_for_member(
    *, membership: Membership, days: int = HISTORY_DAYS, today: date | None = None
) -> QuerySet[AttendanceDay]:
    """The member's records of the last `days` days, newest first."""
    today = today or timezone.localdate(timezone=timezone.get_default_timezone())
    return AttendanceDay.objects.filter(
        membership=membership, date__gt=today - timedelta(days=days), date__lte=today
    ).order_by("-date")


def attendance_today(*, membership: Membership) -> AttendanceDay | None:
    today = timezone.localdate(timezone=timezone.get_default_timezone())
    return AttendanceDay.objects.filter(membership=membership, date=today).first()


def clock_events_for_member(*, membership: Membership, days: int = HISTORY_DAYS) -> QuerySet[ClockEvent]:
    """The member's clock events of the last `days` days, newest first, with the geofence's name
    and `has_raw_location` (whether raw coordinates are still kept)."""
    today = timezone.localdate(timezone=timezone.get_default_timezone())
    since = timezone.make_aware(
        datetime.combine(today - timedelta(days=days - 1), time.min), timezone.get_default_timezone()
    )
    return (
        ClockEvent.objects.filter(membership=membership, occurred_at__gte=since)
        .select_related("geofence")
        .annotate(has_raw_location=Exists(ClockEventLocation.objects.filter(event=OuterRef("pk"))))
        .order_by("-occurred_at")
    )


def clock_event_for(*, scope: AdminScope, pk: int) -> ClockEvent:
    """Fetch-and-authorize: a clock event of a member in the admin's attendance scope, or the same
    404 as a missing one."""
    event = ClockEvent.objects.filter(pk=pk, membership__in=scope.members(Category.ATTENDANCE).values("pk")).first()
    if event is None:
        raise Http404("No such clock event.")
    return event


def geofence_list() -> QuerySet[Geofence]:
    return Geofence.objects.order_by("name", "id")


def geofence_for(*, scope: AdminScope, pk: int) -> Geofence:
    """Fetch-and-authorize (ENT-8): geofences belong to the whole enterprise, so the scope is
    the attendance category; 404 when missing or not in the scope."""
    geofence = None
    if scope.has_category(Category.ATTENDANCE):
        geofence = Geofence.objects.filter(pk=object_id(pk) or 0).first()
    if geofence is None:
        raise Http404("No such geofence.")
    return geofence


# --- statistics (ENT-12) -------------------------------------------------------------------------
#
# Figures over a date range for the active members in the admin's attendance scope (optionally a
# department subtree), per period, per department subtree and per member. Every figure is a count
# of member-days, computed in PostgreSQL with one aggregate statement per table (no query per
# member or day; docs/attendance-statistics.md):
#
# - clock-ins: days with a first clock-in; late: days marked late; on time = clock-ins - late;
# - out of range: days with an event out of range; recorded: days with any clock event;
# - due: working days (is_working_day: Monday to Friday, not a holiday) on which a member was expected: on or
#   after the day they joined, before today, or today once the working day has ended;
# - absent = due - days among them with a clock-in.


class Granularity:
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    CHOICES = (DAY, WEEK, MONTH)


MAX_STATISTICS_DAYS = 366

LATE_JSON = '["late"]'
OUT_OF_RANGE_JSON = '["out_of_range"]'


def _local_today() -> date:
    return timezone.localdate(timezone=timezone.get_default_timezone())


def statistics_range_check(*, date_from: date, date_to: date, today: date | None = None) -> None:
    """Field errors for a range the statistics refuse: in the future, reversed, or longer than
    MAX_STATISTICS_DAYS days."""
    today = today or _local_today()
    errors: dict[str, str] = {}
    if date_from > today:
        errors["date_from"] = _("The start date cannot be after today.")
    if date_to > today:
        errors["date_to"] = _("The end date cannot be after today.")
    elif date_to < date_from:
        errors["date_to"] = _("The end date must not be before the start date.")
    elif (date_to - date_from).days + 1 > MAX_STATISTICS_DAYS:
        errors["date_to"] = _("Choose at most %(days)d days.") % {"days": MAX_STATISTICS_DAYS}
    if errors:
        raise ValidationError(errors)


def period_start(day: date, granularity: str) -> date:
    """The first day of the period holding `day`: itself, its week's Monday, its month's 1st."""
    if granularity == Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    if granularity == Granularity.MONTH:
        return day.replace(day=1)
    return day


def periods_between(date_from: date, date_to: date, granularity: str) -> list[date]:
    """The starts of every period the range touches, in order (a week or month that begins before
    `date_from` is named by its own first day but holds only the days in the range)."""
    starts: list[date] = []
    current = period_start(date_from, granularity)
    while current <= date_to:
        starts.append(current)
        if granularity == Granularity.WEEK:
            current += timedelta(days=7)
        elif granularity == Granularity.MONTH:
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            current += timedelta(days=1)
    return starts


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class Figures:
    """Counts of member-days (see the module's statistics notes)."""

    clock_ins: int = 0
    late: int = 0
    out_of_range: int = 0
    recorded: int = 0
    due: int = 0
    due_clocked: int = 0

    @property
    def on_time(self) -> int:
        return self.clock_ins - self.late

    @property
    def absent(self) -> int:
        return self.due - self.due_clocked

    @property
    def on_time_rate(self) -> float | None:
        """Per cent of clock-ins."""
        return _rate(self.on_time, self.clock_ins)

    @property
    def late_rate(self) -> float | None:
        """Per cent of clock-ins."""
        return _rate(self.late, self.clock_ins)

    @property
    def out_of_range_rate(self) -> float | None:
        """Per cent of the days with a clock event."""
        return _rate(self.out_of_range, self.recorded)

    @property
    def absent_rate(self) -> float | None:
        """Per cent of the working days due."""
        return _rate(self.absent, self.due)

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            clock_ins=self.clock_ins + other.clock_ins,
            late=self.late + other.late,
            out_of_range=self.out_of_range + other.out_of_range,
            recorded=self.recorded + other.recorded,
            due=self.due + other.due,
            due_clocked=self.due_clocked + other.due_clocked,
        )


FIGURE_COLUMNS = ("clock_ins", "late", "out_of_range", "recorded", "due", "due_clocked")


@dataclass(frozen=True)
class StatisticsWindow:
    """What the statistics cover: the range, the period length, the department subtree (None:
    the whole scope) and the working days on which a missing clock-in counts as an absence."""

    date_from: date
    date_to: date
    granularity: str
    department: Department | None
    due_days: tuple[date, ...]


def statistics_window(
    *,
    date_from: date,
    date_to: date,
    work_ends: time,
    granularity: str = Granularity.DAY,
    department: Department | None = None,
) -> StatisticsWindow:
    """The window of a checked range (statistics_range_check). `work_ends` is the policy's end
    of the working day: today's missing clock-ins are absences only after it."""
    zone = timezone.get_default_timezone()
    today = _local_today()
    today_over = timezone.now() >= timezone.make_aware(datetime.combine(today, work_ends), zone)
    due_days = tuple(
        day
        for offset in range((date_to - date_from).days + 1)
        if (day := date_from + timedelta(days=offset)) < today or (day == today and today_over)
        if is_working_day(day)
    )
    return StatisticsWindow(
        date_from=date_from, date_to=date_to, granularity=granularity, department=department, due_days=due_days
    )


def statistics_members(*, scope: AdminScope, window: StatisticsWindow) -> QuerySet[Membership]:
    """The active members the statistics count: the admin's attendance scope, within the
    department's subtree when one is chosen."""
    members = scope.members(Category.ATTENDANCE, include_invited=False)
    if window.department is not None:
        members = members.filter(
            pk__in=Membership.objects.filter(departments__path__startswith=window.department.path).values("pk")
        )
    return members


def statistics_departments(*, scope: AdminScope, window: StatisticsWindow) -> QuerySet[Department]:
    """The departments in the admin's attendance scope, within the chosen subtree."""
    departments = scope.departments(Category.ATTENDANCE)
    if window.department is not None:
        departments = departments.filter(path__startswith=window.department.path)
    return departments.order_by("path")


def _sql(queryset: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    return sql, tuple(params)


def _member_ctes(*, scope: AdminScope, window: StatisticsWindow) -> tuple[str, list[Any]]:
    """`mem` (the members counted and the local day each joined) and `pm` (one row of figures
    per member), with their parameters."""
    members_sql, members_params = _sql(statistics_members(scope=scope, window=window))
    names = {
        "membership": connection.ops.quote_name(Membership._meta.db_table),
        "day": connection.ops.quote_name(AttendanceDay._meta.db_table),
    }
    sql = f"""
mem AS (
    SELECT m.id, (COALESCE(m.joined_at, m.created_at) AT TIME ZONE %s)::date AS join_day
    FROM {names["membership"]} AS m WHERE m.id IN ({members_sql})
),
pm AS (
    SELECT mem.id, mem.join_day,
        count(a.id) FILTER (WHERE a.first_in IS NOT NULL) AS clock_ins,
        count(a.id) FILTER (WHERE a.exceptions @> %s::jsonb) AS late,
        count(a.id) FILTER (WHERE a.exceptions @> %s::jsonb) AS out_of_range,
        count(a.id) FILTER (WHERE a.first_in IS NOT NULL OR a.last_out IS NOT NULL) AS recorded,
        (SELECT count(*) FROM unnest(%s::date[]) AS u(day) WHERE u.day >= mem.join_day) AS due,
        count(a.id) FILTER (
            WHERE a.first_in IS NOT NULL AND a.date = ANY(%s::date[]) AND a.date >= mem.join_day
        ) AS due_clocked
    FROM mem LEFT JOIN {names["day"]} AS a
        ON a.membership_id = mem.id AND a.date BETWEEN %s AND %s
    GROUP BY mem.id, mem.join_day
)"""  # noqa: S608 — table names and the scope's compiled SQL, every value a parameter
    due = list(window.due_days)
    params = [
        str(timezone.get_default_timezone()),
        *members_params,
        LATE_JSON,
        OUT_OF_RANGE_JSON,
        due,
        due,
        window.date_from,
        window.date_to,
    ]
    return sql, params


def _figures(row: dict[str, Any]) -> Figures:
    return Figures(**{name: int(row[name] or 0) for name in FIGURE_COLUMNS})


def _fetch(sql: str, params: list[Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


@dataclass(frozen=True)
class PeriodRow:
    start: date
    figures: Figures


def statistics_periods(
    *, scope: AdminScope, window: StatisticsWindow, granularity: str | None = None
) -> list[PeriodRow]:
    """One row per period of the range (every period, zeros included), oldest first. One query."""
    granularity = granularity or window.granularity
    members_sql, members_params = _sql(statistics_members(scope=scope, window=window))
    names = {
        "membership": connection.ops.quote_name(Membership._meta.db_table),
        "day": connection.ops.quote_name(AttendanceDay._meta.db_table),
    }
    # `due` per day: how many members had joined by then (a running total over their join days).
    sql = f"""
WITH mem AS (
    SELECT m.id, (COALESCE(m.joined_at, m.created_at) AT TIME ZONE %s)::date AS join_day
    FROM {names["membership"]} AS m WHERE m.id IN ({members_sql})
),
joined AS (
    SELECT join_day, sum(count(*)) OVER (ORDER BY join_day) AS total FROM mem GROUP BY join_day
),
facts AS (
    SELECT a.date AS day,
        (a.first_in IS NOT NULL)::int AS clock_ins,
        (a.exceptions @> %s::jsonb)::int AS late,
        (a.exceptions @> %s::jsonb)::int AS out_of_range,
        (a.first_in IS NOT NULL OR a.last_out IS NOT NULL)::int AS recorded,
        0 AS due,
        (a.first_in IS NOT NULL AND a.date = ANY(%s::date[]) AND a.date >= mem.join_day)::int AS due_clocked
    FROM {names["day"]} AS a JOIN mem ON mem.id = a.membership_id
    WHERE a.date BETWEEN %s AND %s
    UNION ALL
    SELECT u.day, 0, 0, 0, 0,
        COALESCE((SELECT j.total FROM joined AS j WHERE j.join_day <= u.day ORDER BY j.join_day DESC LIMIT 1), 0),
        0
    FROM unnest(%s::date[]) AS u(day)
)
SELECT date_trunc(%s, facts.day::timestamp)::date AS period,
    sum(clock_ins) AS clock_ins, sum(late) AS late, sum(out_of_range) AS out_of_range,
    sum(recorded) AS recorded, sum(due) AS due, sum(due_clocked) AS due_clocked
FROM facts GROUP BY 1"""  # noqa: S608 — as above
    due = list(window.due_days)
    params = [
        str(timezone.get_default_timezone()),
        *members_params,
        LATE_JSON,
        OUT_OF_RANGE_JSON,
        due,
        window.date_from,
        window.date_to,
        due,
        granularity,
    ]
    found = {row["period"]: _figures(row) for row in _fetch(sql, params)}
    return [
        PeriodRow(start=start, figures=found.get(start, Figures()))
        for start in periods_between(window.date_from, window.date_to, granularity)
    ]


@dataclass(frozen=True)
class DepartmentRow:
    department_id: int
    name: str
    path: str
    members: int
    figures: Figures

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2


def statistics_by_department(*, scope: AdminScope, window: StatisticsWindow) -> list[DepartmentRow]:
    """One row per department in scope (within the chosen subtree), in tree order; a department
    counts the members of its whole subtree, each once. One query."""
    ctes, params = _member_ctes(scope=scope, window=window)
    departments_sql, departments_params = _sql(statistics_departments(scope=scope, window=window))
    names = {
        "department": connection.ops.quote_name(Department._meta.db_table),
        "links": connection.ops.quote_name(Membership.departments.through._meta.db_table),
    }
    sql = f"""
WITH {ctes},
pairs AS (
    SELECT DISTINCT top.id AS department_id, link.membership_id
    FROM {names["department"]} AS top
    JOIN {names["department"]} AS sub ON starts_with(sub.path, top.path)
    JOIN {names["links"]} AS link ON link.department_id = sub.id
    WHERE top.id IN ({departments_sql})
)
SELECT top.id, top.name, top.path, count(pm.id) AS members,
    sum(pm.clock_ins) AS clock_ins, sum(pm.late) AS late, sum(pm.out_of_range) AS out_of_range,
    sum(pm.recorded) AS recorded, sum(pm.due) AS due, sum(pm.due_clocked) AS due_clocked
FROM {names["department"]} AS top
LEFT JOIN pairs ON pairs.department_id = top.id
LEFT JOIN pm ON pm.id = pairs.membership_id
WHERE top.id IN ({departments_sql})
GROUP BY top.id, top.name, top.path
ORDER BY top.path"""  # noqa: S608 — as above
    rows = _fetch(sql, [*params, *departments_params, *departments_params])
    return [
        DepartmentRow(
            department_id=row["id"], name=row["name"], path=row["path"], members=row["members"], figures=_figures(row)
        )
        for row in rows
    ]


@dataclass(frozen=True)
class MemberRow:
    member_id: int
    display_name: str
    figures: Figures


class MemberStatistics:
    """The per-member table as a lazy sequence for django.core.paginator.Paginator: `count()`
    is one query, a slice one query (LIMIT/OFFSET), whatever the number of members and days."""

    def __init__(self, *, scope: AdminScope, window: StatisticsWindow) -> None:
        self.scope = scope
        self.window = window

    def count(self) -> int:
        return statistics_members(scope=self.scope, window=self.window).count()

    def __len__(self) -> int:
        return self.count()

    def rows(self, *, limit: int | None = None, offset: int = 0) -> list[MemberRow]:
        ctes, params = _member_ctes(scope=self.scope, window=self.window)
        table = connection.ops.quote_name(Membership._meta.db_table)
        sql = f"""
WITH {ctes}
SELECT pm.*, m.display_name FROM pm JOIN {table} AS m ON m.id = pm.id
ORDER BY m.display_name, m.id"""  # noqa: S608 — as above
        if limit is not None:
            sql += " LIMIT %s OFFSET %s"
            params = [*params, limit, offset]
        return [
            MemberRow(member_id=row["id"], display_name=row["display_name"], figures=_figures(row))
            for row in _fetch(sql, params)
        ]

    def __getitem__(self, index: slice) -> list[MemberRow]:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("MemberStatistics supports plain slices only.")
        start = index.start or 0
        limit = None if index.stop is None else max(0, index.stop - start)
        return self.rows(limit=limit, offset=start)


@dataclass(frozen=True)
class Statistics:
    window: StatisticsWindow
    periods: list[PeriodRow]
    departments: list[DepartmentRow]

    @property
    def total(self) -> Figures:
        return sum((row.figures for row in self.periods), Figures())


def attendance_statistics(*, scope: AdminScope, window: StatisticsWindow) -> Statistics:
    """Totals, periods and departments (two queries); members through MemberStatistics."""
    return Statistics(
        window=window,
        periods=statistics_periods(scope=scope, window=window),
        departments=statistics_by_department(scope=scope, window=window),
    )


# --- a member's month as a calendar ----------------------------------------------------------------


class DayStatus:
    """How a calendar day reads (the same rules as the statistics)."""

    ON_TIME = "on_time"
    LATE = "late"
    ABSENT = "absent"
    NOT_YET = "not_yet"  # today, a working day not over yet, no clock-in so far
    OFF = "off"  # weekend or public holiday: no clock-in needed
    NOT_JOINED = "not_joined"  # before the member joined
    FUTURE = "future"


@dataclass(frozen=True)
class CalendarDay:
    day: date
    in_month: bool
    status: str
    first_in: datetime | None = None
    last_out: datetime | None = None
    out_of_range: bool = False
    missing_out: bool = False
    is_today: bool = False


@dataclass(frozen=True)
class MonthCalendar:
    month: date  # the 1st
    weeks: list[list[CalendarDay]]  # Monday first
    previous: date
    next: date | None  # None after the current month
    figures: Figures


def month_start(value: date) -> date:
    return value.replace(day=1)


def _next_month(value: date) -> date:
    return (value.replace(day=28) + timedelta(days=4)).replace(day=1)


def attendance_month(*, membership: Membership, month: date, work_ends: time) -> MonthCalendar:
    """The member's month as weeks of days (Monday first), each day's status by the statistics'
    rules, and the month's figures (equal to the statistics of that member over the month so
    far). One query. `work_ends` is the policy's end of the working day."""
    zone = timezone.get_default_timezone()
    first = month_start(month)
    following = _next_month(first)
    last = following - timedelta(days=1)
    today = _local_today()
    today_over = timezone.now() >= timezone.make_aware(datetime.combine(today, work_ends), zone)
    joined = timezone.localtime(membership.joined_at or membership.created_at, zone).date()
    records = {
        record.date: record
        for record in AttendanceDay.objects.filter(membership=membership, date__gte=first, date__lte=last).only(
            "date", "first_in", "last_out", "exceptions"
        )
    }
    counts = dict.fromkeys(FIGURE_COLUMNS, 0)
    weeks: list[list[CalendarDay]] = []
    start = first - timedelta(days=first.weekday())
    end = last + timedelta(days=6 - last.weekday())
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        in_month = first <= day <= last
        record = records.get(day) if in_month else None
        working = is_working_day(day)
        due = in_month and working and day >= joined and (day < today or (day == today and today_over))
        exceptions = (record.exceptions or []) if record is not None else []
        first_in = record.first_in if record is not None else None
        last_out = record.last_out if record is not None else None
        if day > today:
            status = DayStatus.FUTURE
        elif first_in is not None:
            status = DayStatus.LATE if "late" in exceptions else DayStatus.ON_TIME
        elif not working:
            status = DayStatus.OFF
        elif day < joined:
            status = DayStatus.NOT_JOINED
        elif due:
            status = DayStatus.ABSENT
        else:
            status = DayStatus.NOT_YET
        if in_month and day <= today:
            counts["clock_ins"] += first_in is not None
            counts["late"] += "late" in exceptions
            counts["out_of_range"] += "out_of_range" in exceptions
            counts["recorded"] += first_in is not None or last_out is not None
            counts["due"] += due
            counts["due_clocked"] += due and first_in is not None
        cell = CalendarDay(
            day=day,
            in_month=in_month,
            status=status,
            first_in=first_in,
            last_out=last_out,
            out_of_range="out_of_range" in exceptions,
            missing_out="missing_out" in exceptions,
            is_today=day == today,
        )
        if day.weekday() == 0:
            weeks.append([])
        weeks[-1].append(cell)
    return MonthCalendar(
        month=first,
        weeks=weeks,
        previous=month_start(first - timedelta(days=1)),
        next=following if following <= today else None,
        figures=Figures(**counts),
    )
