"""The devices' API (`/api/device/v1/`, ENT-6): the template change feed and clock events.

Devices are not members, so these views are not EnterpriseApiView: `DeviceApiView` authenticates
the device key against the host's enterprise (enterprise_data.device_auth) and refuses the
public host and suspended or terminated enterprises itself (the access middleware does too, but
this base does not rely on it). See docs/biometrics.md for the feed protocol."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from enterprise_data.access import DeviceKey
from enterprise_data.apis.biometrics import BiometricModalityField, BiometricPurposeField, NamedChoiceField
from enterprise_data.device_auth import DeviceKeyAuthentication
from enterprise_data.models import ClockEvent, Device, TemplateChange
from enterprise_data.models.biometrics import Purpose
from enterprise_data.selectors.biometrics import FEED_DEFAULT_LIMIT, FEED_MAX_LIMIT, active_member, device_feed
from enterprise_data.services.biometrics import device_touch
from tenants.apis import service_errors
from tenants.models import Enterprise

# last_seen_at is written at most once per this interval, not on every poll.
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


class IsDevice(BasePermission):
    message = "A device key is required."

    def has_permission(self, request: Any, view: Any) -> bool:
        return isinstance(request.auth, Device)


class DeviceApiView(APIView):
    """Base of every device endpoint: the host's enterprise must be active and the request must
    carry a valid, unrevoked key of a device of that enterprise. `self.device` is that device."""

    access = DeviceKey()

    authentication_classes = [DeviceKeyAuthentication]
    permission_classes = [IsDevice]
    enterprise: Enterprise
    device: Device

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        django_request: HttpRequest = request._request
        tenant = getattr(django_request, "tenant", None)
        if tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
            raise NotFound("Not an enterprise host.")
        if tenant.state != Enterprise.State.ACTIVE:
            raise PermissionDenied(_("This enterprise is not available."))
        self.enterprise = tenant
        super().initial(request, *args, **kwargs)  # authenticates and checks IsDevice
        self.device = request.auth
        seen = self.device.last_seen_at
        now = timezone.now()
        if seen is None or now - seen >= LAST_SEEN_RESOLUTION:
            device_touch(enterprise=self.enterprise, device=self.device, now=now)


class TemplateChangeField(NamedChoiceField):
    enum_name = "TemplateChangeEnum"
    enum_choices = TemplateChange.Change.choices


class DeviceClockKindField(NamedChoiceField):
    enum_name = "DeviceClockKindEnum"
    enum_choices = ClockEvent.Kind.choices


class FeedChangeSerializer(serializers.Serializer):
    cursor = serializers.IntegerField()
    change = TemplateChangeField()
    template_id = serializers.IntegerField()
    membership_id = serializers.IntegerField()
    modality = BiometricModalityField(required=False, help_text="Upserts only.")
    template = serializers.CharField(required=False, help_text="Upserts only: the template, base64.")


class TemplateFeedApi(DeviceApiView):
    """The change feed of the device's purpose: poll with `after=<next_cursor>` until
    `has_more` is false. Apply upserts (store/replace the template) and deletes (remove the
    template at once) in order."""

    class InputSerializer(serializers.Serializer):
        after = serializers.IntegerField(min_value=0, default=0)
        limit = serializers.IntegerField(min_value=1, max_value=FEED_MAX_LIMIT, default=FEED_DEFAULT_LIMIT)

    class OutputSerializer(serializers.Serializer):
        purpose = BiometricPurposeField()
        changes = FeedChangeSerializer(many=True)
        next_cursor = serializers.IntegerField()
        has_more = serializers.BooleanField()

    @extend_schema(parameters=[InputSerializer], responses=OutputSerializer)
    def get(self, request: Any) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        page = device_feed(enterprise=self.enterprise, device=self.device, after=params.validated_data["after"],
                           limit=params.validated_data["limit"])
        changes: list[dict[str, Any]] = []
        for item in page.items:
            row: dict[str, Any] = {"cursor": item.cursor, "change": item.change, "template_id": item.template_id,
                                   "membership_id": item.membership_id}
            if item.template is not None:
                row["modality"] = item.modality
                row["template"] = base64.b64encode(item.template).decode("ascii")
            changes.append(row)
        response = Response({"purpose": self.device.purpose, "changes": changes, "next_cursor": page.next_cursor,
                             "has_more": page.has_more})
        response["Cache-Control"] = "no-store"
        return response


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
        from enterprise_data.services.attendance import attendance_clock

        if self.device.purpose != Purpose.ATTENDANCE:
            raise PermissionDenied(_("Only attendance devices post clock events."))
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        membership = active_member(pk=data["membership_id"])
        if membership is None:
            raise ValidationError({"membership_id": [_("No active member with this id.")]})
        try:
            event = attendance_clock(enterprise=self.enterprise, membership=membership, kind=data["kind"],
                                     source="device", occurred_at=data.get("occurred_at"), device=self.device)
        except DjangoValidationError as error:  # 400 with field errors; 403 consent_required (CON-6)
            raise service_errors(error) from error
        return Response(self.OutputSerializer({"id": event.pk, "membership_id": membership.pk, "kind": event.kind,
                                               "occurred_at": event.occurred_at}).data,
                        status=status.HTTP_201_CREATED)
