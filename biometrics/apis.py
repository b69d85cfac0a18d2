"""Administrators' biometrics API (`/api/v1/`, ENT-6, category biometrics): devices and their
keys, members' enrolments. Templates go in (base64) and never come out: every response is
metadata only. The devices' own API is biometrics.apis.

The devices' API (`/api/device/v1/`, ENT-6): the template change feed and clock events.

Devices are not members, so these views are not EnterpriseApiView: `DeviceApiView` authenticates
the device key against the host's enterprise (biometrics.device_auth) and refuses the
public host and suspended or terminated enterprises itself (the access middleware does too, but
this base does not rely on it). See docs/biometrics.md for the feed protocol."""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from biometrics.device_auth import DeviceKeyAuthentication
from biometrics.models import BiometricTemplate, Device, Purpose, TemplateChange
from biometrics.selectors import (
    FEED_DEFAULT_LIMIT,
    FEED_MAX_LIMIT,
    device_feed,
    device_for,
    device_list,
    enrolments_of,
    template_for,
)
from biometrics.services import (
    device_register,
    device_revoke,
    device_touch,
    template_delete,
    template_enroll,
    template_revoke,
)
from core.apis import EnterpriseApiView
from tenants.access import DeviceKey, Manage
from tenants.apis import service_errors
from tenants.categories import Category
from tenants.models import Enterprise
from tenants.throttling import ThrottledInOneTrip


class NamedChoiceField(serializers.ChoiceField):
    """A choice field whose OpenAPI enum is a component of its own (`enum_name`): other
    sub-domains have fields named `kind` or `purpose` with other choices, and drf-spectacular
    would otherwise name enums by field name and warn about the collision."""

    enum_name = ""
    enum_choices: Any = ()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=self.enum_choices, **kwargs)


class NamedChoiceFieldScheme(OpenApiSerializerFieldExtension):
    target_class = "biometrics.apis.NamedChoiceField"
    match_subclasses = True

    def get_name(self) -> str:
        return str(self.target.enum_name)

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.target.choices)}


class DeviceKindField(NamedChoiceField):
    enum_name = "DeviceKindEnum"
    enum_choices = Device.Kind.choices


class BiometricPurposeField(NamedChoiceField):
    enum_name = "BiometricPurposeEnum"
    enum_choices = Purpose.choices


class BiometricModalityField(NamedChoiceField):
    enum_name = "BiometricModalityEnum"
    enum_choices = BiometricTemplate.Modality.choices


class DeviceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = DeviceKindField()
    purpose = BiometricPurposeField()
    key_prefix = serializers.CharField(help_text="Identifies the key (dev_<prefix>_…); the key itself is not stored.")
    created_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    last_seen_at = serializers.DateTimeField(allow_null=True)


class EnrolmentOutputSerializer(serializers.Serializer):
    """Metadata of an enrolment; never the template, nor its size."""

    id = serializers.IntegerField()
    membership_id = serializers.IntegerField()
    modality = BiometricModalityField()
    purpose = BiometricPurposeField()
    enrolled_at = serializers.DateTimeField()
    enrolled_by_id = serializers.IntegerField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class DeviceListApi(EnterpriseApiView):
    access = Manage(Category.BIOMETRICS, enterprise_wide=True)

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        kind = DeviceKindField()
        purpose = BiometricPurposeField()

    class CreatedSerializer(DeviceOutputSerializer):
        key = serializers.CharField(help_text="The device key. Shown this once: store it in the device now.")

    @extend_schema(responses=DeviceOutputSerializer(many=True))
    def get(self, request: Any) -> Response:
        devices = device_list(enterprise=self.enterprise)
        return Response(DeviceOutputSerializer(devices, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: CreatedSerializer})
    def post(self, request: Any) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            device, key = device_register(
                enterprise=self.enterprise, actor=self.membership, **serializer.validated_data
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        data = dict(DeviceOutputSerializer(device).data, key=key)
        response = Response(data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class DeviceRevokeApi(EnterpriseApiView):
    access = Manage(Category.BIOMETRICS, enterprise_wide=True)

    @extend_schema(request=None, responses=DeviceOutputSerializer)
    def post(self, request: Any, pk: int) -> Response:
        device = device_revoke(
            enterprise=self.enterprise,
            actor=self.membership,
            device=device_for(enterprise=self.enterprise, scope=self.scope, pk=pk),
        )
        return Response(DeviceOutputSerializer(device).data)


class MemberBiometricsApi(EnterpriseApiView):
    """A member's enrolments (metadata) and enrolling a new template."""

    access = Manage(Category.BIOMETRICS)

    class InputSerializer(serializers.Serializer):
        modality = BiometricModalityField()
        purpose = BiometricPurposeField()
        template = serializers.CharField(
            help_text="The template bytes, base64 (1 byte to 64 KiB).", trim_whitespace=True
        )

    @extend_schema(responses=EnrolmentOutputSerializer(many=True))
    def get(self, request: Any, pk: int) -> Response:
        member = self.scope.member_for(Category.BIOMETRICS, pk)
        return Response(EnrolmentOutputSerializer(enrolments_of(membership=member), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: EnrolmentOutputSerializer})
    def post(self, request: Any, pk: int) -> Response:
        member = self.scope.member_for(Category.BIOMETRICS, pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            template = base64.b64decode(data["template"], validate=True)
        except (binascii.Error, ValueError) as error:
            raise ValidationError({"template": [_("Not valid base64.")]}) from error
        try:
            record = template_enroll(
                enterprise=self.enterprise,
                actor=self.membership,
                membership=member,
                modality=data["modality"],
                purpose=data["purpose"],
                template=template,
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(EnrolmentOutputSerializer(record).data, status=status.HTTP_201_CREATED)


class BiometricDetailApi(EnterpriseApiView):
    """Delete an enrolment: it leaves every device at once (the feed's delete row)."""

    access = Manage(Category.BIOMETRICS)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Any, pk: int) -> Response:
        template = template_for(scope=self.scope, pk=pk)
        template_delete(enterprise=self.enterprise, actor=self.membership, template=template)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BiometricRevokeApi(EnterpriseApiView):
    """Revoke an enrolment: devices drop it at once, the ciphertext is erased, metadata stays."""

    access = Manage(Category.BIOMETRICS)

    @extend_schema(request=None, responses=EnrolmentOutputSerializer)
    def post(self, request: Any, pk: int) -> Response:
        template = template_for(scope=self.scope, pk=pk)
        template = template_revoke(enterprise=self.enterprise, actor=self.membership, template=template)
        return Response(EnrolmentOutputSerializer(template).data)


# last_seen_at is written at most once per this interval, not on every poll.
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


class IsDevice(BasePermission):
    message = "A device key is required."

    def has_permission(self, request: Any, view: Any) -> bool:
        return isinstance(request.auth, Device)


class DeviceApiView(ThrottledInOneTrip, APIView):
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
        page = device_feed(
            enterprise=self.enterprise,
            device=self.device,
            after=params.validated_data["after"],
            limit=params.validated_data["limit"],
        )
        changes: list[dict[str, Any]] = []
        for item in page.items:
            row: dict[str, Any] = {
                "cursor": item.cursor,
                "change": item.change,
                "template_id": item.template_id,
                "membership_id": item.membership_id,
            }
            if item.template is not None:
                row["modality"] = item.modality
                row["template"] = base64.b64encode(item.template).decode("ascii")
            changes.append(row)
        response = Response(
            {
                "purpose": self.device.purpose,
                "changes": changes,
                "next_cursor": page.next_cursor,
                "has_more": page.has_more,
            }
        )
        response["Cache-Control"] = "no-store"
        return response
