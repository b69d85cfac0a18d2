"""Attendance pages (ENT-4): the console's daily overview, a member's last 30 days, geofences and
the policy (category attendance), and the member's own clock-in on /me/.

Geofences and the policy are enterprise-wide settings: every attendance admin may read them, but
only an admin whose attendance scope is the whole enterprise (owner, full admin, or a grant on the
root department) may change them; a scoped admin of one department gets 403."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from attendance.models import ClockEvent, Geofence
from attendance.selectors import (
    Status,
    attendance_days_for_member,
    attendance_overview,
    attendance_today,
    clock_event_for,
    clock_events_for_member,
    geofence_for,
    geofence_list,
)
from attendance.services import (
    attendance_clock,
    attendance_policy_get,
    attendance_policy_update,
    attendance_reveal_location,
    geofence_create,
    geofence_delete,
    geofence_update,
)
from core.views import ConsoleView, EnterpriseMemberView, confirmation_page
from tenants.access import Manage, Read, SelfService
from tenants.categories import Category
from tenants.views import apply_service_errors, safe_next

PAGE_SIZE = 50


# --- forms ---------------------------------------------------------------------------------------


class OverviewForm(forms.Form):
    date = forms.DateField(label=gettext_lazy("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
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
