"""Attendance API (ENT-4, `/api/v1/`).

Members: `POST attendance/clock/` (clock in/out from the app or by Wi-Fi; the server's clock is
the time) and `GET attendance/me/` (their last 30 days). Admins with the attendance category:
`GET attendance/days/?date=YYYY-MM-DD` (members in their scope, paginated),
`GET attendance/statistics/` and `GET attendance/statistics/members/` (ENT-12: figures over a date
range per period, department subtree and member, within their scope), `GET/POST geofences/`
and `GET/PATCH/DELETE geofences/<id>/`; changing geofences needs attendance over the whole
enterprise (a scoped admin of one department gets 403)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from attendance.models import ClockEvent
from attendance.selectors import (
    Granularity,
    MemberStatistics,
    StatisticsWindow,
    attendance_days_for_member,
    attendance_overview,
    attendance_statistics,
    geofence_for,
    geofence_list,
    statistics_range_check,
    statistics_window,
)
from attendance.services import (
    EXCEPTIONS,
    attendance_clock,
    attendance_policy_get,
    geofence_create,
    geofence_delete,
    geofence_update,
)
from biometrics.apis import DeviceApiView, NamedChoiceField
from biometrics.models import Purpose
from biometrics.selectors import (
    active_member,
)
from consent.permissions.services import DevicePermissionRequired
from core.apis import EnterpriseApiView
from tenants.access import Manage, Read, SelfService
from tenants.apis import Pagination, paginated, service_errors
from tenants.categories import Category


@extend_schema_field({"type": "string", "pattern": "^(in|out)$", "description": "`in` or `out`."})
class ClockKindField(serializers.ChoiceField):
    """`in` / `out`. Documented as a pattern, not an enum: other sub-domains have fields named
    `kind` with other choices, and drf-spectacular names enum components by field name."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=ClockEvent.Kind.choices, **kwargs)


class DayOutputSerializer(serializers.Serializer):
    date = serializers.DateField()
    first_in = serializers.DateTimeField(allow_null=True)
    last_out = serializers.DateTimeField(allow_null=True)
    exceptions = serializers.ListField(child=serializers.ChoiceField(choices=EXCEPTIONS))


class GeofenceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    radius_m = serializers.IntegerField()
    wifi_bssids = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField()


class AttendanceClockApi(EnterpriseApiView):
    """Clock in or out. `source` app needs latitude and longitude; wifi needs wifi_bssid.
    Raw coordinates are stored encrypted; the event keeps a ~1 km cell and whether it was in range."""

    access = SelfService()

    class InputSerializer(serializers.Serializer):
        kind = ClockKindField()
        source = serializers.ChoiceField(
            choices=[ClockEvent.Source.APP, ClockEvent.Source.WIFI], default=ClockEvent.Source.APP
        )
        latitude = serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90)
        longitude = serializers.FloatField(required=False, allow_null=True, min_value=-180, max_value=180)
        accuracy_m = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=1_000_000)
        wifi_bssid = serializers.CharField(required=False, allow_blank=True, max_length=32)
        photo = serializers.CharField(
            required=False,
            max_length=3_000_000,
            help_text="Base64 of a JPEG or PNG (at most 2 MB) taken at clock-in; needs the camera device "
            "permission (CON-5) and the biometrics consent for attendance (CON-4).",
        )

        def validate_photo(self, value: str) -> bytes:
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError) as error:
                raise serializers.ValidationError("Send the photo as base64.") from error

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        kind = serializers.CharField()
        source = serializers.CharField()
        occurred_at = serializers.DateTimeField()
        within_geofence = serializers.BooleanField()
        geofence = serializers.CharField(source="geofence.name", allow_null=True, default=None)
        location_cell = serializers.CharField()
        accuracy_m = serializers.IntegerField(allow_null=True)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Any) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            event = attendance_clock(
                enterprise=self.enterprise, membership=self.membership, **serializer.validated_data
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        except DevicePermissionRequired as refused:  # CON-5: 403 with a stable code
            raise PermissionDenied({"detail": refused.message, "code": refused.code, "kind": refused.kind}) from None
        return Response(self.OutputSerializer(event).data, status=status.HTTP_201_CREATED)


class AttendanceMeApi(EnterpriseApiView):
    """The signed-in member's daily records of the last 30 days, newest first."""

    access = SelfService()

    @extend_schema(responses=DayOutputSerializer(many=True))
    def get(self, request: Any) -> Response:
        days = attendance_days_for_member(membership=self.membership)
        return Response(DayOutputSerializer(days, many=True).data)


class DayRowOutputSerializer(serializers.Serializer):
    member_id = serializers.IntegerField(source="pk")
    display_name = serializers.CharField()
    date = serializers.DateField()
    first_in = serializers.DateTimeField(allow_null=True)
    last_out = serializers.DateTimeField(allow_null=True)
    exceptions = serializers.ListField(child=serializers.ChoiceField(choices=EXCEPTIONS))


class DayPageOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = DayRowOutputSerializer(many=True)


class AttendanceDayListApi(EnterpriseApiView):
    """One row per active member in the admin's attendance scope, with that day's record
    (first_in, last_out and exceptions are null/empty when there is none)."""

    access = Read(Category.ATTENDANCE)

    class FilterSerializer(serializers.Serializer):
        date = serializers.DateField(required=False)
        exceptions_only = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        parameters=[
            OpenApiParameter("date", str, description="YYYY-MM-DD; default today (Asia/Shanghai)."),
            OpenApiParameter("exceptions_only", bool),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses=DayPageOutputSerializer,
    )
    def get(self, request: Any) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        day = filters.validated_data.get("date") or timezone.localdate(timezone=timezone.get_default_timezone())
        rows = attendance_overview(scope=self.scope, day=day, exceptions_only=filters.validated_data["exceptions_only"])
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request, view=self) or []
        data = [
            {
                "pk": row.pk,
                "display_name": row.display_name,
                "date": day,
                "first_in": row.first_in,
                "last_out": row.last_out,
                "exceptions": row.exceptions or [],
            }
            for row in page
        ]
        return paginator.get_paginated_response(DayRowOutputSerializer(data, many=True).data)


