"""The administrators' notice and consent API (CON-3, CON-4, ENT-8, ENT-10), under /api/v1/.

`notices/…`: the versions and the draft, for admins holding the "consent" category. `consents/…`:
a member's consent lines and the legal bases an admin records or ends, for admins holding an
administrator category that covers a sensitive category (directory, attendance, health,
biometrics) over that member — the same rules as the console (consent.views_console)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from config.openapi import ErrorSerializer
from consent.models import ConsentPurpose, ConsentRecord, SensitiveCategory
from consent.services.consents import legal_basis_end, legal_basis_record
from consent.views_console import (
    consent_categories_held,
    consent_member_for,
    legal_basis_for,
    member_lines,
    notice_version_or_404,
    notice_versions,
)
from core.apis import EnterpriseApiView
from tenants.access import Manage, Read
from tenants.apis import service_errors
from tenants.categories import ANY_CATEGORY, Category


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
    published_by = serializers.IntegerField(source="published_by_id", allow_null=True,
                                            help_text=_("The membership id of the admin who published it."))
    acknowledgement_count = serializers.IntegerField()
    items = AdminNoticeItemOutput(many=True, source="items.all")


class NoticeListApi(EnterpriseApiView):
    """`GET notices/`: every version, newest first, the draft included (2 queries)."""

    access = Read(Category.CONSENT)

    @extend_schema(responses=AdminNoticeOutput(many=True),
                   description="Admins with the consent category: the published versions and the draft, newest "
                               "first, each with its items and how many members acknowledged it.")
    def get(self, request: Any) -> Response:
        versions = notice_versions().prefetch_related("items")
        return Response(AdminNoticeOutput(versions, many=True).data)


class NoticeApi(EnterpriseApiView):
    """`GET notices/<version>/`: one version (404 when there is none)."""

    access = Read(Category.CONSENT)

    @extend_schema(responses=AdminNoticeOutput)
    def get(self, request: Any, version: int) -> Response:
        return Response(AdminNoticeOutput(notice_version_or_404(version)).data)


class AdminLegalBasisOutput(serializers.Serializer):
    id = serializers.IntegerField()
    member = serializers.IntegerField(source="membership_id")
    category = serializers.ChoiceField(choices=SensitiveCategory.choices)
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    basis = serializers.ChoiceField(choices=ConsentRecord.Basis.choices)
    reason = serializers.CharField()
    given_at = serializers.DateTimeField()
    recorded_by = serializers.IntegerField(source="recorded_by_id", allow_null=True)
    withdrawn_at = serializers.DateTimeField(allow_null=True)


class AdminConsentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    given_at = serializers.DateTimeField()
    notice_version = serializers.IntegerField(source="notice.version", allow_null=True)
    channel = serializers.CharField()


class AdminConsentLineOutput(serializers.Serializer):
    """One (category, purpose) pair (a consent.services.consents.ConsentLine)."""

    category = serializers.ChoiceField(choices=SensitiveCategory.choices)
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    covered = serializers.BooleanField()
    consent = AdminConsentOutput(allow_null=True)
    legal_bases = AdminLegalBasisOutput(many=True)


class ConsentAdminApi(EnterpriseApiView):
    """Admins holding at least one administrator category that covers a sensitive category
    (`self.held`); everyone else 403."""

    access = Read(ANY_CATEGORY)
    held: tuple[str, ...]

    def check_permissions(self, request: Any) -> None:
        super().check_permissions(request)
        self.held = consent_categories_held(self.scope)
        if not self.held:
            self.permission_denied(request, message=_("Your administrator scope does not include any category that "
                                                      "needs a separate consent."))


class MemberConsentsApi(ConsentAdminApi):
    """`GET consents/?member=<id>`: the member's consent lines for the categories the admin holds
    over them (404 for a member outside the scope)."""

    class InputSerializer(serializers.Serializer):
        member = serializers.IntegerField(min_value=1, help_text=_("A membership id."))

    class OutputSerializer(serializers.Serializer):
        member = serializers.IntegerField(source="member.pk")
        name = serializers.CharField(source="member.display_name")
        lines = AdminConsentLineOutput(many=True)

    @extend_schema(parameters=[InputSerializer], responses={200: OutputSerializer, 404: ErrorSerializer})
    def get(self, request: Any) -> Response:
        serializer = self.InputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        member = consent_member_for(self.scope, self.held, serializer.validated_data["member"])
        lines = member_lines(enterprise=self.enterprise, member=member, held=self.held)
        return Response(self.OutputSerializer({"member": member, "lines": lines}).data)


class LegalBasisRecordApi(ConsentAdminApi):
    """`POST consents/legal-bases/`: record a non-consent legal basis for a member's sensitive
    category and purpose (CON-4), with a reason written to the ledger (ENT-10)."""

    access = Manage(ANY_CATEGORY)

    class InputSerializer(serializers.Serializer):
        member = serializers.IntegerField(min_value=1, help_text=_("A membership id."))
        category = serializers.ChoiceField(choices=SensitiveCategory.choices)
        purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
        basis = serializers.ChoiceField(choices=[(value, label) for value, label in ConsentRecord.Basis.choices
                                                 if value != ConsentRecord.Basis.CONSENT])
        reason = serializers.CharField(allow_blank=True, max_length=1000,
                                       help_text=_("Why this basis applies: 10 to 200 characters."))

    @extend_schema(request=InputSerializer, responses={201: AdminLegalBasisOutput},
                   description="Needs the administrator category covering the sensitive category over the member "
                               "(403 otherwise); a member outside the scope is a 400 field error.")
    def post(self, request: Any) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            record = legal_basis_record(enterprise=self.enterprise, actor=self.membership, member_id=data["member"],
                                        category=data["category"], purpose=data["purpose"], basis=data["basis"],
                                        reason=data["reason"])
        except DjangoValidationError as error:
            raise service_errors(error) from None
        return Response(AdminLegalBasisOutput(record).data, status=status.HTTP_201_CREATED)


class LegalBasisEndApi(ConsentAdminApi):
    """`POST consents/legal-bases/<id>/end/`: end a legal basis (404 when missing, already ended
    or outside the scope). Unless another basis covers the data, its deletion is scheduled."""

    access = Manage(ANY_CATEGORY)

    @extend_schema(request=None, responses=AdminLegalBasisOutput)
    def post(self, request: Any, pk: int) -> Response:
        record = legal_basis_for(self.scope, pk)
        try:
            closed = legal_basis_end(enterprise=self.enterprise, actor=self.membership, record_id=record.pk)
        except DjangoValidationError as error:
            raise service_errors(error) from None
        return Response(AdminLegalBasisOutput(closed).data)
