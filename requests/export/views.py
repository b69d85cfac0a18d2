"""The member's export page (DSR-2, DSR-7): `/me/export/` starts an export and shows its state;
`/me/export/<id>/status/` is the small fragment htmx polls every 2 s until the export is ready
(it also refreshes the export's state in the table, out of band);
`/me/export/<id>/download/<token>/` hands the zip out once, to its owner, before it expires."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from core.views import EnterpriseMemberView
from requests.export.selectors import export_effective_state
from requests.export.services import (
    EXPORT_LIMIT,
    LIMIT_DAYS,
    ExportLimitReached,
    export_claim_download,
    export_for_member,
    export_start,
)
from requests.models import Export
from tenants.access import SelfService

SESSION_KEY = "export_tokens"


def remember_token(request: HttpRequest, export: Export, token: str) -> None:
    """The raw token lives only in the owner's session (the database keeps its hash)."""
    tokens = dict(request.session.get(SESSION_KEY, {}))
    tokens[str(export.pk)] = token
    request.session[SESSION_KEY] = tokens


def download_url(export: Export, token: str) -> str:
    return reverse("me_export_download", args=[export.pk, token])


def _status_context(request: HttpRequest, export: Export) -> dict[str, Any]:
    state = export_effective_state(export)
    token = request.session.get(SESSION_KEY, {}).get(str(export.pk))
    return {
        "export": export,
        "state": state,
        "state_label": Export.State(state).label,
        "polling": state in (Export.State.QUEUED, Export.State.RUNNING),
        "download_url": download_url(export, token) if token and state == Export.State.DONE else "",
    }


def _rows(exports: list[Export]) -> list[dict[str, Any]]:
    """The table of exports, with the state a member sees (a used or run-out link is expired)."""
    return [{"export": export, "state_label": Export.State(export_effective_state(export)).label} for export in exports]


class MeExportView(EnterpriseMemberView):
    access = SelfService()

    def get(self, request: HttpRequest) -> HttpResponse:
        exports = list(Export.objects.filter(membership=self.membership)[:10])
        latest = exports[0] if exports else None
        return render(
            request,
            "requests/me_export.html",
            {
                "exports": _rows(exports),
                "latest": _status_context(request, latest) if latest else None,
                "limit": EXPORT_LIMIT,
                "days": LIMIT_DAYS,
            },
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            export, token = export_start(enterprise=self.enterprise, membership=self.membership)
        except ExportLimitReached as error:
            messages.error(request, error.messages[0])
            exports = list(Export.objects.filter(membership=self.membership)[:10])
            return render(
                request,
                "requests/me_export.html",
                {"exports": _rows(exports), "latest": None, "limit": EXPORT_LIMIT, "days": LIMIT_DAYS, "refused": True},
                status=429,
            )
        remember_token(request, export, token)
        return redirect("me_export")


class MeExportStatusView(EnterpriseMemberView):
    access = SelfService()

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        export = export_for_member(membership=self.membership, pk=pk)
        # `oob`: the fragment also updates the export's row in the table below it (hx-swap-oob)
        return render(request, "requests/_export_status.html", {**_status_context(request, export), "oob": True})


class MeExportDownloadView(EnterpriseMemberView):
    access = SelfService()

    def get(self, request: HttpRequest, pk: int, token: str) -> HttpResponse:
        content = export_claim_download(enterprise=self.enterprise, membership=self.membership, pk=pk, token=token)
        tokens = dict(request.session.get(SESSION_KEY, {}))
        if tokens.pop(str(pk), None) is not None:
            request.session[SESSION_KEY] = tokens
        response = HttpResponse(content, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="export-{pk}.zip"'
        response["Cache-Control"] = "no-store"
        return response
