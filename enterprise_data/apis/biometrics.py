"""Administrators' biometrics API (`/api/v1/`, ENT-6, category biometrics): devices and their
keys, members' enrolments. Templates go in (base64) and never come out: every response is
metadata only. The devices' own API is enterprise_data.apis.devices."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from enterprise_data.access import Manage
from enterprise_data.categories import Category
from enterprise_data.models import BiometricTemplate, Device
from enterprise_data.models.biometrics import Purpose
from enterprise_data.selectors.biometrics import device_for, device_list, enrolments_of, template_for
from enterprise_data.services.biometrics import (
    device_register,
    device_revoke,
    template_delete,
    template_enroll,
    template_revoke,
)
from tenants.apis import EnterpriseApiView, service_errors


class NamedChoiceField(serializers.ChoiceField):
    """A choice field whose OpenAPI enum is a component of its own (`enum_name`): other
    sub-domains have fields named `kind` or `purpose` with other choices, and drf-spectacular
    would otherwise name enums by field name and warn about the collision."""

    enum_name = ""
    enum_choices: Any = ()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=self.enum_choices, **kwargs)


class NamedChoiceFieldScheme(OpenApiSerializerFieldExtension):
    target_class = "enterprise_data.apis.biometrics.NamedChoiceField"
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
            device, key = device_register(enterprise=self.enterprise, actor=self.membership,
                                          **serializer.validated_data)
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
        device = device_revoke(enterprise=self.enterprise, actor=self.membership,
                               device=device_for(enterprise=self.enterprise, scope=self.scope, pk=pk))
        return Response(DeviceOutputSerializer(device).data)


class MemberBiometricsApi(EnterpriseApiView):
    """A member's enrolments (metadata) and enrolling a new template."""

    access = Manage(Category.BIOMETRICS)

    class InputSerializer(serializers.Serializer):
        modality = BiometricModalityField()
        purpose = BiometricPurposeField()
        template = serializers.CharField(help_text="The template bytes, base64 (1 byte to 64 KiB).",
                                         trim_whitespace=True)

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
            record = template_enroll(enterprise=self.enterprise, actor=self.membership, membership=member,
                                     modality=data["modality"], purpose=data["purpose"], template=template)
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
