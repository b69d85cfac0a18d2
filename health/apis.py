"""Health reports API (ENT-5). Members submit and list their own reports; administrators whose
scope holds the health category (ENT-8) read the summary, the named list (no details) and reveal
one report's details, which is recorded in the ledger (ENT-10)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from core.apis import EnterpriseApiView
from core.encryption import KeyUnavailable
from health.selectors import health_report_for_admin, health_reports_for_admin, health_reports_of_member, health_summary
from health.services import CITY_MAX_LENGTH, DETAIL_NAMES, TEXT_MAX_LENGTH, health_report_reveal, health_report_submit
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


class HealthSummaryApi(EnterpriseApiView):
    """Per department in the admin's health scope, for one day: counts and cities, no names."""

    access = Read(Category.HEALTH)

    class OutputSerializer(serializers.Serializer):
        date = serializers.DateField(source="day")
        members = serializers.IntegerField()
        reported = serializers.IntegerField()
        unwell = serializers.IntegerField()
        not_reported = serializers.IntegerField()
        departments = inline_serializer(
            "HealthSummaryDepartment",
            many=True,
            fields={
                "department": serializers.IntegerField(source="department_id", allow_null=True),
                "name": serializers.CharField(),
                "members": serializers.IntegerField(),
                "reported": serializers.IntegerField(),
                "unwell": serializers.IntegerField(),
                "not_reported": serializers.IntegerField(),
                "cities": inline_serializer(
                    "HealthSummaryCity",
                    many=True,
                    fields={
                        "city": serializers.CharField(),
                        "count": serializers.IntegerField(),
                    },
                ),
            },
        )

    @extend_schema(parameters=[date_parameter], responses=OutputSerializer)
    def get(self, request: Any) -> Response:
        summary = health_summary(enterprise=self.enterprise, scope=self.scope, day=_day(request))
        return Response(self.OutputSerializer(summary).data)


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
