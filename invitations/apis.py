"""Invitations API for administrators (ENT-3; category directory): the same services as the
console. `GET/POST invitations/` (POST with kind=mobile|link), `POST invitations/<id>/revoke/`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.masking import mask_mobile
from core.apis import EnterpriseApiView
from core.models import Membership
from invitations.models import Invitation
from invitations.selectors import invitation_effective_status, invitation_for_admin, invitation_list_pending
from invitations.services import (
    DAYS_VALID_MAX,
    invitation_create_by_mobile,
    invitation_create_link,
    invitation_link_url,
    invitation_new_card_check,
    invitation_revoke,
)
from tenants.access import Manage
from tenants.apis import service_errors
from tenants.categories import Category


class InvitationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Invitation.Kind.choices)
    status = serializers.ChoiceField(choices=Invitation.Status.choices)
    membership = serializers.IntegerField(allow_null=True, help_text="The invited directory card.")
    display_name = serializers.CharField(allow_blank=True)
    mobile = serializers.CharField(allow_blank=True, help_text="Masked, e.g. 138****1234; empty for links.")
    role = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


def invitation_data(invitation: Invitation) -> dict[str, Any]:
    card = invitation.membership
    return {
        "id": invitation.pk,
        "kind": invitation.kind,
        "status": invitation_effective_status(invitation),
        "membership": invitation.membership_id,
        "display_name": card.display_name if card is not None else "",
        "mobile": mask_mobile(invitation.mobile) if invitation.mobile else "",
        "role": invitation.role,
        "created_at": invitation.created_at,
        "expires_at": invitation.expires_at,
    }


class InvitationListCreateApi(EnterpriseApiView):
    """Pending invitations; invite by mobile number or create a link (the link is in this
    response only: just its hash is stored)."""

    access = Manage(Category.DIRECTORY)

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Invitation.Kind.choices)
        mobile = serializers.CharField(max_length=32, required=False, allow_blank=True)
        display_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        role = serializers.ChoiceField(
            choices=[Membership.Role.MEMBER.value, Membership.Role.ADMIN.value], default=Membership.Role.MEMBER
        )
        days_valid = serializers.IntegerField(min_value=1, max_value=DAYS_VALID_MAX, default=7)
        membership = serializers.IntegerField(
            required=False,
            allow_null=True,
            help_text="Links only: an existing invited card (in your scope) to attach instead of a new one.",
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if attrs["kind"] == Invitation.Kind.MOBILE and not attrs.get("mobile"):
                raise ValidationError({"mobile": [_("Enter the mobile number to invite.")]})
            return attrs

    class CreatedSerializer(InvitationOutputSerializer):
        link = serializers.CharField(allow_null=True, help_text="Link invitations: shown this once.")

    @extend_schema(responses=InvitationOutputSerializer(many=True))
    def get(self, request: Any) -> Response:
        invitations = invitation_list_pending(scope=self.scope)
        return Response(InvitationOutputSerializer([invitation_data(i) for i in invitations], many=True).data)

    @extend_schema(request=InputSerializer, responses={201: CreatedSerializer})
    def post(self, request: Any) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        link = None
        try:
            if data["kind"] == Invitation.Kind.MOBILE:
                invitation_new_card_check(scope=self.scope)
                invitation = invitation_create_by_mobile(
                    enterprise=self.enterprise,
                    actor=self.membership,
                    mobile=data["mobile"],
                    display_name=data["display_name"],
                    role=data["role"],
                    days_valid=data["days_valid"],
                )
            else:
                card = self.scope.member_for(Category.DIRECTORY, data["membership"]) if data.get("membership") else None
                if card is None:
                    invitation_new_card_check(scope=self.scope)
                invitation, token = invitation_create_link(
                    enterprise=self.enterprise,
                    actor=self.membership,
                    display_name=data["display_name"],
                    role=data["role"],
                    days_valid=data["days_valid"],
                    membership=card,
                )
                link = invitation_link_url(
                    enterprise=self.enterprise,
                    token=token,
                    scheme=request.scheme or "http",
                    port=request._request.get_port(),
                )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        body = self.CreatedSerializer({**invitation_data(invitation), "link": link}).data
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class InvitationRevokeApi(EnterpriseApiView):
    """Withdraw a pending invitation; 404 for one that is missing or out of scope."""

    access = Manage(Category.DIRECTORY)

    @extend_schema(request=None, responses=InvitationOutputSerializer)
    def post(self, request: Any, pk: int) -> Response:
        invitation = invitation_for_admin(scope=self.scope, pk=pk)
        try:
            invitation = invitation_revoke(enterprise=self.enterprise, actor=self.membership, invitation=invitation)
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(InvitationOutputSerializer(invitation_data(invitation)).data)
