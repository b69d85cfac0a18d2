from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from core.apis import EnterpriseApiView
from requests.models import REQUEST_CATEGORY_CHOICES, RefusalGround, Request, RequestKind
from requests.workflow.selectors import (
    State,
    queue_order,
    request_for_admin,
    request_for_member,
    request_history,
    requests_for_admin,
    requests_of_member,
    with_deadlines,
)
from requests.workflow.services import (
    DECISION_CHOICES,
    FORM_KINDS,
    TEXT_MAX_LENGTH,
    request_cancel,
    request_decide,
    request_provide_information,
    request_submit,
)
from tenants.access import Manage, Read, SelfService
from tenants.apis import Pagination, paginated, service_errors
from tenants.categories import ANY_CATEGORY

# --- data-subject requests (DSR-1, DSR-3, DSR-4) ------------------------------------------------


class RequestEventOutputSerializer(serializers.Serializer):
    at = serializers.DateTimeField(source="created_at")
    action = serializers.CharField()
    status = serializers.CharField()
    actor = serializers.CharField(source="actor_kind")
    ground = serializers.CharField(source="refusal_ground")
    note = serializers.CharField()


class RequestOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=RequestKind.choices)
    status = serializers.ChoiceField(choices=Request.Status.choices)
    category = serializers.CharField()
    description = serializers.CharField()
    submitted_at = serializers.DateTimeField()
    verified_at = serializers.DateTimeField(allow_null=True)
    due_on = serializers.DateField(allow_null=True)
    days_left = serializers.IntegerField(
        allow_null=True,
        help_text="Working days left (DSR-4); frozen while "
        "awaiting information; negative when overdue; null when closed.",
    )
    overdue = serializers.BooleanField()
    refusal_ground = serializers.CharField()
    resolution = serializers.CharField()
    closed_at = serializers.DateTimeField(allow_null=True)


class RequestDetailOutputSerializer(RequestOutputSerializer):
    history = RequestEventOutputSerializer(many=True)


class AdminRequestOutputSerializer(RequestOutputSerializer):
    member = serializers.IntegerField(source="membership_id")
    name = serializers.CharField(source="membership.display_name")


class AdminRequestDetailOutputSerializer(AdminRequestOutputSerializer):
    history = RequestEventOutputSerializer(many=True)


def _detail(row: Request) -> Request:
    with_deadlines([row])
    row.history = request_history(request=row)  # type: ignore[attr-defined]
    return row


state_parameter = OpenApiParameter("state", str, enum=list(State.CHOICES), description="open (default), closed or all")


class StateInputSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=State.CHOICES, required=False, default=State.OPEN)
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1)


class MyRequestsApi(EnterpriseApiView):
    """GET: the signed-in member's own requests in this enterprise, newest first, with days
    left. POST: a new request about their data of one category (a correction, a deletion or a
    complaint); their sign-in verifies their identity, so the 15-working-day clock starts."""

    access = SelfService()
    throttle_scope = "requests"  # SEC-7: new requests, REST_FRAMEWORK rate "requests"

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=[(kind.value, kind.label) for kind in FORM_KINDS])
        category = serializers.ChoiceField(choices=REQUEST_CATEGORY_CHOICES)
        description = serializers.CharField(max_length=TEXT_MAX_LENGTH, allow_blank=True, required=False, default="")

    class OutputSerializer(RequestOutputSerializer):
        pass

    @extend_schema(
        parameters=[OpenApiParameter("page", int)],
        responses=paginated(OutputSerializer, "MyRequestPage"),
        operation_id="v1_me_requests_list",
    )
    def get(self, request: Any) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(requests_of_member(membership=self.membership), request, view=self) or []
        return paginator.get_paginated_response(self.OutputSerializer(with_deadlines(page), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Any) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            row = request_submit(
                enterprise=self.enterprise,
                account=request.user,
                membership=self.membership,
                **serializer.validated_data,
            )
        except DjangoValidationError as error:
            raise service_errors(error) from None
        return Response(self.OutputSerializer(with_deadlines([row])[0]).data, status=status.HTTP_201_CREATED)


class MyRequestApi(EnterpriseApiView):
    """One of the member's own requests with its history (another's, or a missing one: 404)."""

    access = SelfService()

    class OutputSerializer(RequestDetailOutputSerializer):
        pass

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Any, pk: int) -> Response:
        row = request_for_member(membership=self.membership, pk=pk)
        return Response(self.OutputSerializer(_detail(row)).data)


