"""Health reports (ENT-5): the console's summary and named list (category health, ENT-8) and the
member's daily report form on /me/health/."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent.consents.services import ConsentRequired
from core.encryption import KeyUnavailable
from core.views import ConsoleView, EnterpriseMemberView
from health.selectors import (
    health_report_for_admin,
    health_report_of_member_on,
    health_reports_for_admin,
    health_reports_of_member,
    health_summary,
)
from health.services import HealthDetails, health_report_details, health_report_reveal, health_report_submit
from tenants.access import Manage, Read, SelfService
from tenants.categories import Category


class DayForm(forms.Form):
    date = forms.DateField(label=gettext_lazy("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


def _day(request: HttpRequest) -> tuple[datetime.date, DayForm]:
    """The day asked for in ?date= (today when absent or invalid; the form shows the error)."""
    today = timezone.localdate()
    form = DayForm(request.GET) if "date" in request.GET else DayForm(initial={"date": today})
    if form.is_bound and form.is_valid() and form.cleaned_data["date"]:
        return form.cleaned_data["date"], form
    return today, form


class RevealForm(forms.Form):
    purpose = forms.CharField(label=gettext_lazy("Purpose"), required=False, max_length=200)


class HealthSummaryView(ConsoleView):
    """Aggregates per department for one day: counts and cities, no names."""

    access = Read(Category.HEALTH)

    def get(self, request: HttpRequest) -> HttpResponse:
        day, form = _day(request)
        summary = health_summary(enterprise=self.enterprise, scope=self.scope, day=day)
        return render(request, "enterprise_data/health/summary.html", {"summary": summary, "day": day, "form": form})


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

    date = forms.DateField(label=gettext_lazy("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
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
