"""Operators' admin (public host) for account-data requests (DSR-3, DSR-4) and the working-day
calendar's overrides.

Requests are read-only here: every change goes through requests.workflow.services.request_decide
— the bulk actions (verify identity, start review) and the per-request "Decide" page (all
decisions, with the refusal ground and a note). Overdue requests stand out in the list, can be
filtered, and are counted on the admin index (templates/admin/index.html)."""

from __future__ import annotations

import threading
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from accounts.masking import mask_mobile
from requests.models import HolidayOverride, Request
from requests.workflow.calendar import WorkingCalendar, library_is_working_day
from requests.workflow.forms import DecisionForm
from requests.workflow.selectors import days_left, request_history, requests_for_operator
from requests.workflow.services import Decision, request_decide

# The working-day calendar of the changelist being rendered (one overrides query per page).
_page = threading.local()


class OverdueFilter(admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "deadline"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("overdue", _("Overdue")), ("running", _("Clock running"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Request]) -> QuerySet[Request]:
        if self.value() == "overdue":
            return queryset.filter(status__in=Request.RUNNING_STATUSES, due_on__lt=timezone.localdate())
        if self.value() == "running":
            return queryset.filter(status__in=Request.RUNNING_STATUSES)
        return queryset


@admin.register(Request)
class RequestAdmin(ModelAdmin):
    list_display = ("number", "kind", "status", "masked_account", "submitted_at", "due_on", "deadline")
    list_filter = (OverdueFilter, "status", "kind")
    list_select_related = ("account",)
    ordering = ("due_on", "submitted_at")
    fields = (
        "kind",
        "status",
        "masked_account",
        "description",
        "submitted_at",
        "verified_at",
        "due_on",
        "paused_on",
        "paused_working_days",
        "refusal_ground",
        "resolution",
        "closed_at",
        "decide",
        "history",
    )
    readonly_fields = fields
    actions = ["verify_identity", "start_review"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Request]:
        return requests_for_operator()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # read-only: decisions go through the actions and the Decide page

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description=_("request"), ordering="pk")
    def number(self, obj: Request) -> str:
        return f"#{obj.pk}"

    @admin.display(description=_("requester"))
    def masked_account(self, obj: Request) -> str:
        return mask_mobile(str(obj.account.mobile))

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        _page.calendar = None
        try:
            response = super().changelist_view(request, extra_context)
            if hasattr(response, "render"):
                response.render()  # while the page's calendar is set
            return response
        finally:
            _page.calendar = None

    @admin.display(description=_("deadline"))
    def deadline(self, obj: Request) -> str:
        """Working days left (DSR-4); overdue in red; paused while awaiting information."""
        today = timezone.localdate()
        if obj.status in Request.RUNNING_STATUSES and obj.due_on is not None and obj.due_on < today:
            return format_html('<strong class="oc-overdue">{}</strong>', _("Overdue"))
        if obj.status in Request.CLOSED_STATUSES or obj.due_on is None:
            return "—"
        if getattr(_page, "calendar", None) is None:
            _page.calendar = WorkingCalendar()
        left = days_left(obj, today=today, calendar=_page.calendar)
        if obj.status == Request.Status.AWAITING_INFORMATION:
            return gettext("Paused (%(n)d working days left)") % {"n": left}
        return gettext("%(n)d working days left") % {"n": left}

    @admin.display(description=_("decide"))
    def decide(self, obj: Request) -> str:
        if not obj.pk or not obj.is_open:
            return "—"
        url = reverse(f"{self.admin_site.name}:requests_request_decide", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Decide"))

    @admin.display(description=_("history"))
    def history(self, obj: Request) -> str:
        if not obj.pk:
            return "—"
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "",
                "<li>{} — {} ({}){}</li>",
                (
                    (
                        timezone.localtime(event.created_at).strftime("%Y-%m-%d %H:%M"),
                        event.get_action_display(),
                        event.get_actor_kind_display(),
                        f": {event.note}" if event.note else "",
                    )
                    for event in request_history(request=obj)
                ),
            ),
        )

    def _bulk(self, request: HttpRequest, queryset: QuerySet[Request], action: str) -> None:
        done = 0
        for row in queryset:
            try:
                request_decide(enterprise=None, request=row, actor=request.user, action=action)  # type: ignore[arg-type]
            except ValidationError as error:
                for errors in error.message_dict.values():
                    for message in errors:
                        self.message_user(request, f"#{row.pk}: {message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, _("%(n)d requests updated.") % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Mark identity verified (starts the 15-working-day clock)"))
    def verify_identity(self, request: HttpRequest, queryset: QuerySet[Request]) -> None:
        self._bulk(request, queryset, Decision.VERIFY)

    @admin.action(description=_("Start review"))
    def start_review(self, request: HttpRequest, queryset: QuerySet[Request]) -> None:
        self._bulk(request, queryset, Decision.START_REVIEW)

    def get_urls(self) -> list[URLPattern]:
        urls: list[URLPattern] = super().get_urls()  # type: ignore[misc]
        return [
            path(
                "<int:object_id>/decide/", self.admin_site.admin_view(self.decide_view), name="requests_request_decide"
            ),
            *urls,
        ]

    def decide_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Every decision on one request: action, refusal ground, note (DSR-3)."""
        row = self.get_queryset(request).filter(pk=object_id).first()
        if row is None:
            raise Http404("No such request.")
        if not self.has_view_permission(request, row) or not request.user.is_staff:
            raise PermissionDenied
        form = DecisionForm(request.POST or None)
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                try:
                    request_decide(
                        enterprise=None,
                        request=row,
                        actor=request.user,  # type: ignore[arg-type]
                        **form.cleaned_data,
                    )
                except ValidationError as error:
                    for field, errors in error.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    self.message_user(request, _("Request #%(id)s updated.") % {"id": row.pk}, messages.SUCCESS)
                    return redirect(reverse(f"{self.admin_site.name}:requests_request_change", args=[row.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "row": row,
            "form": form,
            "history": request_history(request=row),
            "title": _("Decide on request #%(id)s") % {"id": row.pk},
        }
        return TemplateResponse(request, "admin/requests/request/decide.html", context, status=status)


@admin.register(HolidayOverride)
class HolidayOverrideAdmin(ModelAdmin):
    """Dates the holiday library does not know (e.g. a year's make-up working days announced
    after the installed version); an override wins over the library (DSR-4)."""

    list_display = ("date", "is_working_day", "library_says", "note")
    list_filter = ("is_working_day",)
    search_fields = ("note",)
    date_hierarchy = "date"

    @admin.display(description=_("the holiday library says"))
    def library_says(self, obj: HolidayOverride) -> str:
        if obj.date is None:
            return "—"
        return str(_("working day") if library_is_working_day(obj.date) else _("day off"))


from requests.account_deletion import admin as admin_account_deletion  # noqa: E402, F401  (registers the account deletions' admin, DSR-6)
