"""External-contact matching API (ENT-7), for any active member (self-service, no category).

`GET contacts/salt/` gives the salt; the client hashes its contacts' E.164 numbers with
HMAC-SHA256 under it (docs/contact-matching.md) and `POST contacts/match/` answers which digests
belong to active members. The digests are neither stored nor logged nor put in the ledger."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from consent.services.permissions import DevicePermissionRequired
from enterprise_data.access import SelfService
from enterprise_data.services.contacts import MAX_HASHES, contacts_match, contacts_salt_get
from tenants.apis import EnterpriseApiView, service_errors


class ContactSaltApi(EnterpriseApiView):
    """The enterprise's contact-hash salt and how to use it."""

    access = SelfService()

    class OutputSerializer(serializers.Serializer):
        salt = serializers.CharField()
        algorithm = serializers.CharField(help_text="HMAC-SHA256: key = salt (UTF-8), message = E.164 number (UTF-8).")
        digest_format = serializers.CharField(help_text="Lower-case hex, 64 characters.")
        max_hashes = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Any) -> Response:
        data = {"salt": contacts_salt_get(enterprise=self.enterprise), "algorithm": "HMAC-SHA256",
                "digest_format": "hex-lower", "max_hashes": MAX_HASHES}
        return Response(self.OutputSerializer(data).data)


class ContactMatchApi(EnterpriseApiView):
    """Which of the given digests belong to active members of this enterprise. Needs the account's
    `contacts` device permission (CON-5): otherwise 403 with code "device_permission_required"."""

    access = SelfService()

    class InputSerializer(serializers.Serializer):
        hashes = serializers.ListField(
            child=serializers.RegexField(r"^[0-9a-f]{64}\Z", max_length=64, min_length=64),
            max_length=MAX_HASHES, allow_empty=True,
            help_text="HMAC-SHA256 digests (lower-case hex) of E.164 mobile numbers, at most 1000.",
        )

    class OutputSerializer(serializers.Serializer):
        matches = serializers.ListField(child=serializers.CharField(), help_text="The digests that are members.")

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Any) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            matches = contacts_match(enterprise=self.enterprise, account=request.user,
                                     hashes=serializer.validated_data["hashes"], membership=self.membership)
        except DjangoValidationError as error:
            raise service_errors(error) from None
        except DevicePermissionRequired as refused:
            # CON-5: 403 with a stable machine-readable code and the permission to ask for.
            raise PermissionDenied({"detail": refused.message, "code": refused.code, "kind": refused.kind}) from None
        return Response(self.OutputSerializer({"matches": matches}).data)
