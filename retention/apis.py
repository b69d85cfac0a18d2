"""Retention settings API (RET-1): `GET/PATCH /api/v1/retention/`.

Admin endpoint of the `retention` category (owners, full admins); everyone else gets 403. PATCH
takes `{category: days, …}` for any subset of the categories; a value outside the platform's
bounds is a 400 with a field error under the category's code and nothing is changed."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.apis import EnterpriseApiView
from retention.bounds import RetentionCategory
from retention.selectors import retention_effective
from retention.services.settings import retention_settings_update
from tenants.access import Manage
from tenants.apis import service_errors
from tenants.categories import Category


class RetentionRowOutput(serializers.Serializer):
    category = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField()
    days = serializers.IntegerField(help_text="Days kept (the enterprise's setting, else the default).")
    default = serializers.IntegerField()
    min_days = serializers.IntegerField()
    max_days = serializers.IntegerField()
    is_default = serializers.BooleanField()
    purged = serializers.BooleanField(help_text="False: declared for a later feature, nothing purged yet.")


class RetentionApi(EnterpriseApiView):
    """Every category's retention period and bounds; PATCH changes some of them."""

    access = Manage(Category.RETENTION, enterprise_wide=True)

    class InputSerializer(serializers.Serializer):
        def get_fields(self) -> dict[str, Any]:
            return {
                category: serializers.IntegerField(required=False, help_text=str(label))
                for category, label in RetentionCategory.choices
            }

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            unknown = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
            if unknown:
                raise serializers.ValidationError({name: "Not a retention category." for name in unknown})
            if not attrs:
                raise serializers.ValidationError("Give at least one category.")
            return attrs

    class OutputSerializer(serializers.Serializer):
        results = RetentionRowOutput(many=True)

    def _output(self) -> Response:
        return Response(self.OutputSerializer({"results": retention_effective(enterprise=self.enterprise)}).data)

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        return self._output()

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def patch(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            retention_settings_update(enterprise=self.enterprise, actor=self.membership, days=serializer.validated_data)
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return self._output()
