"""Account deletion on the API of any enterprise host (DSR-6):

- `GET /api/v1/me/account-deletion/`: the status, the blockers and what leaving each enterprise means;
- `POST /api/v1/me/account-deletion/code/`: send the confirmation code by SMS (202);
- `POST /api/v1/me/account-deletion/` {password, code}: ask for the deletion (201; the
  cooling-off starts);
- `DELETE /api/v1/me/account-deletion/` or `POST /api/v1/me/account-deletion/cancel/`: cancel it.

A refusal that is not about one field is a 400 with `code` (`account_deletion_blocked` with the
`blockers`, `already_pending`, `not_pending`, `started`) and `non_field_errors`. During the
cooling-off these are the only API paths the account can use (requests.account_deletion.middleware)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import get_language
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.models import User
from config.openapi import ErrorSerializer, FieldErrorsSerializer
from core.apis import EnterpriseApiView
from requests.account_deletion.selectors import (
    account_deletion_blockers,
    account_deletion_latest,
    account_deletion_pending,
    account_deletion_plan,
    cooling_off_days,
)
from requests.account_deletion.services import (
    account_deletion_cancel,
    account_deletion_send_code,
    account_deletion_start,
)
from requests.models import AccountDeletion
from tenants.access import SelfService
from tenants.apis import service_errors
from tenants.throttling import client_ip

REFUSAL_CODES = frozenset({"account_deletion_blocked", "already_pending", "not_pending", "started"})


class BlockerSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=["sole_owner", "open_request", "operator"])
    message = serializers.CharField()
    enterprise = serializers.CharField(
        source="enterprise.name", allow_null=True, default=None, help_text="The enterprise concerned, if any."
    )
    request = serializers.IntegerField(
        source="request_id",
        allow_null=True,
        help_text="The open request's id (in that enterprise, or on the platform).",
    )


class DeletionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AccountDeletion.Status.choices)
    requested_at = serializers.DateTimeField()
    not_before = serializers.DateTimeField(help_text="Executed after this time unless cancelled.")
    cancelled_at = serializers.DateTimeField(allow_null=True)
    executed_at = serializers.DateTimeField(allow_null=True)
    blocked_reason = serializers.CharField(allow_blank=True)


class EnterprisePlanSerializer(serializers.Serializer):
    enterprise = serializers.CharField(source="enterprise.name")
    role = serializers.CharField()
    biometric_templates_deleted = serializers.IntegerField(source="plan.templates")
    health_reports_deleted = serializers.IntegerField(source="plan.health_reports")
    grace_days = serializers.IntegerField(
        source="plan.grace_days", help_text="The card is anonymised this many days after execution."
    )
    attendance_retention_days = serializers.IntegerField(source="plan.attendance_retention_days")
    ledger_retention_days = serializers.IntegerField(source="plan.ledger_retention_days")


class StatusSerializer(serializers.Serializer):
    pending = serializers.BooleanField(help_text="A deletion is cooling off (or being executed).")
    can_delete = serializers.BooleanField(help_text="Nothing blocks a new deletion request.")
    cooling_off_days = serializers.IntegerField()
    deletion = DeletionSerializer(allow_null=True, help_text="The latest deletion request, if any.")
    blockers = BlockerSerializer(many=True)
    enterprises = EnterprisePlanSerializer(many=True, help_text="What leaving each enterprise means.")


class RefusalSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=sorted(REFUSAL_CODES))
    non_field_errors = serializers.ListField(child=serializers.CharField())
    blockers = BlockerSerializer(many=True, required=False)


# SEC-3 (found by the API fuzzing): a 400 is a refusal with its `code` (a string) or field errors,
# among them those of the input field `code` (a list of messages, e.g. "wait 60 s"), or DRF's
# `detail` (a body that is not JSON)
REFUSAL_OR_FIELD_ERRORS = PolymorphicProxySerializer(
    component_name="AccountDeletionError",
    serializers=[RefusalSerializer, FieldErrorsSerializer, ErrorSerializer],
    resource_type_field_name=None,
)


def _status(user: User) -> dict[str, Any]:
    pending = account_deletion_pending(account=user)
    blockers = [] if pending else account_deletion_blockers(account=user)
    return StatusSerializer(
        {
            "pending": pending is not None,
            "can_delete": pending is None and not blockers,
            "cooling_off_days": cooling_off_days(),
            "deletion": account_deletion_latest(account=user),
            "blockers": blockers,
            "enterprises": [] if pending or blockers else account_deletion_plan(account=user),
        }
    ).data


def _refusal(error: DjangoValidationError, user: User) -> Response:
    """A refusal with its code (and the blockers), or the service's field errors as usual."""
    codes = [item.code for item in getattr(error, "error_list", [])] if not hasattr(error, "error_dict") else []
    code = next((code for code in codes if code in REFUSAL_CODES), None)
    if code is None:
        raise service_errors(error) from error
    body: dict[str, Any] = {"code": code, "non_field_errors": error.messages}
    if code == "account_deletion_blocked":
        body["blockers"] = BlockerSerializer(account_deletion_blockers(account=user), many=True).data
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


class MyAccountDeletionApi(EnterpriseApiView):
    """The signed-in account's deletion (the account, not only this enterprise's membership)."""

    access = SelfService()

    class InputSerializer(serializers.Serializer):
        password = serializers.CharField(max_length=128, trim_whitespace=False)
        code = serializers.CharField(max_length=12, help_text="The code sent by POST …/account-deletion/code/.")

    @extend_schema(responses=StatusSerializer)
    def get(self, request: Any) -> Response:
        return Response(_status(request.user))

    @extend_schema(request=InputSerializer, responses={201: StatusSerializer, 400: REFUSAL_OR_FIELD_ERRORS})
    def post(self, request: Any) -> Response:
        user: User = request.user
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            account_deletion_start(
                account=user,
                password=serializer.validated_data["password"],
                code=serializer.validated_data["code"],
                language=get_language() or "",
            )
        except DjangoValidationError as error:
            return _refusal(error, user)
        return Response(_status(user), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: StatusSerializer, 400: REFUSAL_OR_FIELD_ERRORS})
    def delete(self, request: Any) -> Response:
        return _cancel(request.user)


def _cancel(user: User) -> Response:
    try:
        account_deletion_cancel(account=user)
    except DjangoValidationError as error:
        return _refusal(error, user)
    return Response(_status(user))


class MyAccountDeletionCancelApi(EnterpriseApiView):
    """Cancel the account's deletion during its cooling-off (as DELETE on the deletion)."""

    access = SelfService()

    @extend_schema(request=None, responses={200: StatusSerializer, 400: REFUSAL_OR_FIELD_ERRORS})
    def post(self, request: Any) -> Response:
        return _cancel(request.user)


class MyAccountDeletionCodeApi(EnterpriseApiView):
    """Send the one-time code that confirms the deletion to the account's mobile number."""

    access = SelfService()

    class OutputSerializer(serializers.Serializer):
        sent_to = serializers.CharField(help_text="The masked mobile number.")
        expires_at = serializers.DateTimeField()

    @extend_schema(request=None, responses={202: OutputSerializer, 400: REFUSAL_OR_FIELD_ERRORS})
    def post(self, request: Any) -> Response:
        user: User = request.user
        try:
            sms_code = account_deletion_send_code(account=user, ip=client_ip(request._request))
        except DjangoValidationError as error:
            return _refusal(error, user)
        return Response(
            self.OutputSerializer({"sent_to": user.masked_mobile, "expires_at": sms_code.expires_at}).data,
            status=status.HTTP_202_ACCEPTED,
        )
