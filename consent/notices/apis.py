"""The enterprise notice in the API (CON-3): the member's (`/api/v1/me/notice/`, acknowledging it)
and the administrators' (`/api/v1/notices/`: the versions with their acknowledgement counts)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from consent.models import NoticeAcknowledgement
from consent.notices.selectors import (
    localized,
    notice_acknowledgement_of,
    notice_items,
    notice_published,
    notice_version_or_404,
    notice_versions,
)
from consent.notices.services import notice_acknowledge
from core.apis import EnterpriseApiView
from tenants.access import Read, SelfService
from tenants.apis import service_errors
from tenants.categories import Category


class AdminNoticeItemOutput(serializers.Serializer):
    category = serializers.CharField()
    purpose_zh = serializers.CharField()
    purpose_en = serializers.CharField()
    retention_days = serializers.IntegerField()


class AdminNoticeOutput(serializers.Serializer):
    """One notice version (an EnterpriseNotice annotated with its acknowledgement count)."""

    version = serializers.IntegerField()
    status = serializers.CharField(help_text=_('"draft" or "published".'))
    summary_zh = serializers.CharField()
    summary_en = serializers.CharField()
    contact = serializers.CharField()
    created_at = serializers.DateTimeField()
    published_at = serializers.DateTimeField(allow_null=True)
    published_by = serializers.IntegerField(
        source="published_by_id", allow_null=True, help_text=_("The membership id of the admin who published it.")
    )
    acknowledgement_count = serializers.IntegerField()
    items = AdminNoticeItemOutput(many=True, source="items.all")


class NoticeListApi(EnterpriseApiView):
    """`GET notices/`: every version, newest first, the draft included (2 queries)."""

    access = Read(Category.CONSENT)

    @extend_schema(
        responses=AdminNoticeOutput(many=True),
        description="Admins with the consent category: the published versions and the draft, newest "
        "first, each with its items and how many members acknowledged it.",
    )
    def get(self, request: Any) -> Response:
        versions = notice_versions().prefetch_related("items")
        return Response(AdminNoticeOutput(versions, many=True).data)


class NoticeApi(EnterpriseApiView):
    """`GET notices/<version>/`: one version (404 when there is none)."""

    access = Read(Category.CONSENT)

    @extend_schema(responses=AdminNoticeOutput)
    def get(self, request: Any, version: int) -> Response:
        return Response(AdminNoticeOutput(notice_version_or_404(version)).data)


class MyNoticeItemOutputSerializer(serializers.Serializer):
    category = serializers.CharField()
    category_label = serializers.CharField()
    purpose = serializers.CharField(help_text="In the request's language (the other one when empty).")
    retention_days = serializers.IntegerField()


class MyNoticeVersionOutputSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    published_at = serializers.DateTimeField()
    summary = serializers.CharField(help_text="In the request's language (the other one when empty).")
    summary_zh = serializers.CharField()
    summary_en = serializers.CharField()
    contact = serializers.CharField()
    items = MyNoticeItemOutputSerializer(many=True)


class MyNoticeApi(EnterpriseApiView):
    """The enterprise's current notice (null before the first version) and whether the caller has
    acknowledged it."""

    access = SelfService()

    class OutputSerializer(serializers.Serializer):
        notice = MyNoticeVersionOutputSerializer(allow_null=True)
        acknowledged = serializers.BooleanField()
        acknowledged_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Any) -> Response:
        notice = notice_published(version=None)
        acknowledged = notice is not None and self.membership.notice_acknowledged >= notice.version
        ack = notice_acknowledgement_of(membership=self.membership, notice=notice) if acknowledged and notice else None
        data = {
            "notice": None
            if notice is None
            else {
                "version": notice.version,
                "published_at": notice.published_at,
                "summary": localized(notice.summary_zh, notice.summary_en),
                "summary_zh": notice.summary_zh,
                "summary_en": notice.summary_en,
                "contact": notice.contact,
                "items": notice_items(notice),
            },
            "acknowledged": acknowledged,
            "acknowledged_at": ack.acknowledged_at if ack else None,
        }
        return Response(self.OutputSerializer(data).data)


class MyNoticeAcknowledgeApi(EnterpriseApiView):
    """Acknowledge the current notice: `version` is the number the caller read; another number
    (a newer version was published meanwhile) is a 400 on `version` with code stale_notice."""

    access = SelfService()

    class InputSerializer(serializers.Serializer):
        version = serializers.IntegerField()

    class OutputSerializer(serializers.Serializer):
        version = serializers.IntegerField(source="notice.version")
        acknowledged_at = serializers.DateTimeField()
        channel = serializers.CharField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Any) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            ack = notice_acknowledge(
                enterprise=self.enterprise,
                membership=self.membership,
                version=serializer.validated_data["version"],
                channel=NoticeAcknowledgement.Channel.API,
            )
        except DjangoValidationError as error:
            raise service_errors(error) from None
        return Response(self.OutputSerializer(ack).data)
