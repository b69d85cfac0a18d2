"""The instruction ledger in the console (ENT-10): browse, export as CSV, verify the chain.

Only administrators whose scope holds the `ledger` category (owners, full admins) reach these
pages; ConsoleView answers 403 to everyone else."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any, cast

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Membership
from core.scopes import AdminScope
from core.views import ConsoleView
from ledger.selectors import (
    ACTIONS,
    LedgerFilters,
    action_label,
    ledger_export_rows,
    ledger_member_choices,
    ledger_page,
)
from ledger.services import (
    REASON_BELOW_CHECKPOINT,
    REASON_CONTENT,
    REASON_ID_NOT_POSITIVE,
    REASON_LINK,
    ledger_export_record,
    ledger_verify,
)
from tenants.access import Manage, Read
from tenants.categories import Category
from tenants.ids import object_id
from tenants.models import Enterprise

FILTER_FIELDS = ("category", "action", "subject", "actor", "date_from", "date_to")


class LedgerFilterForm(forms.Form):
    """The ledger's filters (GET). Subject and actor are chosen among the members in the admin's
    ledger scope; the choices are loaded once by the view and passed in."""

    category = forms.ChoiceField(label=_("Category"), required=False)
    action = forms.ChoiceField(label=_("Action"), required=False)
    subject = forms.TypedChoiceField(label=_("Whose data"), required=False, coerce=int, empty_value=None)
    actor = forms.TypedChoiceField(label=_("Actor"), required=False, coerce=int, empty_value=None)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, members: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        everything: list[tuple[Any, Any]] = [("", _("All"))]
        cast(forms.ChoiceField, self.fields["category"]).choices = everything + list(Category.choices)
        cast(forms.ChoiceField, self.fields["action"]).choices = everything + [
            (action, action_label(action)) for action in ACTIONS
        ]
        cast(forms.ChoiceField, self.fields["subject"]).choices = everything + members
        cast(forms.ChoiceField, self.fields["actor"]).choices = everything + members

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def filters(self) -> LedgerFilters:
        data = self.cleaned_data
        return LedgerFilters(
            category=data.get("category") or "",
            action=data.get("action") or "",
            subject_id=data.get("subject"),
            actor_id=data.get("actor"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


class _LedgerConsoleView(ConsoleView):
    access = Read(Category.LEDGER)

    def filter_form(self, request: HttpRequest) -> LedgerFilterForm:
        members = ledger_member_choices(enterprise=self.enterprise, scope=self.scope)
        return LedgerFilterForm(request.GET or None, members=members)

    def render_list(self, request: HttpRequest, form: LedgerFilterForm, *, status: int = 200) -> HttpResponse:
        page = None
        filter_query = older_query = ""
        if form.is_bound and not form.is_valid():
            status = max(status, 400)
        else:
            filters = form.filters() if form.is_bound else LedgerFilters()
            before = object_id(request.GET.get("before"))
            page = ledger_page(enterprise=self.enterprise, scope=self.scope, filters=filters, before=before)
            query = request.GET.copy()
            query.pop("before", None)
            query.pop("purpose", None)
            filter_query = query.urlencode()
            if page.next_before is not None:
                query["before"] = str(page.next_before)
                older_query = query.urlencode()
        context = {
            "form": form,
            "page": page,
            "filter_query": filter_query,
            "older_query": older_query,
            "is_first_page": "before" not in request.GET,
            "filter_fields": FILTER_FIELDS,
        }
        return render(request, "enterprise_data/ledger/list.html", context, status=status)


class LedgerListView(_LedgerConsoleView):
    """`/console/ledger/`: entries newest first, 50 per page (keyset on the id), filtered."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_list(request, self.filter_form(request))


def stream_csv(rows: Iterator[list[str]]) -> Iterator[str]:
    """Encode rows one at a time (the writer's buffer is a one-line echo)."""

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())
    yield "\ufeff"  # so spreadsheet programs read UTF-8
    for row in rows:
        yield writer.writerow(row)


def ledger_export_response(
    *,
    enterprise: Enterprise,
    scope: AdminScope,
    actor: Membership,
    filters: LedgerFilters,
    purpose: str,
) -> StreamingHttpResponse:
    """Record the export in the ledger (ENT-10: exporting is processing), then stream the
    matching entries up to and including that record as CSV."""
    record = ledger_export_record(
        enterprise=enterprise, actor=actor, subject_id=filters.subject_id, filters=filters.as_details(), purpose=purpose
    )
    rows = ledger_export_rows(enterprise=enterprise, scope=scope, filters=filters, upto_id=record.id)
    response = StreamingHttpResponse(stream_csv(rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")  # the enterprise's local time, as the rows
    response["Content-Disposition"] = f'attachment; filename="ledger-{enterprise.schema_name}-{stamp}.csv"'
    return response


class LedgerExportView(_LedgerConsoleView):
    """`POST /console/ledger/export/` (`<filters>`, `purpose`, the CSRF token): the filtered
    entries as a streamed CSV, the export recorded in the ledger first. Exporting records an
    instruction, so it is a POST with CSRF; a GET (an old bookmark, a link on another site)
    writes nothing and is sent to the ledger's page with the same filters, where the export
    form is (docs/ledger.md, docs/security.md "Safe methods")."""

    access = Manage(Category.LEDGER)

    def get(self, request: HttpRequest) -> HttpResponse:
        query = request.GET.copy()
        query.pop("purpose", None)
        url = reverse("console_ledger")
        return redirect(f"{url}?{query.urlencode()}" if query else url)

    def post(self, request: HttpRequest) -> HttpResponseBase:
        members = ledger_member_choices(enterprise=self.enterprise, scope=self.scope)
        form = LedgerFilterForm(request.POST, members=members)
        if not form.is_valid():
            return self.render_list(request, form, status=400)
        purpose = (request.POST.get("purpose") or "").strip()[:200]
        return ledger_export_response(
            enterprise=self.enterprise, scope=self.scope, actor=self.membership, filters=form.filters(), purpose=purpose
        )


class LedgerVerifyView(_LedgerConsoleView):
    """`/console/ledger/verify/`: recompute the hash chain and show the result."""

    def get(self, request: HttpRequest) -> HttpResponse:
        result = ledger_verify(enterprise=self.enterprise)
        return render(
            request,
            "enterprise_data/ledger/verify.html",
            {
                "result": result,
                "reason": verification_reason(result.reason),
                "problems": [(problem.id, verification_reason(problem.reason)) for problem in result.problems],
                "unlisted": result.problem_count - len(result.problems),
            },
        )


def verification_reason(reason: str) -> str:
    """The translated text of a reason given by services.ledger.ledger_verify."""
    reasons = {
        REASON_LINK: _("its previous-hash does not match the entry before it (an entry was removed or inserted)"),
        REASON_CONTENT: _("its content does not match its hash (the entry was changed)"),
        REASON_ID_NOT_POSITIVE: _("its id is not positive, so it lies outside the chain (it was inserted by hand)"),
        REASON_BELOW_CHECKPOINT: _(
            "it lies at or below the newest purge checkpoint, where no entry may remain "
            "(it was inserted or kept back after a purge)"
        ),
    }
    return str(reasons.get(reason, reason))
