"""Reads of attendance data (ENT-4). Admin reads start from the acting admin's scope
(`scope.members(Category.ATTENDANCE)`), so a scoped admin never sees a member outside it; member
reads take the member's own membership. Querysets are lazy: they run in the schema of the
request that evaluates them (the enterprise's)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Exists, F, FilteredRelation, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from attendance.models import AttendanceDay, ClockEvent, ClockEventLocation, Geofence
from core.models import Membership
from core.scopes import AdminScope
from tenants.categories import Category
from tenants.ids import object_id

HISTORY_DAYS = 30


def attendance_overview(*, scope: AdminScope, day: date, exceptions_only: bool = False) -> QuerySet[Membership]:
    """One row per active member in scope, with that day's record joined in (one query):
    `day_id`, `first_in`, `last_out`, `exceptions` (None when the member has no record)."""
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
    return rows


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
