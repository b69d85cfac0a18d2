"""Attendance pages (ENT-4): the console's daily overview, a member's last 30 days and month
calendar, the statistics with their Excel export (ENT-12), geofences and the policy (category
attendance), and the member's own clock-in on /me/.

Geofences and the policy are enterprise-wide settings: every attendance admin may read them, but
only an admin whose attendance scope is the whole enterprise (owner, full admin, or a grant on the
root department) may change them; a scoped admin of one department gets 403."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from attendance.models import ClockEvent, Geofence
from attendance.selectors import (
    DayStatus,
    Granularity,
    MemberStatistics,
    PeriodRow,
    Statistics,
    Status,
    attendance_days_for_member,
    attendance_month,
    attendance_overview,
    attendance_statistics,
    attendance_today,
    clock_event_for,
    clock_events_for_member,
    geofence_for,
    geofence_list,
    month_start,
    statistics_range_check,
    statistics_window,
)
from attendance.services import (
    attendance_clock,
    attendance_policy_get,
    attendance_policy_update,
    attendance_reveal_location,
    attendance_statistics_export,
    geofence_create,
    geofence_delete,
    geofence_update,
)
from core.models import Department
from core.scopes import AdminScope
from core.views import ConsoleView, EnterpriseMemberView, confirmation_page
from tenants.access import Manage, Read, SelfService
from tenants.categories import Category
from tenants.spreadsheets import xlsx_response
from tenants.views import apply_service_errors, safe_next

PAGE_SIZE = 50


# --- forms ---------------------------------------------------------------------------------------


class OverviewForm(forms.Form):
    date = forms.DateField(
        label=gettext_lazy("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    exceptions_only = forms.BooleanField(label=gettext_lazy("Exceptions only"), required=False)
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[
            ("", gettext_lazy("Everyone")),
            (Status.ON_TIME, gettext_lazy("On time")),
            (Status.LATE, gettext_lazy("Late")),
            (Status.OUT_OF_RANGE, gettext_lazy("Out of range")),
            (Status.NOT_CLOCKED_IN, gettext_lazy("Not clocked in")),
        ],
    )


GRANULARITY_CHOICES = [
    (Granularity.DAY, gettext_lazy("Day")),
    (Granularity.WEEK, gettext_lazy("Week")),
    (Granularity.MONTH, gettext_lazy("Month")),
]
ISO_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class DepartmentChoiceField(forms.ModelChoiceField):
    """Departments indented by depth (the tree order of their paths)."""

    def label_from_instance(self, obj: Any) -> str:
        return "\u3000" * obj.depth + obj.name


class StatisticsForm(forms.Form):
    """The statistics' filters (GET on the page, the same fields POSTed by the export): the range
    defaults to this month so far; at most MAX_STATISTICS_DAYS days, none after today; the
    department is one of the admin's attendance scope (its subtree is counted)."""

    granularity = forms.ChoiceField(label=gettext_lazy("Period"), choices=GRANULARITY_CHOICES, required=False)
    date_from = forms.DateField(label=gettext_lazy("From"), required=False, widget=ISO_DATE)
    date_to = forms.DateField(label=gettext_lazy("To"), required=False, widget=ISO_DATE)
    department = DepartmentChoiceField(
        label=gettext_lazy("Department"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=gettext_lazy("All departments in your scope"),
    )

    def __init__(self, *args: Any, scope: AdminScope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["department"]
        assert isinstance(field, DepartmentChoiceField)
        field.queryset = scope.departments(Category.ATTENDANCE).order_by("path")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        today = timezone.localdate(timezone=timezone.get_default_timezone())
        date_to = data.get("date_to") or today
        date_from = data.get("date_from") or date_to.replace(day=1)
        try:
            statistics_range_check(date_from=date_from, date_to=date_to, today=today)
        except ValidationError as error:
            for field, messages_ in error.message_dict.items():
                for message in messages_:
                    self.add_error(field, message)
            return data
        data.update(date_from=date_from, date_to=date_to, granularity=data.get("granularity") or Granularity.DAY)
        return data


class GeofenceForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    latitude = forms.FloatField(label=gettext_lazy("Latitude"))
    longitude = forms.FloatField(label=gettext_lazy("Longitude"))
    radius_m = forms.IntegerField(label=gettext_lazy("Radius (m)"), initial=200)
    wifi_bssids = forms.CharField(
        label=gettext_lazy("Wi-Fi BSSIDs"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One per line, like 00:11:22:aa:bb:cc."),
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def bssids(self) -> list[str]:
        text = self.cleaned_data.get("wifi_bssids") or ""
        return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


class PolicyForm(forms.Form):
    work_starts = forms.TimeField(label=gettext_lazy("Work starts"), widget=forms.TimeInput(attrs={"type": "time"}))
    work_ends = forms.TimeField(label=gettext_lazy("Work ends"), widget=forms.TimeInput(attrs={"type": "time"}))
    late_after_minutes = forms.IntegerField(label=gettext_lazy("Late after (minutes)"))


class ClockForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Clock"), choices=ClockEvent.Kind.choices)
    latitude = forms.FloatField(label=gettext_lazy("Latitude"), required=False)
    longitude = forms.FloatField(label=gettext_lazy("Longitude"), required=False)
    accuracy_m = forms.FloatField(label=gettext_lazy("Accuracy (m)"), required=False)


# --- console -------------------------------------------------------------------------------------


class AttendanceView(ConsoleView):
    access = Read(Category.ATTENDANCE)


class AttendanceOverviewView(AttendanceView):
    """The daily overview: members in scope with first in, last out and exceptions."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form = OverviewForm(request.GET or None)
        today = timezone.localdate(timezone=timezone.get_default_timezone())
        day: date = today
        exceptions_only = False
        status = ""
        if form.is_bound and form.is_valid():
            day = form.cleaned_data["date"] or today
            exceptions_only = form.cleaned_data["exceptions_only"]
            status = form.cleaned_data["status"]
        rows = attendance_overview(scope=self.scope, day=day, exceptions_only=exceptions_only, status=status)
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        members = list(page.object_list)
        query = request.GET.copy()
        query.pop("page", None)
        return render(
            request,
            "enterprise_data/attendance/overview.html",
            {
                "form": form,
                "day": day,
                "page": page,
                "rows": members,
                "exceptions_only": exceptions_only,
                "status": status,
                "query": query.urlencode(),
            },
        )


class AttendanceMemberView(AttendanceView):
    """One member's last 30 days: daily records and clock events (raw coordinates on request)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        member = self.scope.member_for(Category.ATTENDANCE, pk)
        return render(
            request,
            "enterprise_data/attendance/member.html",
            {
                "member": member,
                "days": attendance_days_for_member(membership=member),
                "events": clock_events_for_member(membership=member),
            },
        )


def period_label(start: date, granularity: str) -> str:
    """A period as people read it: a day, the Monday of a week, a month."""
    if granularity == Granularity.MONTH:
        return start.strftime("%Y-%m")
    if granularity == Granularity.WEEK:
        return _("Week of %(date)s") % {"date": start.isoformat()}
    return start.isoformat()


def trend_chart(statistics: Statistics) -> dict[str, Any]:
    """Late, absent and out of range per period (the spec of {% chart %})."""
    periods = statistics.periods
    granularity = statistics.window.granularity
    return {
        "kind": "bar" if len(periods) <= 2 else "line",
        "x": [
            row.start.strftime("%Y-%m") if granularity == Granularity.MONTH else row.start.strftime("%m-%d")
            for row in periods
        ],
        "series": [
            {"name": _("Late"), "data": [row.figures.late for row in periods], "tone": "orange"},
            {"name": _("Absent"), "data": [row.figures.absent for row in periods], "tone": "red"},
            {"name": _("Out of range"), "data": [row.figures.out_of_range for row in periods], "tone": "blue"},
        ],
    }


DEPARTMENT_CHART_LIMIT = 20


def department_chart(statistics: Statistics) -> dict[str, Any] | None:
    """Late, absent and out of range per department subtree, stacked (None past
    DEPARTMENT_CHART_LIMIT departments: the table alone stays readable)."""
    rows = statistics.departments[::-1]  # a horizontal axis starts at the bottom: the tree reads downwards
    if not rows or len(rows) > DEPARTMENT_CHART_LIMIT:
        return None
    return {
        "kind": "stacked",
        "horizontal": True,
        "x": [row.name for row in rows],
        "series": [
            {"name": _("Late"), "data": [row.figures.late for row in rows], "tone": "orange"},
            {"name": _("Absent"), "data": [row.figures.absent for row in rows], "tone": "red"},
            {"name": _("Out of range"), "data": [row.figures.out_of_range for row in rows], "tone": "blue"},
        ],
    }


def _filters_query(window_data: dict[str, Any]) -> str:
    department = window_data.get("department")
    return urlencode(
        {
            "granularity": window_data["granularity"],
            "date_from": window_data["date_from"].isoformat(),
            "date_to": window_data["date_to"].isoformat(),
            **({"department": department.pk} if department is not None else {}),
        }
    )


class AttendanceStatisticsView(AttendanceView):
    """Statistics over a date range (ENT-12): headline figures, the trend per day, week or month,
    a table per department subtree and one per member, all within the admin's scope."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form = StatisticsForm(request.GET or None, scope=self.scope)
        if not form.is_bound:
            form = StatisticsForm({}, scope=self.scope)
        return self.render_page(request, form)

    def render_page(self, request: HttpRequest, form: StatisticsForm) -> HttpResponse:
        if not form.is_valid():
            return render(request, "enterprise_data/attendance/statistics.html", {"form": form}, status=400)
        data = form.cleaned_data
        form.data = {  # the filters in effect (defaults filled in) are what the panel shows
            "granularity": data["granularity"],
            "date_from": data["date_from"].isoformat(),
            "date_to": data["date_to"].isoformat(),
            "department": data["department"].pk if data["department"] is not None else "",
        }
        window = statistics_window(
            date_from=data["date_from"],
            date_to=data["date_to"],
            granularity=data["granularity"],
            department=data["department"],
            work_ends=attendance_policy_get(enterprise=self.enterprise).work_ends,
        )
        statistics = attendance_statistics(scope=self.scope, window=window)
        rows: Any = MemberStatistics(scope=self.scope, window=window)  # a lazy sequence: count(), slices
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        filters = _filters_query(data)
        return render(
            request,
            "enterprise_data/attendance/statistics.html",
            {
                "form": form,
                "window": window,
                "statistics": statistics,
                "total": statistics.total,
                "periods": [(period_label(row.start, window.granularity), row) for row in statistics.periods],
                "chart": trend_chart(statistics),
                "department_chart": department_chart(statistics),
                "page": page,
                "members": page.object_list,
                "filters": filters,
                "calendar_month": window.date_to.strftime("%Y-%m"),
                "can_export": self.may(AttendanceStatisticsExportView),
            },
        )


def statistics_sheets(
    statistics: Statistics, members: list[Any], days: list[PeriodRow]
) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The export's sheets (headers in the reader's language): per department, per member, per
    day, and per week or month when that is the chosen period."""
    figures_header = [
        _("Clock-ins"),
        _("On time"),
        _("Late"),
        _("Absent"),
        _("Out of range"),
        _("Working days due"),
    ]

    def figures(f: Any) -> list[int]:
        return [f.clock_ins, f.on_time, f.late, f.absent, f.out_of_range, f.due]

    sheets = [
        (
            _("By department"),
            [_("Department"), _("Members"), *figures_header],
            [["\u3000" * row.depth + row.name, row.members, *figures(row.figures)] for row in statistics.departments],
        ),
        (
            _("By member"),
            [_("Name"), *figures_header],
            [[row.display_name, *figures(row.figures)] for row in members],
        ),
        (_("By day"), [_("Date"), *figures_header], [[row.start, *figures(row.figures)] for row in days]),
    ]
    granularity = statistics.window.granularity
    if granularity != Granularity.DAY:
        sheets.append(
            (
                _("By week") if granularity == Granularity.WEEK else _("By month"),
                [_("Week starting (Monday)") if granularity == Granularity.WEEK else _("Month"), *figures_header],
                [
                    [
                        row.start if granularity == Granularity.WEEK else row.start.strftime("%Y-%m"),
                        *figures(row.figures),
                    ]
                    for row in statistics.periods
                ],
            )
        )
    return sheets


class AttendanceStatisticsExportView(AttendanceView):
    """POST: the statistics of the filters sent as an .xlsx (sheets per department, per member,
    per day), recorded in the ledger (ENT-10). GET is not allowed (405)."""

    access = Manage(Category.ATTENDANCE)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = StatisticsForm(request.POST, scope=self.scope)
        if not form.is_valid():
            return render(request, "enterprise_data/attendance/statistics.html", {"form": form}, status=400)
        data = form.cleaned_data
        window = statistics_window(
            date_from=data["date_from"],
            date_to=data["date_to"],
            granularity=data["granularity"],
            department=data["department"],
            work_ends=attendance_policy_get(enterprise=self.enterprise).work_ends,
        )
        export = attendance_statistics_export(
            enterprise=self.enterprise, actor=self.membership, scope=self.scope, window=window
        )
        filename = f"attendance-{window.date_from:%Y%m%d}-{window.date_to:%Y%m%d}.xlsx"
        return xlsx_response(filename, statistics_sheets(export.statistics, export.members, export.days))


DAY_STATUS_LABELS = {
    DayStatus.ON_TIME: gettext_lazy("On time"),
    DayStatus.LATE: gettext_lazy("Late"),
    DayStatus.ABSENT: gettext_lazy("Absent"),
    DayStatus.NOT_YET: gettext_lazy("Not yet clocked in"),
    DayStatus.OFF: gettext_lazy("Rest day"),
    DayStatus.NOT_JOINED: gettext_lazy("Not yet a member"),
}


def _month_param(value: str | None) -> date | None:
    try:
        return datetime.strptime(value or "", "%Y-%m").date()
    except ValueError:
        return None


class AttendanceCalendarView(AttendanceView):
    """A member's month as a calendar (Monday first): each day on time, late, absent, out of
    range or no clock-in needed, with the times; `?month=YYYY-MM` (default: this month)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        member = self.scope.member_for(Category.ATTENDANCE, pk)
        today = timezone.localdate(timezone=timezone.get_default_timezone())
        month = _month_param(request.GET.get("month"))
        if month is None or month > today:
            month = month_start(today)
        calendar = attendance_month(
            membership=member, month=month, work_ends=attendance_policy_get(enterprise=self.enterprise).work_ends
        )
        return render(
            request,
            "enterprise_data/attendance/calendar.html",
            {
                "member": member,
                "calendar": calendar,
                "weeks": [[(cell, DAY_STATUS_LABELS.get(cell.status, "")) for cell in week] for week in calendar.weeks],
                "weekdays": [
                    pgettext("weekday", "Mon"),
                    pgettext("weekday", "Tue"),
                    pgettext("weekday", "Wed"),
                    pgettext("weekday", "Thu"),
                    pgettext("weekday", "Fri"),
                    pgettext("weekday", "Sat"),
                    pgettext("weekday", "Sun"),
                ],
            },
        )


class ClockEventRevealView(AttendanceView):
    """POST: show an event's raw coordinates (recorded in the ledger as a reveal)."""

    access = Manage(Category.ATTENDANCE)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        event = clock_event_for(scope=self.scope, pk=pk)
        try:
            coordinates = attendance_reveal_location(
                enterprise=self.enterprise,
                actor=self.membership,
                event=event,
                purpose=(request.POST.get("purpose") or "")[:200],
            )
            error = None
        except ValidationError as exc:
            coordinates, error = None, " ".join(exc.messages)
        context = {"event": event, "coordinates": coordinates, "error": error}
        if getattr(request, "htmx", False):  # htmx swaps only 2xx answers: the error is shown in place
            return render(request, "enterprise_data/attendance/_coordinates.html", context)
        return render(request, "enterprise_data/attendance/reveal.html", context, status=200 if error is None else 400)


class GeofenceListView(AttendanceView):
    def get(self, request: HttpRequest) -> HttpResponse:
        return render(
            request,
            "enterprise_data/attendance/geofences.html",
            {
                "geofences": geofence_list(),
                "can_manage": self.may(GeofenceCreateView),
            },
        )


class GeofenceCreateView(AttendanceView):
    access = Manage(Category.ATTENDANCE, enterprise_wide=True, form=True)

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "enterprise_data/attendance/geofence_form.html", {"form": GeofenceForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = GeofenceForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                geofence_create(
                    enterprise=self.enterprise,
                    actor=self.membership,
                    name=data["name"],
                    latitude=data["latitude"],
                    longitude=data["longitude"],
                    radius_m=data["radius_m"],
                    wifi_bssids=form.bssids(),
                    is_active=data["is_active"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("The geofence was created."))
                return redirect("console_geofences")
        return render(request, "enterprise_data/attendance/geofence_form.html", {"form": form}, status=400)


class GeofenceEditView(AttendanceView):
    access = Manage(Category.ATTENDANCE, enterprise_wide=True, form=True)

    def _initial(self, geofence: Geofence) -> dict[str, Any]:
        return {
            "name": geofence.name,
            "latitude": geofence.latitude,
            "longitude": geofence.longitude,
            "radius_m": geofence.radius_m,
            "wifi_bssids": "\n".join(geofence.wifi_bssids or []),
            "is_active": geofence.is_active,
        }

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        geofence = geofence_for(scope=self.scope, pk=pk)
        return render(
            request,
            "enterprise_data/attendance/geofence_form.html",
            {
                "form": GeofenceForm(initial=self._initial(geofence)),
                "geofence": geofence,
            },
        )

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        geofence = geofence_for(scope=self.scope, pk=pk)
        form = GeofenceForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                geofence_update(
                    enterprise=self.enterprise,
                    actor=self.membership,
                    geofence=geofence,
                    name=data["name"],
                    latitude=data["latitude"],
                    longitude=data["longitude"],
                    radius_m=data["radius_m"],
                    wifi_bssids=form.bssids(),
                    is_active=data["is_active"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("The geofence was saved."))
                return redirect("console_geofences")
        return render(
            request, "enterprise_data/attendance/geofence_form.html", {"form": form, "geofence": geofence}, status=400
        )


class GeofenceDeleteView(AttendanceView):
    access = Manage(Category.ATTENDANCE, enterprise_wide=True, form=True)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render(
            request,
            "enterprise_data/attendance/geofence_delete.html",
            {"geofence": geofence_for(scope=self.scope, pk=pk)},
        )

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        geofence = geofence_for(scope=self.scope, pk=pk)
        unconfirmed = confirmation_page(
            request,
            _("Delete the geofence %(name)s? Later clock-ins are no longer checked against it.")
            % {"name": geofence.name},
            cancel_url=reverse("console_geofences"),
        )
        if unconfirmed is not None:
            return unconfirmed
        geofence_delete(enterprise=self.enterprise, actor=self.membership, geofence=geofence)
        messages.success(request, _("The geofence was deleted."))
        return redirect("console_geofences")


class AttendancePolicyView(AttendanceView):
    access = Manage(Category.ATTENDANCE, enterprise_wide=True)

    def get(self, request: HttpRequest) -> HttpResponse:
        policy = attendance_policy_get(enterprise=self.enterprise)
        form = PolicyForm(
            initial={
                "work_starts": policy.work_starts,
                "work_ends": policy.work_ends,
                "late_after_minutes": policy.late_after_minutes,
            }
        )
        return render(request, "enterprise_data/attendance/policy.html", {"form": form, "can_manage": self.may()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PolicyForm(request.POST)
        if form.is_valid():
            try:
                attendance_policy_update(enterprise=self.enterprise, actor=self.membership, **form.cleaned_data)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("The attendance policy was saved."))
                return redirect("console_attendance_policy")
        return render(request, "enterprise_data/attendance/policy.html", {"form": form, "can_manage": True}, status=400)


# --- self-service (/me/) ---------------------------------------------------------------------------


class MyAttendanceView(EnterpriseMemberView):
    """The member's own last 30 days and today's clock-in form."""

    access = SelfService()

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_page(request, ClockForm())

    def render_page(self, request: HttpRequest, form: ClockForm, status: int = 200) -> HttpResponse:
        return render(
            request,
            "enterprise_data/attendance/me.html",
            {
                "member": self.membership,
                "days": attendance_days_for_member(membership=self.membership),
                "today_record": attendance_today(membership=self.membership),
                "clock_form": form,
            },
            status=status,
        )


class MyClockView(MyAttendanceView):
    """POST: the member clocks in or out from the browser (source: app, with the browser's
    location or coordinates typed in). Not an admin instruction, so no ledger entry."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return redirect("me_attendance")

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ClockForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                event = attendance_clock(
                    enterprise=self.enterprise,
                    membership=self.membership,
                    kind=data["kind"],
                    source=ClockEvent.Source.APP,
                    latitude=data["latitude"],
                    longitude=data["longitude"],
                    accuracy_m=data["accuracy_m"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                if event.within_geofence:
                    text = _("Clocked in.") if event.kind == ClockEvent.Kind.IN else _("Clocked out.")
                else:
                    text = (
                        _("Clocked in, outside the office's range.")
                        if event.kind == ClockEvent.Kind.IN
                        else _("Clocked out, outside the office's range.")
                    )
                messages.success(request, text)
                return redirect(safe_next(request, request.POST.get("next")) or reverse("me_attendance"))
        return self.render_page(request, form, status=400)
