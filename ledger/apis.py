"""The instruction ledger's API (ENT-10): list, CSV export (POST), chain verification.

Admin endpoints of the `ledger` category: owners and full admins; everyone else gets 403."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponseBase
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from core.apis import EnterpriseApiView
from ledger.selectors import ACTIONS, PAGE_SIZE, LedgerFilters, ledger_page
from ledger.services import ledger_verify
from ledger.views import ledger_export_response, verification_reason
from tenants.access import Manage, Read
from tenants.categories import Category
from tenants.ids import MAX_ID


class LedgerFilterInput(serializers.Serializer):
    """Query parameters shared by the list and the export."""

    category = serializers.ChoiceField(choices=Category.choices, required=False, allow_blank=True)
    action = serializers.ChoiceField(choices=ACTIONS, required=False, allow_blank=True)
    subject = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text=_("Whose data: a membership id.")
    )
    actor = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text=_("Who acted: a membership id.")
    )
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": _("The end date is before the start date.")})
        return attrs

    def filters(self) -> LedgerFilters:
        data = self.validated_data
        return LedgerFilters(
            category=data.get("category") or "",
            action=data.get("action") or "",
            subject_id=data.get("subject"),
            actor_id=data.get("actor"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


class LedgerEntryOutput(serializers.Serializer):
    """One entry with the names of its actor and subject (a selectors.ledger.LedgerRow)."""

    id = serializers.IntegerField(source="entry.id")
    created_at = serializers.DateTimeField(source="entry.created_at")
    actor_kind = serializers.CharField(source="entry.actor_kind")
    actor_membership_id = serializers.IntegerField(source="entry.actor_membership_id", allow_null=True)
    actor_device_id = serializers.IntegerField(source="entry.actor_device_id", allow_null=True)
    actor_name = serializers.CharField()
    action = serializers.CharField(source="entry.action")
    category = serializers.CharField(source="entry.category")
    subject_membership_id = serializers.IntegerField(source="entry.subject_membership_id", allow_null=True)
    subject_name = serializers.CharField()
    purpose = serializers.CharField(source="entry.purpose")
    object_type = serializers.CharField(source="entry.object_type")
    object_id = serializers.CharField(source="entry.object_id")
    details = serializers.JSONField(source="entry.details")
    request_id = serializers.CharField(source="entry.request_id")
    prev_hash = serializers.CharField(source="entry.prev_hash")
    entry_hash = serializers.CharField(source="entry.entry_hash")


class LedgerListApi(EnterpriseApiView):
    """`GET ledger/`: entries newest first; `next` is the URL of the older page (keyset)."""

    access = Read(Category.LEDGER)

    class InputSerializer(LedgerFilterInput):
        before = serializers.IntegerField(
            required=False, min_value=1, max_value=MAX_ID, help_text=_("Entries older than this id.")
        )
        limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=PAGE_SIZE)

    class OutputSerializer(serializers.Serializer):
        results = LedgerEntryOutput(many=True)
        next = serializers.CharField(allow_null=True, help_text=_("URL of the next (older) page."))

    @extend_schema(parameters=[InputSerializer], responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = ledger_page(
            enterprise=self.enterprise,
            scope=self.scope,
            filters=query.filters(),
            before=query.validated_data.get("before"),
            size=query.validated_data["limit"],
        )
        next_url = None
        if page.next_before is not None:
            params = request.query_params.copy()
            params["before"] = str(page.next_before)
            next_url = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
        return Response(self.OutputSerializer({"results": page.rows, "next": next_url}).data)


class CsvRenderer(BaseRenderer):
    """Lets clients ask for `Accept: text/csv`; errors are still plain text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return str(data).encode()


class LedgerExportApi(EnterpriseApiView):
    """`POST ledger/export/` (the filters and `purpose` in the body): the filtered entries as a
    streamed CSV; the export itself is recorded in the ledger first (action export, category
    ledger). It records an instruction, so it is a POST (with the session's CSRF token); GET is
    405 and writes nothing (docs/security.md "Safe methods")."""

    access = Manage(Category.LEDGER)
    renderer_classes = [JSONRenderer, CsvRenderer]

    class InputSerializer(LedgerFilterInput):
        purpose = serializers.CharField(required=False, allow_blank=True, max_length=200)

    @extend_schema(request=InputSerializer, responses={(200, "text/csv"): OpenApiTypes.STR})
    def post(self, request: Request) -> HttpResponseBase:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return ledger_export_response(
            enterprise=self.enterprise,
            scope=self.scope,
            actor=self.membership,
            filters=data.filters(),
            purpose=data.validated_data.get("purpose", "").strip(),
        )


class LedgerProblemOutput(serializers.Serializer):
    """A row that is not part of the verified chain, and why."""

    id = serializers.IntegerField()
    reason = serializers.CharField()


class LedgerVerifyApi(EnterpriseApiView):
    """`GET ledger/verify/`: recompute the hash chain."""

    access = Read(Category.LEDGER)

    class OutputSerializer(serializers.Serializer):
        ok = serializers.BooleanField()
        entries = serializers.IntegerField(help_text=_("Entries checked: every row of the ledger."))
        first_broken_id = serializers.IntegerField(allow_null=True)
        reason = serializers.CharField(allow_blank=True)
        problem_count = serializers.IntegerField(
            help_text=_("Entries that are not part of the verified chain (outside it, or damaged).")
        )
        problems = LedgerProblemOutput(many=True, help_text=_("The first 100 of them by id, each with its reason."))

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        result = ledger_verify(enterprise=self.enterprise)
        return Response(
            self.OutputSerializer(
                {
                    "ok": result.ok,
                    "entries": result.entries,
                    "first_broken_id": result.first_broken_id,
                    "reason": verification_reason(result.reason) if result.reason else "",
                    "problem_count": result.problem_count,
                    "problems": [
                        {"id": problem.id, "reason": verification_reason(problem.reason)} for problem in result.problems
                    ],
                }
            ).data
        )
