"""Base of every API view on an enterprise host (`/api/v1/`)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from enterprise_data.models import Membership
from tenants.models import Enterprise


class IsEnterpriseMember(BasePermission):
    message = "You are not a member of this enterprise."

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and getattr(request, "membership", None))


class EnterpriseApiView(APIView):
    """Resolves the enterprise and the acting member; refuses everyone else (SEC-1)."""

    permission_classes = [IsEnterpriseMember]
    enterprise: Enterprise
    membership: Membership

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        django_request: HttpRequest = request._request
        if getattr(django_request, "enterprise", None) is None:
            raise NotFound("Not an enterprise host.")
        super().initial(request, *args, **kwargs)
        self.enterprise = django_request.enterprise
        self.membership = django_request.membership