class MyRequestCancelApi(EnterpriseApiView):
    """The member cancels one of their open requests."""

    access = SelfService()

    class OutputSerializer(RequestDetailOutputSerializer):
        pass

    @extend_schema(request=None, responses=OutputSerializer)
    def post(self, request: Any, pk: int) -> Response:
        row = request_for_member(membership=self.membership, pk=pk)
        try:
            row = request_cancel(enterprise=self.enterprise, request=row, account=request.user)
        except DjangoValidationError as error:
            raise service_errors(error) from None
        return Response(self.OutputSerializer(_detail(row)).data)


class MyRequestInformationApi(EnterpriseApiView):
    """The member sends the information an administrator asked for; the clock resumes."""

    access = SelfService()

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=TEXT_MAX_LENGTH)

    class OutputSerializer(RequestDetailOutputSerializer):
        pass

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Any, pk: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = request_for_member(membership=self.membership, pk=pk)
        try:
            row = request_provide_information(
                enterprise=self.enterprise, request=row, account=request.user, note=serializer.validated_data["note"]
            )
        except DjangoValidationError as error:
            raise service_errors(error) from None
        return Response(self.OutputSerializer(_detail(row)).data)


class RequestQueueApi(EnterpriseApiView):
    """The administrators' queue: requests whose data category the admin holds over the
    requester (ENT-8), soonest deadline first. Any admin may call it; the rows are scoped."""

    access = Read(ANY_CATEGORY)

    class OutputSerializer(AdminRequestOutputSerializer):
        pass

    @extend_schema(
        parameters=[state_parameter, OpenApiParameter("page", int)],
        responses=paginated(OutputSerializer, "RequestQueuePage"),
        operation_id="v1_requests_list",
    )
    def get(self, request: Any) -> Response:
        query = StateInputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = queue_order(requests_for_admin(scope=self.scope, state=query.validated_data["state"]))
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request, view=self) or []
        return paginator.get_paginated_response(self.OutputSerializer(with_deadlines(page), many=True).data)


class RequestDetailApi(EnterpriseApiView):
    """One request within the admin's scope (404 otherwise) with its history."""

    access = Read(ANY_CATEGORY)

    class OutputSerializer(AdminRequestDetailOutputSerializer):
        pass

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Any, pk: int) -> Response:
        return Response(self.OutputSerializer(_detail(request_for_admin(scope=self.scope, pk=pk))).data)


class RequestDecideApi(EnterpriseApiView):
    """An administrator's decision on a request within their scope: verify, start_review,
    ask_information (pauses the deadline; `note` says what is needed), information_received,
    complete, refuse (`ground`, one of DSR-3's, and `note`). Recorded in the ledger; the
    requester is told in their inbox. An impossible transition is a 400, nothing changed."""

    access = Manage(ANY_CATEGORY)

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=DECISION_CHOICES)
        ground = serializers.ChoiceField(choices=RefusalGround.choices, required=False, allow_blank=True, default="")
        note = serializers.CharField(max_length=TEXT_MAX_LENGTH, required=False, allow_blank=True, default="")

    class OutputSerializer(AdminRequestDetailOutputSerializer):
        pass

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Any, pk: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = request_for_admin(scope=self.scope, pk=pk)
        try:
            row = request_decide(
                enterprise=self.enterprise, request=row, actor=self.membership, **serializer.validated_data
            )
        except DjangoValidationError as error:
            raise service_errors(error) from None
        row = request_for_admin(scope=self.scope, pk=pk)
        return Response(self.OutputSerializer(_detail(row)).data)
