"""Self-service API of the enterprise notice and the separate consents (CON-3, CON-4, CON-6),
under `/api/v1/` on an enterprise host:

- `GET me/notice/`: the current notice (in the request's language, both texts too) and whether
  the caller acknowledged it; `POST me/notice/acknowledge/` {version}.
- `GET me/consents/`: one line per (sensitive category, purpose); `POST me/consents/`
  {category, purpose, notice_version}: 201 with the new consent, 200 when it was already active.
- `GET me/consents/<id>/withdrawal/`: what withdrawing would delete (the caller's own active
  consent, else 404); `POST` the same path: withdraw, effective at once, deletion scheduled.

Bad input is a 400 with field errors and nothing written (the services' errors, see
tenants.apis.service_errors). Reachable while the notice is unacknowledged: `me/notice/…`
(consent.middleware.NOTICE_ALLOWED_PREFIXES); the rest answers 403
`notice_acknowledgement_required` until then."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from consent.models import ConsentPurpose, ConsentRecord, NoticeAcknowledgement, SensitiveCategory
from consent.services.consents import consent_give, consent_withdraw, withdrawal_preview
from consent.services.notices import notice_acknowledge
from consent.views_me import (
    consent_of_member,
    consent_rows,
    localized,
    notice_acknowledgement_of,
    notice_items,
    notice_published,
    other_bases_of,
    preview_lines,
)
from core.apis import EnterpriseApiView
from tenants.access import SelfService
from tenants.apis import service_errors

# --- shared output shapes ---------------------------------------------------------------------


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


class MyConsentRecordOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    category = serializers.CharField()
    category_label = serializers.CharField(source="get_category_display")
    purpose = serializers.CharField()
    purpose_label = serializers.CharField(source="get_purpose_display")
    basis = serializers.CharField()
    basis_label = serializers.CharField(source="get_basis_display")
    notice_version = serializers.IntegerField(source="notice.version", allow_null=True)
    given_at = serializers.DateTimeField()
    channel = serializers.CharField()
    reason = serializers.CharField(help_text="Why the enterprise relies on a legal basis (empty for a consent).")
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    erasure = serializers.CharField(help_text="After a withdrawal: scheduled, done or not_needed.")


class MyConsentLineOutputSerializer(serializers.Serializer):
    category = serializers.CharField()
    category_label = serializers.CharField()
    purpose = serializers.CharField()
    purpose_label = serializers.CharField()
    covered = serializers.BooleanField(help_text="A consent or a legal basis allows processing.")
    can_give = serializers.BooleanField(help_text="Not given, and the current notice lists the category.")
    consent = MyConsentRecordOutputSerializer(allow_null=True)
    legal_bases = MyConsentRecordOutputSerializer(many=True)


class MyWithdrawalDeleteOutputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()


def _record_data(record: ConsentRecord) -> dict[str, Any]:
    return dict(MyConsentRecordOutputSerializer(record).data)


# --- the notice -------------------------------------------------------------------------------


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
            "notice": None if notice is None else {
                "version": notice.version, "published_at": notice.published_at,
                "summary": localized(notice.summary_zh, notice.summary_en), "summary_zh": notice.summary_zh,
                "summary_en": notice.summary_en, "contact": notice.contact, "items": notice_items(notice),
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
            ack = notice_acknowledge(enterprise=self.enterprise, membership=self.membership,
                                     version=serializer.validated_data["version"],
                                     channel=NoticeAcknowledgement.Channel.API)
        except DjangoValidationError as error:
            raise service_errors(error) from None
        return Response(self.OutputSerializer(ack).data)


# --- consents ---------------------------------------------------------------------------------


class MyConsentsApi(EnterpriseApiView):
    """GET: every (sensitive category, purpose) with the caller's active consent and the legal
    bases the enterprise recorded (constant queries). POST: give a consent under the current
    notice (201; 200 with the existing one when it is already active)."""

    access = SelfService()

    class InputSerializer(serializers.Serializer):
        category = serializers.ChoiceField(choices=SensitiveCategory.choices)
        purpose = serializers.ChoiceField(choices=ConsentPurpose.choices,
                                          help_text="One of the purposes of the category.")
        notice_version = serializers.IntegerField(help_text="The current notice's version, which the caller read.")

    class OutputSerializer(serializers.Serializer):
        notice_version = serializers.IntegerField(help_text="The current notice (0 before the first).")
        lines = MyConsentLineOutputSerializer(many=True)

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Any) -> Response:
        lines = [{
            "category": row.line.category, "category_label": row.line.category_label,
            "purpose": row.line.purpose, "purpose_label": row.line.purpose_label, "covered": row.line.covered,
            "can_give": row.can_give, "consent": row.line.consent, "legal_bases": row.line.legal_bases,
        } for row in consent_rows(enterprise=self.enterprise, membership=self.membership)]
        return Response(self.OutputSerializer({"notice_version": self.enterprise.notice_version, "lines": lines}).data)

    @extend_schema(request=InputSerializer, responses={201: MyConsentRecordOutputSerializer,
                                                       200: MyConsentRecordOutputSerializer})
    def post(self, request: Any) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        started = timezone.now()
        try:
            record = consent_give(enterprise=self.enterprise, membership=self.membership,
                                  channel=ConsentRecord.Channel.API, **serializer.validated_data)
        except DjangoValidationError as error:
            raise service_errors(error) from None
        created = record.given_at >= started
        return Response(_record_data(record), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class MyConsentWithdrawalApi(EnterpriseApiView):
    """GET: what withdrawing the caller's consent would delete now (counts per kind; nothing when
    a legal basis the enterprise recorded still covers the data, listed in `kept_by`). Another
    member's record, a legal basis or a withdrawn consent is 404. POST: withdraw at once (400 on
    `consent` when it is not the caller's active consent); deletion is scheduled."""

    access = SelfService()

    class OutputSerializer(serializers.Serializer):
        consent = MyConsentRecordOutputSerializer()
        deletes = MyWithdrawalDeleteOutputSerializer(many=True, help_text="What would be deleted now, per kind.")
        kept_by = MyConsentRecordOutputSerializer(many=True, help_text="Legal bases that keep the data.")

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Any, record_id: int) -> Response:
        record = consent_of_member(membership=self.membership, record_id=record_id)
        deletes = preview_lines(withdrawal_preview(enterprise=self.enterprise, record=record))
        data = {"consent": record, "deletes": deletes, "kept_by": other_bases_of(record)}
        return Response(self.OutputSerializer(data).data)

    @extend_schema(request=None, responses=MyConsentRecordOutputSerializer)
    def post(self, request: Any, record_id: int) -> Response:
        try:
            record = consent_withdraw(enterprise=self.enterprise, membership=self.membership, record_id=record_id)
        except DjangoValidationError as error:
            raise service_errors(error) from None
        return Response(_record_data(record))
