"""Self-service API of the account's device permissions (CON-5), for the apps, on every
enterprise host: `GET /api/v1/me/permissions/` (the current state and history) and
`POST /api/v1/me/permissions/` {kind, granted} (recorded with channel "api"). Device
permissions belong to the account, not to the enterprise: every host shows the same ones, and
only the caller's own."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from consent.models.platform import DevicePermission, PolicyAcceptance
from consent.permissions.selectors import device_permission_history, device_permissions_for
from consent.permissions.services import device_permission_set
from core.apis import EnterpriseApiView
from tenants.access import SelfService
from tenants.apis import service_errors


class PermissionOutputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    granted = serializers.BooleanField()
    changed_at = serializers.DateTimeField(allow_null=True)


class PermissionEventOutputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    action = serializers.CharField()
    channel = serializers.CharField()
    at = serializers.DateTimeField()


class MyPermissionsApi(EnterpriseApiView):
    """The caller's device permissions (off unless granted) and their history, newest first."""

    access = SelfService()

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=DevicePermission.Kind.choices)
        granted = serializers.BooleanField()

    class OutputSerializer(serializers.Serializer):
        permissions = PermissionOutputSerializer(many=True)
        history = PermissionEventOutputSerializer(many=True)

    def _state(self, request: Any) -> Response:
        data = {
            "permissions": device_permissions_for(account=request.user),
            "history": device_permission_history(account=request.user),
        }
        return Response(self.OutputSerializer(data).data)

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Any) -> Response:
        return self._state(request)

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Any) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            device_permission_set(
                account=request.user,
                kind=serializer.validated_data["kind"],
                granted=serializer.validated_data["granted"],
                channel=PolicyAcceptance.Channel.API,
            )
        except DjangoValidationError as error:
            raise service_errors(error) from None
        return self._state(request)
