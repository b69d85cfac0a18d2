"""Reads of attendance data (ENT-4). Admin reads start from the acting admin's scope
(`scope.members(Category.ATTENDANCE)`), so a scoped admin never sees a member outside it; member
reads take the member's own membership. Querysets are lazy: they run in the schema of the
request that evaluates them (the enterprise's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, F, FilteredRelation, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from attendance.models import AttendanceDay, ClockEvent, ClockEventLocation, Geofence
from core.models import Membership
from core.scopes import AdminScope
from tenants.categories import Category
from tenants.ids import object_id

HISTORY_DAYS = 30


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
    the working day and `working_day` attendance.services.is_working_day(day)."""
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
