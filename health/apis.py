"""Health reports API (ENT-5). Members submit and list their own reports; administrators whose
scope holds the health category (ENT-8) read the summary, the named list (no details) and reveal
one report's details, which is recorded in the ledger (ENT-10)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from core.apis import EnterpriseApiView
from core.encryption import KeyUnavailable
from core.selectors import get_department_for
from health.selectors import (
    Figure,
    health_min_group_size,
    health_report_for_admin,
    health_reports_for_admin,
    health_reports_of_member,
    health_summary,
)
from health.services import (
    CITY_MAX_LENGTH,
    DETAIL_NAMES,
    TEXT_MAX_LENGTH,
    health_min_group_size_set,
    health_reminder_send,
    health_report_reveal,
    health_report_submit,
)
from tenants.access import ByMethod, Manage, Read, SelfService
from tenants.apis import service_errors
from tenants.categories import Category


class DetailsGone(APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "The details of this report can no longer be read (the member's key was destroyed)."
    default_code = "key_unavailable"


date_parameter = OpenApiParameter("date", OpenApiTypes.DATE, description="The day (default: today).")


class DayInputSerializer(serializers.Serializer):
    date = serializers.DateField(required=False)


def _day(request: Any) -> Any:
    serializer = DayInputSerializer(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data.get("date") or timezone.localdate()


class HealthReportsApi(EnterpriseApiView):
    """GET: the day's reports of the members in the admin's health scope (name, city, unwell;
    details omitted). POST: the signed-in member submits their own report (upsert of the day)."""

    access = ByMethod(get=Read(Category.HEALTH), post=SelfService())

    class InputSerializer(serializers.Serializer):
        date = serializers.DateField(required=False, help_text="Default: today; at most 7 days back.")
        city = serializers.CharField(max_length=CITY_MAX_LENGTH, allow_blank=True)
        unwell = serializers.BooleanField()
        symptoms = serializers.CharField(max_length=TEXT_MAX_LENGTH, required=False, allow_blank=True, default="")
        close_contacts = serializers.CharField(max_length=TEXT_MAX_LENGTH, required=False, allow_blank=True, default="")
        special_circumstances = serializers.CharField(
            max_length=TEXT_MAX_LENGTH, required=False, allow_blank=True, default=""
        )

    class OwnOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        date = serializers.DateField()
        city = serializers.CharField()
        unwell = serializers.BooleanField()
        symptoms = serializers.CharField()
        close_contacts = serializers.CharField()
        special_circumstances = serializers.CharField()

    class ListOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        date = serializers.DateField()
        member = serializers.IntegerField(source="membership_id")
        name = serializers.CharField(source="membership.display_name")
        city = serializers.CharField()
        unwell = serializers.BooleanField()

    @extend_schema(
        parameters=[date_parameter],
        responses=ListOutputSerializer(many=True),
        description="Admins with the health category: the day's reports of the members in their scope "
        "(name, city, unwell). Details are omitted; see reveal.",
    )
    def get(self, request: Any) -> Response:
        reports = health_reports_for_admin(enterprise=self.enterprise, scope=self.scope, day=_day(request))
        return Response(self.ListOutputSerializer(reports, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses=OwnOutputSerializer,
        description="Any member: submit their own report for the day (default today). A second "
        "submission for the same day replaces the first.",
    )
    def post(self, request: Any) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            report = health_report_submit(enterprise=self.enterprise, membership=self.membership, **data)
        except DjangoValidationError as error:
            raise service_errors(error) from None
        output = {
            "id": report.pk,
            "date": report.date,
            "city": report.city,
            "unwell": report.unwell,
            **{name: data.get(name, "").strip() for name in DETAIL_NAMES},
        }
        return Response(self.OwnOutputSerializer(output).data)


class MyHealthReportsApi(EnterpriseApiView):
    """The signed-in member's own last 14 reports (date, city, unwell), newest first."""

    access = SelfService()

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        date = serializers.DateField()
        city = serializers.CharField()
        unwell = serializers.BooleanField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Any) -> Response:
        reports = health_reports_of_member(enterprise=self.enterprise, membership=self.membership)
        return Response(self.OutputSerializer(reports, many=True).data)