class StatisticsFilterSerializer(serializers.Serializer):
    granularity = serializers.ChoiceField(
        choices=list(Granularity.CHOICES),
        default=Granularity.DAY,
        help_text="Period length: day, week (from Monday) or month.",
    )
    date_from = serializers.DateField(required=False, help_text="YYYY-MM-DD; default the 1st of date_to's month.")
    date_to = serializers.DateField(required=False, help_text="YYYY-MM-DD; default today (Asia/Shanghai).")
    department = serializers.IntegerField(
        required=False, min_value=1, help_text="A department in your scope: its subtree is counted."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        today = timezone.localdate(timezone=timezone.get_default_timezone())
        date_to = attrs.get("date_to") or today
        date_from = attrs.get("date_from") or date_to.replace(day=1)
        try:
            statistics_range_check(date_from=date_from, date_to=date_to, today=today)
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from error
        department = None
        if attrs.get("department") is not None:
            scope = self.context["scope"]
            department = scope.departments(Category.ATTENDANCE).filter(pk=attrs["department"]).first()
            if department is None:  # out of scope answers like missing
                raise ValidationError({"department": [_("No department with this id in your scope.")]})
        return {**attrs, "date_from": date_from, "date_to": date_to, "department": department}


class FiguresOutputSerializer(serializers.Serializer):
    clock_ins = serializers.IntegerField(help_text="Days with a clock-in.")
    on_time = serializers.IntegerField()
    late = serializers.IntegerField()
    absent = serializers.IntegerField(help_text="Working days due without a clock-in.")
    out_of_range = serializers.IntegerField(help_text="Days with a clock event out of range.")
    working_days_due = serializers.IntegerField(source="due")
    on_time_rate = serializers.FloatField(allow_null=True, help_text="Per cent of clock-ins.")
    late_rate = serializers.FloatField(allow_null=True, help_text="Per cent of clock-ins.")
    absent_rate = serializers.FloatField(allow_null=True, help_text="Per cent of working days due.")
    out_of_range_rate = serializers.FloatField(allow_null=True, help_text="Per cent of days with a clock event.")


class PeriodOutputSerializer(serializers.Serializer):
    start = serializers.DateField(help_text="The period's first day (a Monday for weeks, the 1st for months).")
    figures = FiguresOutputSerializer()


class DepartmentFiguresOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="department_id")
    name = serializers.CharField()
    depth = serializers.IntegerField()
    members = serializers.IntegerField()
    figures = FiguresOutputSerializer()


class MemberFiguresOutputSerializer(serializers.Serializer):
    member_id = serializers.IntegerField()
    display_name = serializers.CharField()
    figures = FiguresOutputSerializer()


