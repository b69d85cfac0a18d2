"""Health reports (ENT-5): the console's summary and named list (category health, ENT-8) and the
member's daily report form on /me/health/."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from consent.consents.services import ConsentRequired
from core.encryption import KeyUnavailable
from core.models import Department
from core.selectors import get_department_for
from core.views import ConsoleView, EnterpriseMemberView
from health.selectors import (
    HealthSummary,
    health_departments,
    health_range_check,
    health_report_for_admin,
    health_report_of_member_on,
    health_reports_for_admin,
    health_reports_of_member,
    health_summary,
)
from health.services import (
    HealthDetails,
    health_export,
    health_min_group_size_set,
    health_reminder_send,
    health_report_details,
    health_report_reveal,
    health_report_submit,
    may_set_min_group_size,
)
from tenants.access import Manage, Read, SelfService
from tenants.categories import Category
from tenants.spreadsheets import xlsx_response
from tenants.views import apply_service_errors


def date_input() -> forms.DateInput:
    """An `<input type="date">`: its value must be ISO `YYYY-MM-DD` in every language (the
    localized "2026/12/07" of zh-Hans leaves Chromium's box empty)."""
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class DayForm(forms.Form):
    date = forms.DateField(label=gettext_lazy("Date"), required=False, widget=date_input())


def _day(request: HttpRequest) -> tuple[datetime.date, DayForm]:
    """The day asked for in ?date= (today when absent or invalid; the form shows the error)."""
    today = timezone.localdate()
    form = DayForm(request.GET) if "date" in request.GET else DayForm(initial={"date": today})
    if form.is_bound and form.is_valid() and form.cleaned_data["date"]:
        return form.cleaned_data["date"], form
    return today, form


class RevealForm(forms.Form):
    purpose = forms.CharField(label=gettext_lazy("Purpose"), required=False, max_length=200)


class RangeForm(forms.Form):
    """?date_from=&date_to=&department= (default today, the whole scope; `?date=` is one day).
    At most 31 days. The departments offered are those of the admin's health scope, so a missing
    and an out-of-scope department get the same field error."""

    date_from = forms.DateField(label=gettext_lazy("From"), required=False, widget=date_input())
    date_to = forms.DateField(label=gettext_lazy("To"), required=False, widget=date_input())
    department = forms.TypedChoiceField(label=gettext_lazy("Department"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, departments: Sequence[Department] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.departments = {d.pk: d for d in departments}
        top = min((d.path.count("/") for d in departments), default=0)
        field = cast(forms.TypedChoiceField, self.fields["department"])
        field.choices = [
            ("", _("Everyone in your scope")),
            *((d.pk, "\u2003" * (d.path.count("/") - top) + d.name) for d in departments),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        today = timezone.localdate()
        date_from = data.get("date_from") or data.get("date_to") or today
        date_to = data.get("date_to") or data.get("date_from") or today
        try:
            health_range_check(date_from, date_to)
        except ValidationError as error:
            apply_service_errors(self, error)
        data.update(date_from=date_from, date_to=date_to)
        return data

    def selection(self) -> tuple[datetime.date, datetime.date, Department | None]:
        """The range and department asked for; today and the whole scope when invalid (the form
        shows the errors)."""
        today = timezone.localdate()
        if not self.is_bound:
            return today, today, None
        if self.is_valid():
            data = self.cleaned_data
            return data["date_from"], data["date_to"], self.departments.get(data["department"] or 0)
        return today, today, None


def _range_form(data: Any, departments: Sequence[Department]) -> RangeForm:
    """The dashboard's filter from a query (or the export's POST); unbound (today, the whole
    scope) when it names neither a date nor a department."""
    today = timezone.localdate()
    query = data.copy()
    if "date" in query and "date_from" not in query and "date_to" not in query:
        query["date_from"] = query["date_to"] = query.get("date", "")
    if not any(key in query for key in ("date_from", "date_to", "department")):
        return RangeForm(initial={"date_from": today, "date_to": today}, departments=departments)
    return RangeForm(query, departments=departments)


def trend_chart(summary: HealthSummary) -> dict[str, Any]:
    """The per-day line chart (docs/frontend.md "Charts"): reported, missing and unwell over the
    selected group; a suppressed figure is null (a gap whose tooltip reads "< N")."""
    same_year = summary.date_from.year == summary.date_to.year
    return {
        "kind": "line",
        "x": [day.date.strftime("%m-%d" if same_year else "%Y-%m-%d") for day in summary.trend],
        "series": [
            {"name": _("Reported"), "data": [day.reported.value for day in summary.trend], "tone": "green"},
            {"name": _("Missing"), "data": [day.missing.value for day in summary.trend], "tone": "orange"},
            {"name": _("Unwell"), "data": [day.unwell.value for day in summary.trend], "tone": "red"},
        ],
        "suppressed": f"< {summary.min_group_size}",
    }


def department_chart(summary: HealthSummary) -> dict[str, Any]:
    """The per-department bar chart: reports and members unwell over the range for the child
    departments of the selected group (`HealthSummary.chart_departments`); a suppressed
    department is one bar of nulls and is not broken down."""
    rows = summary.chart_departments
    return {
        "kind": "bar",
        "x": [row.name for row in rows],
        "horizontal": len(rows) > 4,
        "series": [
            {"name": _("Reports"), "data": [row.reports.value for row in rows], "tone": "blue"},
            {"name": _("Unwell"), "data": [row.unwell.value for row in rows], "tone": "red"},
        ],
        "suppressed": f"< {summary.min_group_size}",
    }


class MinGroupSizeForm(forms.Form):
    min_group_size = forms.IntegerField(
        label=gettext_lazy("Minimum group size"),
        help_text=gettext_lazy("Figures about fewer people than this are shown as “< N” (at least 3)."),
    )


class ReminderForm(forms.Form):
    department = forms.CharField(required=False)


def _has_gaps(spec: dict[str, Any]) -> bool:
    """Whether a chart has a suppressed (null) value: the page then says what a gap means."""
    return any(value is None for series in spec["series"] for value in series["data"])


class HealthSummaryView(ConsoleView):
    """Aggregates per department subtree over a range, with a per-day trend and a
    per-department chart: counts and cities, no names; every figure about fewer than N people is
    suppressed (ENT-5, GB/T 35273 §6.2)."""

    access = Read(Category.HEALTH)

    def page(
        self,
        request: HttpRequest,
        *,
        form: RangeForm | None = None,
        settings_form: MinGroupSizeForm | None = None,
        remind_errors: list[str] | None = None,
        status: int = 200,
    ) -> HttpResponse:
        if form is None:
            form = _range_form(request.GET, health_departments(enterprise=self.enterprise, scope=self.scope))
        date_from, date_to, department = form.selection()
        summary = health_summary(
            enterprise=self.enterprise, scope=self.scope, date_from=date_from, date_to=date_to, department=department
        )
        today = timezone.localdate()
        trends, departments = trend_chart(summary), department_chart(summary)
        return render(
            request,
            "enterprise_data/health/dashboard.html",
            {
                "summary": summary,
                "day": date_to,
                "form": form,
                "trend_chart": trends,
                "department_chart": departments,
                "trend_gaps": _has_gaps(trends),
                "department_gaps": _has_gaps(departments),
                "is_today": date_from == date_to == today,
                "may_set_min_group_size": may_set_min_group_size(self.membership, self.scope),
                "settings_form": settings_form or MinGroupSizeForm(initial={"min_group_size": summary.min_group_size}),
                "remind_errors": remind_errors or [],
            },
            status=status,
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(request)


class HealthExportView(HealthSummaryView):
    """POST (the dashboard's "Export (Excel)"): the figures of the range and department shown,
    as .xlsx, with the page's minimum group size, recorded in the ledger. A GET is refused
    (405): an export is an instruction and is never a link."""

    access = Manage(Category.HEALTH)
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = _range_form(request.POST, health_departments(enterprise=self.enterprise, scope=self.scope))
        if form.is_bound and not form.is_valid():
            return self.page(request, form=form, status=400)
        date_from, date_to, department = form.selection()
        filename, sheets = health_export(
            enterprise=self.enterprise,
            actor=self.membership,
            scope=self.scope,
            date_from=date_from,
            date_to=date_to,
            department=department,
        )
        return xlsx_response(filename, sheets)


class HealthReminderView(HealthSummaryView):
    """POST: remind the members in scope (of one department subtree, or the whole scope) who
    have not reported today: inbox and SMS, once per subtree per day, recorded in the ledger."""

    access = Manage(Category.HEALTH)
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ReminderForm(request.POST)
        department = None
        if form.is_valid() and form.cleaned_data["department"]:
            department = get_department_for(self.scope, Category.HEALTH, form.cleaned_data["department"])
            if department is None:
                raise Http404("No such department.")
        try:
            sent = health_reminder_send(
                enterprise=self.enterprise, actor=self.membership, scope=self.scope, department=department
            )
        except ValidationError as error:
            return self.page(request, remind_errors=error.messages, status=409)
        if sent:
            messages.success(
                request,
                ngettext("%(count)d member was reminded.", "%(count)d members were reminded.", sent) % {"count": sent},
            )
        else:
            messages.info(request, _("Everyone in this group has reported today (or cannot be asked to)."))
        return redirect("console_health")


class HealthSettingsView(HealthSummaryView):
    """POST: the minimum group size N (owner or whole-enterprise health admin)."""

    access = Manage(Category.HEALTH)
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = MinGroupSizeForm(request.POST)
        try:
            health_min_group_size_set(
                enterprise=self.enterprise,
                actor=self.membership,
                scope=self.scope,
                value=request.POST.get("min_group_size", ""),
            )
        except ValidationError as error:
            if form.is_valid():  # parsed; the rule (3 to 100) is the service's
                apply_service_errors(form, error)
            return self.page(request, settings_form=form, status=400)
        messages.success(request, _("The minimum group size has been saved."))
        return redirect("console_health")


class HealthReportListView(ConsoleView):
    """The day's reports by name within the admin's scope: city and unwell only; details behind
    a POST that records the reveal."""

    access = Read(Category.HEALTH)

    def get(self, request: HttpRequest) -> HttpResponse:
        day, form = _day(request)
        reports = health_reports_for_admin(enterprise=self.enterprise, scope=self.scope, day=day)
        return render(
            request,
            "enterprise_data/health/report_list.html",
            {"reports": reports, "day": day, "form": form, "reveal_form": RevealForm()},
        )


class HealthReportRevealView(ConsoleView):
    """POST only: decrypt one report's details, record the reveal in the ledger, show them once."""

    access = Manage(Category.HEALTH)
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int, **kwargs: Any) -> HttpResponse:
        report = health_report_for_admin(enterprise=self.enterprise, scope=self.scope, pk=pk)
        form = RevealForm(request.POST)
        purpose = form.cleaned_data["purpose"] if form.is_valid() else ""
        refused = ""
        try:
            details: HealthDetails | None = health_report_reveal(
                enterprise=self.enterprise, actor=self.membership, report=report, purpose=purpose
            )
        except KeyUnavailable:
            details = None
        except ConsentRequired as error:  # CON-6: withdrawn, the erasure task not run yet
            details, refused = None, " ".join(error.messages)
        response = render(
            request,
            "enterprise_data/health/report_detail.html",
            {"report": report, "details": details, "refused": refused},
            status=200 if details is not None else 403 if refused else 410,
        )
        add_never_cache_headers(response)  # revealed details must not sit in a browser cache
        return response


class HealthReportForm(forms.Form):
    """Parses the member's form; the rules (required city, symptoms when unwell, lengths, date
    range) are the service's, whose field errors are shown on this form."""

    date = forms.DateField(label=gettext_lazy("Date"), required=False, widget=date_input())
    city = forms.CharField(label=gettext_lazy("City"), required=False, max_length=64)
    unwell = forms.BooleanField(label=gettext_lazy("I am unwell"), required=False)
    symptoms = forms.CharField(label=gettext_lazy("Symptoms"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    close_contacts = forms.CharField(
        label=gettext_lazy("Close contacts"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    special_circumstances = forms.CharField(
        label=gettext_lazy("Special circumstances"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class MeHealthView(EnterpriseMemberView):
    """/me/health/: today's report (prefilled when already submitted) and the last 14 reports."""

    access = SelfService()

    template_name = "enterprise_data/health/me.html"

    def _render(self, request: HttpRequest, form: HealthReportForm, status: int = 200) -> HttpResponse:
        recent = health_reports_of_member(enterprise=self.enterprise, membership=self.membership)
        return render(
            request, self.template_name, {"form": form, "recent": recent, "today": timezone.localdate()}, status=status
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        today = timezone.localdate()
        report = health_report_of_member_on(enterprise=self.enterprise, membership=self.membership, day=today)
        initial: dict[str, Any] = {"date": today}
        if report is not None:
            try:
                details = health_report_details(enterprise=self.enterprise, report=report)
            except KeyUnavailable:
                details = HealthDetails()
            initial.update(city=report.city, unwell=report.unwell, **details.as_dict())
        return self._render(request, HealthReportForm(initial=initial))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = HealthReportForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                health_report_submit(
                    enterprise=self.enterprise,
                    membership=self.membership,
                    date=data["date"],
                    city=data["city"],
                    unwell=data["unwell"],
                    symptoms=data["symptoms"],
                    close_contacts=data["close_contacts"],
                    special_circumstances=data["special_circumstances"],
                )
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("Your health report has been saved."))
                return redirect("me_health")
        return self._render(request, form, status=400)