class HealthFigureSerializer(serializers.Serializer):
    """The OpenAPI component `HealthFigure` (what FigureField writes)."""

    suppressed = serializers.BooleanField(help_text="True when the figure is about 1 to N-1 people.")
    value = serializers.IntegerField(allow_null=True, help_text="null when suppressed.")
    display = serializers.CharField(help_text='The number, or "< N" when suppressed.')


@extend_schema_field(HealthFigureSerializer)
class FigureField(serializers.Field):
    """A suppressible figure (ENT-5, GB/T 35273 §6.2): `{"suppressed": false, "value": 12,
    "display": "12"}`, or `{"suppressed": true, "value": null, "display": "< 5"}` when it is
    about 1 to N-1 people."""

    def to_representation(self, value: Figure) -> dict[str, Any]:
        return {"suppressed": value.suppressed, "value": value.value, "display": value.display}


class HealthSummaryRowSerializer(serializers.Serializer):
    department = serializers.IntegerField(source="department_id", allow_null=True)
    name = serializers.CharField()
    suppressed = serializers.BooleanField(help_text="A group of fewer than N people: every figure is suppressed.")
    members = FigureField()
    reported = FigureField(help_text="Members who reported at least once in the range.")
    not_reported = FigureField(help_text="Members who did not report in the range.")
    reports = FigureField(help_text="Reports submitted in the range.")
    unwell = FigureField(help_text="Members unwell at least once in the range.")
    cities = inline_serializer(
        "HealthSummaryCity",
        many=True,
        fields={
            "city": serializers.CharField(help_text="Empty: the pooled cities with fewer than N people each."),
            "people": FigureField(),
        },
    )


class RangeInputSerializer(serializers.Serializer):
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    date = serializers.DateField(required=False)
    department = serializers.IntegerField(required=False, allow_null=True)


class HealthDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    members = FigureField(help_text="Active members of the selected group.")
    reported = FigureField(help_text="Members who reported that day.")
    missing = FigureField(help_text="Members who did not report that day.")
    unwell = FigureField(help_text="Members unwell that day.")


range_parameters = [
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="First day (default: date_to, or today)."),
    OpenApiParameter(
        "date_to", OpenApiTypes.DATE, description="Last day (default: date_from, or today); 31 days at most."
    ),
    OpenApiParameter("date", OpenApiTypes.DATE, description="One day (date_from = date_to)."),
    OpenApiParameter(
        "department",
        OpenApiTypes.INT,
        description="A department of the admin's health scope: its subtree only (default: the whole scope). "
        "A missing or out-of-scope department is a 400 field error.",
    ),
]


class HealthSummaryApi(EnterpriseApiView):
    """Per department subtree in the admin's health scope, over a range of at most 31 days:
    counts and cities, no names; every figure about fewer than the enterprise's minimum group
    size N is suppressed (ENT-5, GB/T 35273 §6.2)."""

    access = Read(Category.HEALTH)

    class OutputSerializer(serializers.Serializer):
        date_from = serializers.DateField()
        date_to = serializers.DateField()
        department = serializers.IntegerField(source="department.pk", allow_null=True, default=None)
        min_group_size = serializers.IntegerField(help_text="N: figures about fewer people are suppressed.")
        total = HealthSummaryRowSerializer()
        departments = HealthSummaryRowSerializer(
            many=True, help_text="Departments in tree order; none below a suppressed department."
        )
        days = HealthDaySerializer(many=True, source="trend", help_text="Each day of the range, over `total`'s group.")

    @extend_schema(parameters=range_parameters, responses=OutputSerializer)
    def get(self, request: Any) -> Response:
        serializer = RangeInputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        today = timezone.localdate()
        date_from = data.get("date_from") or data.get("date_to") or data.get("date") or today
        date_to = data.get("date_to") or data.get("date_from") or data.get("date") or today
        department = None
        if data.get("department") is not None:
            department = get_department_for(self.scope, Category.HEALTH, data["department"])
            if department is None:  # the same field error for a missing and an out-of-scope one
                raise ValidationError({"department": [_("Choose a department in your scope.")]})
        try:
            summary = health_summary(
                enterprise=self.enterprise,
                scope=self.scope,
                date_from=date_from,
                date_to=date_to,
                department=department,
            )
        except DjangoValidationError as error:
            raise service_errors(error) from None
        return Response(self.OutputSerializer(summary).data)


