"""Export API (DSR-2, DSR-7): `POST /api/v1/me/exports/` starts an export (429 with code
`export_limit` and ground `abuse` after 3 in 30 days), `GET /api/v1/me/exports/` lists the
member's exports, `GET /api/v1/me/exports/<id>/` polls one. The download link (with its random
token) is in the 201 answer only; it works once, for its owner, until `expires_at`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from core.apis import EnterpriseApiView
from requests.export.selectors import export_effective_state
from requests.export.services import LIMIT_CODE, ExportLimitReached, export_for_member, export_start
from requests.export.views import download_url, remember_token
from requests.models import Export
from tenants.access import SelfService


class ExportOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=Export.State.choices)
    progress = serializers.IntegerField(help_text="0–100.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField()
    downloaded_at = serializers.DateTimeField(allow_null=True)


def _output(export: Export) -> dict[str, Any]:
    data = ExportOutputSerializer(export).data
    data["state"] = export_effective_state(export)
    return data


class MyExportsApi(EnterpriseApiView):
    access = SelfService()

    class ExportCreatedOutputSerializer(ExportOutputSerializer):
        download_url = serializers.CharField(help_text="Single-use; works once the state is `done`. Shown only here.")

    @extend_schema(responses=ExportOutputSerializer(many=True))
    def get(self, request: Any) -> Response:
        exports = Export.objects.filter(membership=self.membership)[:50]
        return Response([_output(export) for export in exports])

    @extend_schema(
        request=None,
        responses={
            201: ExportCreatedOutputSerializer,
            # the export limit (`export_limit`, with its `ground`), or a throttle of SEC-7
            # (`throttled`, with `retry_after` and the Retry-After header; config/openapi.py)
            429: inline_serializer(
                "ExportLimitOutput",
                {
                    "code": serializers.CharField(),
                    "ground": serializers.CharField(required=False, help_text="`export_limit` only."),
                    "retry_after": serializers.IntegerField(required=False, help_text="A throttle's only."),
                    "detail": serializers.CharField(),
                },
            ),
        },
    )
    def post(self, request: Any) -> Response:
        try:
            export, token = export_start(enterprise=self.enterprise, membership=self.membership)
        except ExportLimitReached as error:
            return Response(
                {"code": LIMIT_CODE, "ground": error.ground, "detail": error.messages[0]},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
        remember_token(request._request, export, token)
        return Response(
            {**_output(export), "download_url": download_url(export, token)}, status=status.HTTP_201_CREATED
        )


class MyExportApi(EnterpriseApiView):
    access = SelfService()

    @extend_schema(responses=ExportOutputSerializer)
    def get(self, request: Any, pk: int) -> Response:
        return Response(_output(export_for_member(membership=self.membership, pk=pk)))
