"""The member's own summary API (`/api/v1/me/`): who they are in this enterprise and which
self-service routes they may use."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.models import User
from core.apis import EnterpriseApiView
from tenants.access import SelfService


class MeApi(EnterpriseApiView):
    """The signed-in member as this enterprise knows them."""

    access = SelfService()

    class OutputSerializer(serializers.Serializer):
        enterprise = serializers.CharField()
        display_name = serializers.CharField()
        role = serializers.CharField()
        mobile = serializers.CharField(help_text="Masked, e.g. 138****1234.")

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Any) -> Response:
        data = {
            "enterprise": self.enterprise.name,
            "display_name": self.membership.display_name,
            "role": self.membership.role,
            "mobile": cast(User, self.membership.account).masked_mobile,  # the acting member's: the signed-in one
        }
        return Response(self.OutputSerializer(data).data)