class StatisticsOutputSerializer(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    granularity = serializers.CharField()
    department = serializers.IntegerField(allow_null=True)
    totals = FiguresOutputSerializer()
    periods = PeriodOutputSerializer(many=True)
    departments = DepartmentFiguresOutputSerializer(many=True)


STATISTICS_PARAMETERS = [
    OpenApiParameter("granularity", str, enum=list(Granularity.CHOICES), description="day (default), week or month."),
    OpenApiParameter("date_from", str, description="YYYY-MM-DD; default the 1st of date_to's month."),
    OpenApiParameter("date_to", str, description="YYYY-MM-DD, not after today; default today (Asia/Shanghai)."),
    OpenApiParameter("department", int, description="A department in your scope (its subtree is counted)."),
]


class _StatisticsApi(EnterpriseApiView):
    access = Read(Category.ATTENDANCE)

    def window(self, request: Any) -> StatisticsWindow:
        filters = StatisticsFilterSerializer(data=request.query_params, context={"scope": self.scope})
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        return statistics_window(
            date_from=data["date_from"],
            date_to=data["date_to"],
            granularity=data["granularity"],
            department=data["department"],
            work_ends=attendance_policy_get(enterprise=self.enterprise).work_ends,
        )


class AttendanceStatisticsApi(_StatisticsApi):
    """Attendance figures over a date range (at most 366 days, none after today) for the active
    members in the admin's scope: totals, one entry per period (every period, zeros included) and
    one per department subtree. Counts are member-days; absent counts working days (Monday to
    Friday, not a public holiday) from the day a member joined, once the working day has ended."""

    @extend_schema(parameters=STATISTICS_PARAMETERS, responses=StatisticsOutputSerializer)
    def get(self, request: Any) -> Response:
        window = self.window(request)
        statistics = attendance_statistics(scope=self.scope, window=window)
        data = {
            "date_from": window.date_from,
            "date_to": window.date_to,
            "granularity": window.granularity,
            "department": window.department.pk if window.department is not None else None,
            "totals": statistics.total,
            "periods": statistics.periods,
            "departments": statistics.departments,
        }
        return Response(StatisticsOutputSerializer(data).data)


class AttendanceStatisticsMembersApi(_StatisticsApi):
    """The same figures per member (paginated, by name), with the same filters."""

    @extend_schema(
        parameters=[*STATISTICS_PARAMETERS, OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses=paginated(MemberFiguresOutputSerializer, "PaginatedMemberFiguresList"),
    )
    def get(self, request: Any) -> Response:
        window = self.window(request)
        paginator = Pagination()
        page = paginator.paginate_queryset(MemberStatistics(scope=self.scope, window=window), request, view=self)  # type: ignore[arg-type]
        return paginator.get_paginated_response(MemberFiguresOutputSerializer(page or [], many=True).data)


class GeofenceInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    latitude = serializers.FloatField(min_value=-90, max_value=90)
    longitude = serializers.FloatField(min_value=-180, max_value=180)
    radius_m = serializers.IntegerField(min_value=1, max_value=100_000, default=200)
    wifi_bssids = serializers.ListField(child=serializers.CharField(max_length=32), max_length=100, default=list)
    is_active = serializers.BooleanField(default=True)


class _GeofenceAdminApi(EnterpriseApiView):
    access = Manage(Category.ATTENDANCE, enterprise_wide=True)


class GeofenceListApi(_GeofenceAdminApi):
    """The offices: circles and their Wi-Fi networks."""

    @extend_schema(responses=GeofenceOutputSerializer(many=True))
    def get(self, request: Any) -> Response:
        return Response(GeofenceOutputSerializer(geofence_list(), many=True).data)

    @extend_schema(request=GeofenceInputSerializer, responses={201: GeofenceOutputSerializer})
    def post(self, request: Any) -> Response:
        serializer = GeofenceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            geofence = geofence_create(enterprise=self.enterprise, actor=self.membership, **serializer.validated_data)
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(GeofenceOutputSerializer(geofence).data, status=status.HTTP_201_CREATED)


class GeofenceDetailApi(_GeofenceAdminApi):
    @extend_schema(responses=GeofenceOutputSerializer)
    def get(self, request: Any, pk: int) -> Response:
        return Response(GeofenceOutputSerializer(geofence_for(scope=self.scope, pk=pk)).data)

    @extend_schema(request=GeofenceInputSerializer(partial=True), responses=GeofenceOutputSerializer)
    def patch(self, request: Any, pk: int) -> Response:
        geofence = geofence_for(scope=self.scope, pk=pk)
        serializer = GeofenceInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            geofence = geofence_update(
                enterprise=self.enterprise, actor=self.membership, geofence=geofence, **serializer.validated_data
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(GeofenceOutputSerializer(geofence).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Any, pk: int) -> Response:
        geofence = geofence_for(scope=self.scope, pk=pk)
        geofence_delete(enterprise=self.enterprise, actor=self.membership, geofence=geofence)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeviceClockKindField(NamedChoiceField):
    enum_name = "DeviceClockKindEnum"
    enum_choices = ClockEvent.Kind.choices


class ClockApi(DeviceApiView):
    """A clock event seen by the device (ENT-4): the member it recognised, in or out, when."""

    class InputSerializer(serializers.Serializer):
        membership_id = serializers.IntegerField(min_value=1)
        kind = DeviceClockKindField()
        occurred_at = serializers.DateTimeField(required=False)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        membership_id = serializers.IntegerField()
        kind = DeviceClockKindField()
        occurred_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Any) -> Response:

        if self.device.purpose != Purpose.ATTENDANCE:
            raise PermissionDenied(_("Only attendance devices post clock events."))
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        membership = active_member(pk=data["membership_id"])
        if membership is None:
            raise ValidationError({"membership_id": [_("No active member with this id.")]})
        try:
            event = attendance_clock(
                enterprise=self.enterprise,
                membership=membership,
                kind=data["kind"],
                source="device",
                occurred_at=data.get("occurred_at"),
                device=self.device,
            )
        except DjangoValidationError as error:  # 400 with field errors; 403 consent_required (CON-6)
            raise service_errors(error) from error
        return Response(
            self.OutputSerializer(
                {"id": event.pk, "membership_id": membership.pk, "kind": event.kind, "occurred_at": event.occurred_at}
            ).data,
            status=status.HTTP_201_CREATED,
        )
