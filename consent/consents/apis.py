"""Separate consents and legal bases in the API (CON-4, CON-6): the member's own
(`/api/v1/me/consents/`, withdrawal with its preview) and the administrators'
(`/api/v1/consents/`: members' lines within the scope, recording and ending a legal basis)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from config.openapi import ErrorSerializer
from consent.consents.selectors import (
    consent_categories_held,
    consent_member_for,
    consent_of_member,
    legal_basis_for,
    member_lines,
    my_consent_rows,
    other_bases_of,
    preview_lines,
    withdrawal_preview,
)
from consent.consents.services import consent_give, consent_withdraw, legal_basis_end, legal_basis_record
from consent.models import ConsentPurpose, ConsentRecord, SensitiveCategory
from core.apis import EnterpriseApiView
from tenants.access import Manage, Read, SelfService
from tenants.apis import service_errors
from tenants.categories import ANY_CATEGORY


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
    """One (category, purpose) pair (a consent.consents.services.ConsentLine)."""

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
            self.permission_denied(
                request,
                message=_("Your administrator scope does not include any category that needs a separate consent."),
            )


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
        basis = serializers.ChoiceField(
            choices=[
                (value, label) for value, label in ConsentRecord.Basis.choices if value != ConsentRecord.Basis.CONSENT
            ]
        )
        reason = serializers.CharField(
            allow_blank=True, max_length=1000, help_text=_("Why this basis applies: 10 to 200 characters.")
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: AdminLegalBasisOutput},
        description="Needs the administrator category covering the sensitive category over the member "
        "(403 otherwise); a member outside the scope is a 400 field error.",
    )
    def post(self, request: Any) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            record = legal_basis_record(
                enterprise=self.enterprise,
                actor=self.membership,
                member_id=data["member"],
                category=data["category"],
                purpose=data["purpose"],
                basis=data["basis"],
                reason=data["reason"],
            )
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


class MyConsentsApi(EnterpriseApiView):
    """GET: every (sensitive category, purpose) with the caller's active consent and the legal
    bases the enterprise recorded (constant queries). POST: give a consent under the current
    notice (201; 200 with the existing one when it is already active)."""

    access = SelfService()

    class InputSerializer(serializers.Serializer):
        category = serializers.ChoiceField(choices=SensitiveCategory.choices)
        purpose = serializers.ChoiceField(
            choices=ConsentPurpose.choices, help_text="One of the purposes of the category."
        )
        notice_version = serializers.IntegerField(help_text="The current notice's version, which the caller read.")

    class OutputSerializer(serializers.Serializer):
        notice_version = serializers.IntegerField(help_text="The current notice (0 before the first).")
        lines = MyConsentLineOutputSerializer(many=True)

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Any) -> Response:
        lines = [
            {
                "category": row.line.category,
                "category_label": row.line.category_label,
                "purpose": row.line.purpose,
                "purpose_label": row.line.purpose_label,
                "covered": row.line.covered,
                "can_give": row.can_give,
                "consent": row.line.consent,
                "legal_bases": row.line.legal_bases,
            }
            for row in my_consent_rows(enterprise=self.enterprise, membership=self.membership)
        ]
        return Response(self.OutputSerializer({"notice_version": self.enterprise.notice_version, "lines": lines}).data)

    @extend_schema(
        request=InputSerializer, responses={201: MyConsentRecordOutputSerializer, 200: MyConsentRecordOutputSerializer}
    )
    def post(self, request: Any) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        started = timezone.now()
        try:
            record = consent_give(
                enterprise=self.enterprise,
                membership=self.membership,
                channel=ConsentRecord.Channel.API,
                **serializer.validated_data,
            )
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
