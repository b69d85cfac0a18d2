"""The self-service inbox API (SEC-5): `/api/v1/me/notifications/` (the member's notifications in
this enterprise and the platform's) and marking one read."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from consent.inbox.selectors import notification_for, notifications_for
from consent.inbox.services import notification_mark_read
from consent.inbox.views import INBOX_PAGE_SIZE
from core.apis import EnterpriseApiView
from tenants.access import SelfService
from tenants.apis import paginated, service_errors


class NotificationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    title = serializers.CharField(source="display_title", help_text="In the reader's language.")
    body = serializers.CharField(source="display_body", help_text="In the reader's language.")
    url = serializers.CharField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class NotificationPagination(PageNumberPagination):
    page_size = INBOX_PAGE_SIZE


class NotificationListApi(EnterpriseApiView):
    """`GET /api/v1/me/notifications/`: the signed-in account's notifications (platform-wide and
    this enterprise's), newest first, paginated."""

    access = SelfService()

    class OutputSerializer(NotificationOutputSerializer):
        pass

    @extend_schema(
        parameters=[OpenApiParameter("page", int)],
        responses=paginated(OutputSerializer, "NotificationPage"),
        operation_id="v1_me_notifications_list",
    )
    def get(self, request: Any) -> Response:
        paginator = NotificationPagination()
        rows = notifications_for(account=request.user, enterprise_id=self.enterprise.pk)
        page = paginator.paginate_queryset(rows, request, view=self) or []
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class NotificationReadApi(EnterpriseApiView):
    """`POST /api/v1/me/notifications/<id>/read/`: mark one of the account's notifications read;
    another account's (or a missing) id is 404."""

    access = SelfService()

    class OutputSerializer(NotificationOutputSerializer):
        pass

    @extend_schema(request=None, responses=OutputSerializer)
    def post(self, request: Any, notification_id: int) -> Response:
        notification = notification_for(
            account=request.user, notification_id=notification_id, enterprise_id=self.enterprise.pk
        )
        try:
            notification_mark_read(account=request.user, notification_id=notification.pk)
        except ValidationError as error:  # pragma: no cover - the service raises none today
            raise service_errors(error) from error
        notification.refresh_from_db(fields=["read_at"])
        return Response(self.OutputSerializer(notification).data)