class HealthReminderApi(EnterpriseApiView):
    """Remind the members in the admin's health scope (of one department subtree, or the whole
    scope) who have not reported today: inbox and SMS, once per subtree per local day (a second
    request is 400 with a `department` field error), recorded in the ledger."""

    access = Manage(Category.HEALTH)

    class InputSerializer(serializers.Serializer):
        department = serializers.IntegerField(required=False, allow_null=True, help_text="Default: the whole scope.")

    class OutputSerializer(serializers.Serializer):
        reminded = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Any) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        department = None
        if serializer.validated_data.get("department") is not None:
            department = get_department_for(self.scope, Category.HEALTH, serializer.validated_data["department"])
            if department is None:  # a body reference: the same field error for missing and out of scope
                raise ValidationError({"department": [_("Choose a department in your scope.")]})
        try:
            sent = health_reminder_send(
                enterprise=self.enterprise, actor=self.membership, scope=self.scope, department=department
            )
        except DjangoValidationError as error:
            raise service_errors(error) from None
        return Response(self.OutputSerializer({"reminded": sent}).data)


class HealthSettingsApi(EnterpriseApiView):
    """GET: the minimum group size N. PUT: set it (3 to 100; the owner or an admin holding the
    health category over the whole enterprise)."""

    access = ByMethod(get=Read(Category.HEALTH), put=Manage(Category.HEALTH))

    class Serializer(serializers.Serializer):
        min_group_size = serializers.IntegerField(help_text="At least 3, at most 100; default 5.")

    @extend_schema(responses=Serializer)
    def get(self, request: Any) -> Response:
        return Response({"min_group_size": health_min_group_size(enterprise=self.enterprise)})

    @extend_schema(request=Serializer, responses=Serializer)
    def put(self, request: Any) -> Response:
        serializer = self.Serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            value = health_min_group_size_set(
                enterprise=self.enterprise,
                actor=self.membership,
                scope=self.scope,
                value=serializer.validated_data["min_group_size"],
            )
        except DjangoValidationError as error:
            raise service_errors(error) from None
        return Response({"min_group_size": value})


class HealthReportRevealApi(EnterpriseApiView):
    """Decrypt one report's details (a member in the admin's health scope; 404 otherwise) and
    record the reveal in the ledger."""

    access = Manage(Category.HEALTH)

    class InputSerializer(serializers.Serializer):
        purpose = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        date = serializers.DateField()
        member = serializers.IntegerField()
        name = serializers.CharField()
        city = serializers.CharField()
        unwell = serializers.BooleanField()
        symptoms = serializers.CharField()
        close_contacts = serializers.CharField()
        special_circumstances = serializers.CharField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Any, pk: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = health_report_for_admin(enterprise=self.enterprise, scope=self.scope, pk=pk)
        try:
            details = health_report_reveal(
                enterprise=self.enterprise,
                actor=self.membership,
                report=report,
                purpose=serializer.validated_data["purpose"],
            )
        except KeyUnavailable as error:
            raise DetailsGone() from error
        output = {
            "id": report.pk,
            "date": report.date,
            "member": report.membership_id,
            "name": report.membership.display_name,
            "city": report.city,
            "unwell": report.unwell,
            **details.as_dict(),
        }
        response = Response(self.OutputSerializer(output).data)
        add_never_cache_headers(response)
        return response
