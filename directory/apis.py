"""Directory and org API (ENT-1, ENT-2, ENT-8, ENT-9): the same services as the console.

External-contact matching API (ENT-7), for any active member (self-service, no category).

`GET contacts/salt/` gives the salt; the client hashes its contacts' E.164 numbers with
HMAC-SHA256 under it (docs/contact-matching.md) and `POST contacts/match/` answers which digests
belong to active members. The digests are neither stored nor logged nor put in the ledger."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import InvalidPage
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response

from accounts.masking import mask_mobile
from consent.permissions.services import DevicePermissionRequired
from core.apis import EnterpriseApiView
from core.models import Department, Membership, Position, Rank
from core.selectors import get_department_for
from directory.contacts import MAX_HASHES, contacts_match, contacts_salt_get
from directory.forms import MemberFilterForm
from directory.org import (
    department_create,
    department_delete,
    department_move,
    department_rename,
    position_create,
    rank_create,
    scope_grant,
    scope_revoke,
)
from directory.selectors import SORTS, MemberFilters, filter_lookups, member_list, member_page
from directory.services import (
    REVEALABLE_FIELDS,
    member_card_create,
    member_card_masked,
    member_card_update,
    member_field_reveal,
)
from tenants.access import Manage, SelfService
from tenants.apis import Pagination, paginated, service_errors
from tenants.categories import Category

CARD_FIELDS = (
    "display_name",
    "gender",
    "mobile",
    "id_number",
    "company",
    "invoice_title",
    "work_signature",
    "landline",
    "email",
    "position",
    "rank",
    "title",
    "departments",
    "fax",
    "seat",
    "secretary",
    "enterprise_mailbox",
    "external_fields",
)


class CardInputSerializer(serializers.Serializer):
    display_name = serializers.CharField(max_length=100, required=False)
    gender = serializers.ChoiceField(choices=Membership.Gender.choices, required=False, allow_blank=True)
    mobile = serializers.CharField(max_length=32, required=False, allow_blank=True)
    id_number = serializers.CharField(max_length=18, required=False, allow_blank=True, write_only=True)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    invoice_title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    work_signature = serializers.CharField(max_length=200, required=False, allow_blank=True)
    landline = serializers.CharField(max_length=32, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    position = serializers.IntegerField(required=False, allow_null=True)
    rank = serializers.IntegerField(required=False, allow_null=True)
    title = serializers.CharField(max_length=100, required=False, allow_blank=True)
    departments = serializers.ListField(child=serializers.IntegerField(), required=False)
    fax = serializers.CharField(max_length=32, required=False, allow_blank=True)
    seat = serializers.CharField(max_length=64, required=False, allow_blank=True)
    secretary = serializers.IntegerField(required=False, allow_null=True)
    enterprise_mailbox = serializers.CharField(max_length=254, required=False, allow_blank=True)
    external_fields = serializers.ListField(
        child=serializers.ChoiceField(choices=Membership.EXTERNAL_FIELDS), required=False
    )


class MemberListItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    status = serializers.CharField()
    role = serializers.CharField()
    mobile = serializers.CharField(help_text="Masked, e.g. 138****1234.")
    title = serializers.CharField()
    joined_at = serializers.DateTimeField(allow_null=True)
    departments = serializers.ListField(child=serializers.IntegerField(), help_text="Department ids.")


class MemberDetailSerializer(MemberListItemSerializer):
    gender = serializers.CharField()
    id_number = serializers.CharField(help_text="Masked; reveal with POST …/reveal/.")
    company = serializers.CharField()
    invoice_title = serializers.CharField()
    work_signature = serializers.CharField()
    landline = serializers.CharField()
    email = serializers.CharField()
    position = serializers.IntegerField(allow_null=True)
    rank = serializers.IntegerField(allow_null=True)
    departments = serializers.ListField(child=serializers.IntegerField())
    fax = serializers.CharField()
    seat = serializers.CharField()
    secretary = serializers.IntegerField(allow_null=True)
    enterprise_mailbox = serializers.CharField()
    external_fields = serializers.ListField(child=serializers.CharField())
    has_photo = serializers.BooleanField()


def _list_item(member: Membership, departments: list[int] | None = None) -> dict[str, Any]:
    item = {
        "id": member.pk,
        "display_name": member.display_name,
        "status": member.status,
        "role": member.role,
        "mobile": mask_mobile(member.mobile) if member.mobile else "",
        "title": member.title,
        "joined_at": member.joined_at,
    }
    if departments is not None:
        item["departments"] = departments
    return item


def _list_row(row: dict[str, Any]) -> dict[str, Any]:
    """`_list_item` of a row of `member_page` (values, not a model instance)."""
    return {
        "id": row["pk"],
        "display_name": row["display_name"],
        "status": row["status"],
        "role": row["role"],
        "mobile": mask_mobile(row["mobile"]) if row["mobile"] else "",
        "title": row["title"],
        "joined_at": row["joined_at"],
        "departments": sorted(row["department_ids"] or ()),
    }


class MemberListApi(EnterpriseApiView):
    """Members in the caller's directory scope; masked values (ENT-9)."""

    access = Manage(Category.DIRECTORY)

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="Part of the name or mobile number."),
            OpenApiParameter("department", int, description="A department in your scope, with its subtree."),
            OpenApiParameter("status", str, enum=["active", "invited"]),
            OpenApiParameter("position", int),
            OpenApiParameter("rank", int),
            OpenApiParameter("joined_from", OpenApiTypes.DATE, description="Joined on or after (local day)."),
            OpenApiParameter("joined_to", OpenApiTypes.DATE, description="Joined on or before (local day)."),
            OpenApiParameter("sort", str, enum=list(SORTS), description="Ties are broken by id."),
            OpenApiParameter("page", int),
        ],
        responses=paginated(MemberListItemSerializer, "MemberPage"),
        operation_id="v1_members_list",
    )
    def get(self, request: Any) -> Response:
        """The same filters and sorting as the console's list (ENT-11); a bad value, or a
        department outside the caller's scope, is a 400 field error."""
        params = {k: v for k, v in request.query_params.items() if k != "page"}
        if params:
            form = MemberFilterForm(params, lookups=filter_lookups(self.scope, params))
            if not form.is_valid():
                raise ValidationError({field: list(errors) for field, errors in form.errors.items()})
            filters = form.filters()
        else:  # the plain list: nothing to validate (PERF-7)
            filters = MemberFilters()
        # one statement for the page, its departments and the count (PERF-3, PERF-7); the page
        # numbers as DRF's PageNumberPagination reads them (a bad one is a 404 "Invalid page.")
        paginator = Pagination()
        paginator.request = request
        number = request.query_params.get(paginator.page_query_param) or 1
        try:
            page, rows = member_page(
                member_list(self.scope, filters), number, paginator.get_page_size(request), strict=True
            )
        except InvalidPage as error:
            raise NotFound(paginator.invalid_page_message.format(page_number=number, message=str(error))) from None
        paginator.page = page
        return paginator.get_paginated_response([_list_row(row) for row in rows])

    @extend_schema(request=CardInputSerializer, responses={201: MemberDetailSerializer})
    def post(self, request: Any) -> Response:
        serializer = CardInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if "display_name" not in serializer.validated_data:
            raise ValidationError({"display_name": ["This field is required."]})
        try:
            member = member_card_create(
                enterprise=self.enterprise,
                actor=self.membership,
                scope=self.scope,
                data=dict(serializer.validated_data),
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(_detail(self.enterprise, member), status=status.HTTP_201_CREATED)


def _detail(enterprise: Any, member: Membership) -> dict[str, Any]:
    masked = member_card_masked(enterprise=enterprise, membership=member)
    return {
        **_list_item(member),
        "gender": member.gender,
        "id_number": masked.id_number,
        "company": member.company,
        "invoice_title": member.invoice_title,
        "work_signature": member.work_signature,
        "landline": masked.landline,
        "email": masked.email,
        "position": member.position_id,
        "rank": member.rank_id,
        "departments": [d.pk for d in member.departments.all()],
        "fax": masked.fax,
        "seat": member.seat,
        "secretary": member.secretary_id,
        "enterprise_mailbox": masked.enterprise_mailbox,
        "external_fields": member.external_fields,
        "has_photo": bool(member.photo),
    }


class MemberDetailApi(EnterpriseApiView):
    access = Manage(Category.DIRECTORY)

    @extend_schema(responses=MemberDetailSerializer)
    def get(self, request: Any, pk: int) -> Response:
        return Response(_detail(self.enterprise, self.scope.member_for(Category.DIRECTORY, pk)))

    @extend_schema(request=CardInputSerializer, responses=MemberDetailSerializer)
    def patch(self, request: Any, pk: int) -> Response:
        member = self.scope.member_for(Category.DIRECTORY, pk)
        serializer = CardInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            member_card_update(
                enterprise=self.enterprise,
                actor=self.membership,
                scope=self.scope,
                membership=member,
                data=dict(serializer.validated_data),
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(_detail(self.enterprise, member))


class MemberRevealApi(EnterpriseApiView):
    """The full value of one masked field; recorded in the ledger (ENT-9, ENT-10)."""

    access = Manage(Category.DIRECTORY)

    class InputSerializer(serializers.Serializer):
        field = serializers.ChoiceField(choices=REVEALABLE_FIELDS)
        purpose = serializers.CharField(max_length=200, required=False, allow_blank=True)

    class OutputSerializer(serializers.Serializer):
        field = serializers.CharField()
        value = serializers.CharField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Any, pk: int) -> Response:
        member = self.scope.member_for(Category.DIRECTORY, pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        field = serializer.validated_data["field"]
        value = member_field_reveal(
            enterprise=self.enterprise,
            actor=self.membership,
            membership=member,
            field=field,
            purpose=serializer.validated_data.get("purpose", ""),
        )
        return Response({"field": field, "value": value})


class MemberScopeApi(EnterpriseApiView):
    """Grant or revoke an administrator scope (owners and full admins)."""

    access = Manage(Category.DIRECTORY, enterprise_wide=True)

    class InputSerializer(serializers.Serializer):
        department = serializers.IntegerField()
        categories = serializers.ListField(child=serializers.ChoiceField(choices=Category.values), min_length=1)
        revoke = serializers.BooleanField(default=False)

    @extend_schema(request=InputSerializer, responses={204: None})
    def post(self, request: Any, pk: int) -> Response:
        member = self.scope.member_for(Category.DIRECTORY, pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        department = get_department_for(self.scope, Category.DIRECTORY, serializer.validated_data["department"])
        if department is None:
            raise ValidationError({"department": ["Choose an existing department."]})
        service = scope_revoke if serializer.validated_data["revoke"] else scope_grant
        try:
            service(
                enterprise=self.enterprise,
                actor=self.membership,
                admin=member,
                department=department,
                categories=serializer.validated_data["categories"],
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(status=status.HTTP_204_NO_CONTENT)


class DepartmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    parent = serializers.IntegerField(allow_null=True)
    path = serializers.CharField()


def _department(d: Department) -> dict[str, Any]:
    return {"id": d.pk, "name": d.name, "parent": d.parent_id, "path": d.path}


class DepartmentListApi(EnterpriseApiView):
    access = Manage(Category.DIRECTORY, enterprise_wide=True)

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        parent = serializers.IntegerField(required=False, allow_null=True)

    @extend_schema(responses=DepartmentSerializer(many=True))
    def get(self, request: Any) -> Response:
        return Response([_department(d) for d in self.scope.departments(Category.DIRECTORY)])

    @extend_schema(request=InputSerializer, responses={201: DepartmentSerializer})
    def post(self, request: Any) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        parent = None
        if serializer.validated_data.get("parent"):
            parent = get_department_for(self.scope, Category.DIRECTORY, serializer.validated_data["parent"])
            if parent is None:
                raise ValidationError({"parent": ["Choose an existing department."]})
        try:
            department = department_create(
                enterprise=self.enterprise, actor=self.membership, name=serializer.validated_data["name"], parent=parent
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(_department(department), status=status.HTTP_201_CREATED)


class DepartmentDetailApi(EnterpriseApiView):
    access = Manage(Category.DIRECTORY, enterprise_wide=True)

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100, required=False)
        parent = serializers.IntegerField(required=False)

    def _get(self, pk: int) -> Department:
        return get_object_or_404(self.scope.departments(Category.DIRECTORY), pk=pk)

    @extend_schema(responses=DepartmentSerializer)
    def get(self, request: Any, pk: int) -> Response:
        return Response(_department(self._get(pk)))

    @extend_schema(request=InputSerializer, responses=DepartmentSerializer)
    def patch(self, request: Any, pk: int) -> Response:
        department = self._get(pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        new_parent = None
        if "parent" in data:
            new_parent = get_department_for(self.scope, Category.DIRECTORY, data["parent"])
            if new_parent is None:
                raise ValidationError({"parent": ["Choose an existing department."]})
        try:
            if "name" in data:
                department_rename(
                    enterprise=self.enterprise, actor=self.membership, department=department, name=data["name"]
                )
            if new_parent is not None:
                department_move(
                    enterprise=self.enterprise, actor=self.membership, department=department, new_parent=new_parent
                )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(_department(department))

    @extend_schema(responses={204: None})
    def delete(self, request: Any, pk: int) -> Response:
        try:
            department_delete(enterprise=self.enterprise, actor=self.membership, department=self._get(pk))
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(status=status.HTTP_204_NO_CONTENT)


class NamedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class NameInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class NamedListApi(EnterpriseApiView):
    """Positions and ranks: flat lists of names (ENT-1)."""

    access = Manage(Category.DIRECTORY, enterprise_wide=True)
    model: Any
    create: Any

    @extend_schema(responses=NamedSerializer(many=True))
    def get(self, request: Any) -> Response:
        return Response([{"id": item.pk, "name": item.name} for item in self.model.objects.all()])

    @extend_schema(request=NameInputSerializer, responses={201: NamedSerializer})
    def post(self, request: Any) -> Response:
        serializer = NameInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            item = type(self).create(
                enterprise=self.enterprise, actor=self.membership, name=serializer.validated_data["name"]
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response({"id": item.pk, "name": item.name}, status=status.HTTP_201_CREATED)


class PositionListApi(NamedListApi):
    model = Position
    create = staticmethod(position_create)


class RankListApi(NamedListApi):
    model = Rank
    create = staticmethod(rank_create)


class ContactSaltApi(EnterpriseApiView):
    """The enterprise's contact-hash salt and how to use it."""

    access = SelfService()

    class OutputSerializer(serializers.Serializer):
        salt = serializers.CharField()
        algorithm = serializers.CharField(help_text="HMAC-SHA256: key = salt (UTF-8), message = E.164 number (UTF-8).")
        digest_format = serializers.CharField(help_text="Lower-case hex, 64 characters.")
        max_hashes = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Any) -> Response:
        data = {
            "salt": contacts_salt_get(enterprise=self.enterprise),
            "algorithm": "HMAC-SHA256",
            "digest_format": "hex-lower",
            "max_hashes": MAX_HASHES,
        }
        return Response(self.OutputSerializer(data).data)


class ContactMatchApi(EnterpriseApiView):
    """Which of the given digests belong to active members of this enterprise. Needs the account's
    `contacts` device permission (CON-5): otherwise 403 with code "device_permission_required"."""

    access = SelfService()

    class InputSerializer(serializers.Serializer):
        hashes = serializers.ListField(
            child=serializers.RegexField(r"^[0-9a-f]{64}\Z", max_length=64, min_length=64),
            max_length=MAX_HASHES,
            allow_empty=True,
            help_text="HMAC-SHA256 digests (lower-case hex) of E.164 mobile numbers, at most 1000.",
        )

    class OutputSerializer(serializers.Serializer):
        matches = serializers.ListField(child=serializers.CharField(), help_text="The digests that are members.")

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Any) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            matches = contacts_match(
                enterprise=self.enterprise,
                account=request.user,
                hashes=serializer.validated_data["hashes"],
                membership=self.membership,
            )
        except DjangoValidationError as error:
            raise service_errors(error) from None
        except DevicePermissionRequired as refused:
            # CON-5: 403 with a stable machine-readable code and the permission to ask for.
            raise PermissionDenied({"detail": refused.message, "code": refused.code, "kind": refused.kind}) from None
        return Response(self.OutputSerializer({"matches": matches}).data)
