"""`/account/export/` on the public host (DSR-2 for account data; issue 17 §3): start a copy of
what the platform holds about the account and see its state; `/account/export/<id>/status/` is
the fragment htmx polls every 2 s while the copy is being prepared; `/account/export/<id>/download/`
hands the zip to its owner while the link is valid. The rules are in
requests.account_export.services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import View

from accounts.models import User
from requests.account_export.services import (
    account_export_effective_state,
    account_export_file,
    account_export_for,
    account_export_start,
)
from requests.export.selectors import LIMIT_DAYS
from requests.export.services import EXPORT_LIMIT, LINK_HOURS, ExportLimitReached
from requests.models import AccountExport
from tenants.access import Account

SHOWN = 10  # earlier exports listed on the page


def _status(export: AccountExport) -> dict[str, Any]:
    state = account_export_effective_state(export)
    return {
        "export": export,
        "state": state,
        "state_label": AccountExport.State(state).label,
        "polling": state == AccountExport.State.PREPARING,
    }


class _AccountPage(LoginRequiredMixin, View):
    """The account's own pages live on the platform's host only."""

    access = Account()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if getattr(request, "enterprise", None) is not None:
            raise Http404("Account data is on the platform's host.")
        return super().dispatch(request, *args, **kwargs)

    @property
    def account(self) -> User:
        return self.request.user  # type: ignore[return-value]


class AccountExportView(_AccountPage):
    def page(self, status: int = 200, **extra: Any) -> HttpResponse:
        exports = list(AccountExport.objects.filter(account=self.account)[:SHOWN])
        context = {
            "latest": _status(exports[0]) if exports else None,
            "exports": [_status(export) for export in exports],
            "limit": EXPORT_LIMIT,
            "days": LIMIT_DAYS,
            "hours": LINK_HOURS,
            **extra,
        }
        return render(self.request, "requests/account_export.html", context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page()

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            account_export_start(account=self.account)
        except ExportLimitReached as error:
            messages.error(request, error.messages[0])
            return self.page(status=429, refused=True)
        return redirect("account_export")


class AccountExportStatusView(_AccountPage):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        export = account_export_for(account=self.account, pk=pk)
        return render(request, "requests/_account_export_status.html", {**_status(export), "oob": True})


class AccountExportDownloadView(_AccountPage):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        export, content = account_export_file(account=self.account, pk=pk)
        response = HttpResponse(content, content_type="application/zip")
        stamp = timezone.localtime(export.created_at).strftime("%Y%m%d")  # the local day
        response["Content-Disposition"] = f'attachment; filename="account-data-{stamp}.zip"'
        response["Cache-Control"] = "no-store"
        return response
