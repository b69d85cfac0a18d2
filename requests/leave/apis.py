"""`GET /api/v1/me/leave/` (the plan) and `POST /api/v1/me/leave/` {password} (DSR-5)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.models import User
from core.apis import EnterpriseApiView
from requests.leave.selectors import leave_plan
from requests.leave.services import member_leave
from tenants.access import SelfService
from tenants.apis import service_errors


class MyLeaveApi(EnterpriseApiView):
    """Leaving this enterprise: the plan (GET), then leaving with the password (POST)."""

    access = SelfService()

    class OutputSerializer(serializers.Serializer):
        can_leave = serializers.BooleanField(help_text="False for the only owner, who must hand over first.")
        deleted_now = serializers.DictField(
            child=serializers.IntegerField(), help_text="Biometric templates and health reports deleted at once."
        )
        grace_days = serializers.IntegerField(help_text="The enterprise's departed-profiles period (1–90 days).")
        anonymise_at = serializers.DateTimeField(help_text="When the directory card is anonymised if you leave now.")
        deleted_after_grace = serializers.DictField(child=serializers.IntegerField())
        kept_under_pseudonym = serializers.DictField(
            child=serializers.DictField(child=serializers.IntegerField()),
            help_text="Per kind: rows and retention days.",
        )

    class InputSerializer(serializers.Serializer):
        password = serializers.CharField(max_length=128, trim_whitespace=False)

    class ResultSerializer(serializers.Serializer):
        templates_deleted = serializers.IntegerField(source="templates")
        health_reports_deleted = serializers.IntegerField(source="health_reports")
        erasure_plan = serializers.IntegerField(source="erasure_plan_id")
        anonymise_at = serializers.DateTimeField()
        request = serializers.IntegerField(source="request_id")

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Any) -> Response:
        plan = leave_plan(enterprise=self.enterprise, membership=self.membership)
        data = {
            "can_leave": plan.can_leave,
            "deleted_now": {"biometric_templates": plan.templates, "health_reports": plan.health_reports},
            "grace_days": plan.grace_days,
            "anonymise_at": plan.anonymise_at,
            "deleted_after_grace": {"profile": 1, "id_numbers": plan.id_numbers, "raw_locations": plan.raw_locations},
            "kept_under_pseudonym": {
                "attendance": {
                    "clock_events": plan.attendance_events,
                    "days": plan.attendance_days,
                    "retention_days": plan.attendance_retention_days,
                },
                "ledger": {"entries": plan.ledger_entries, "retention_days": plan.ledger_retention_days},
            },
        }
        return Response(self.OutputSerializer(data).data)

    @extend_schema(request=InputSerializer, responses=ResultSerializer)
    def post(self, request: Any) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user: User = request.user
        try:
            result = member_leave(
                enterprise=self.enterprise,
                membership=self.membership,
                account=user,
                password=serializer.validated_data["password"],
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(self.ResultSerializer(result).data)
