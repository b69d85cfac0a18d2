"""The scheduled jobs in the operators' console (issue 17 §5): django-celery-beat's admins with
every label in the reader's language, on the console's theme.

django-celery-beat writes some labels and help texts as plain strings (the task's "Task Name"),
others are marked for translation but its Chinese catalogue lacks or garbles them ("Cron Months
(1-12) Of The Year to Run…" in English, "如果enabled设置为False，则重置为None", a task's name as a
person's "姓名"). Changing the models' fields would change that package's migrations, so, as
operators/otp_admin.py does for django-otp, these admins put our own words in place at the admin
level: form labels and help texts, list columns and read-only values as methods with a
description, list filters with a title, the inline's title.

A crontab's description is cron-descriptor's, in the reader's language (its zh_CN catalogue, the
day and month names from Django's translated calendar, which cron-descriptor takes from the C
locale), followed by the schedule's time zone. The package's change form for a job, which adds an
inline script (blocked by the console's Content-Security-Policy) to show that description, is not
used: the description is a read-only field of the form instead."""

from __future__ import annotations

from typing import Any

from cron_descriptor import (
    ExpressionDescriptor,
    FormatException,
    MissingFieldException,
    Options,
    WrongArgumentException,
)
from django.contrib import admin
from django.http import HttpRequest
from django.utils import translation
from django.utils.dates import MONTHS, WEEKDAYS
from django.utils.translation import gettext_lazy as _
from django_celery_beat.admin import (
    ClockedScheduleAdmin,
    CrontabScheduleAdmin,
    IntervalScheduleAdmin,
    PeriodicTaskAdmin,
    PeriodicTaskInline,
    SolarScheduleAdmin,
    TaskSelectWidget,
)
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
    cronexp,
)
from unfold.admin import ModelAdmin, TabularInline
from unfold.widgets import SELECT_CLASSES, UnfoldAdminTextInputWidget

from operators.admin_labels import TranslatedForm, titled_filter

JOB_LABELS: dict[str, Any] = {
    "name": _("name of the job"),
    "task": _("task"),
    "headers": _("message headers"),
}
JOB_HELP_TEXTS: dict[str, Any] = {
    "name": _("A short name that says what the job is for."),
    "task": _("The registered task the job runs."),
    "args": _("The task's positional arguments as a JSON list; [] for none."),
    "kwargs": _("The task's keyword arguments as a JSON object; {} for none."),
    "queue": _("The queue the task is sent to; empty for the default queue."),
    "exchange": _("Overrides the exchange the task's message is routed through."),
    "routing_key": _("Overrides the routing key of the task's message."),
    "headers": _("Headers of the task's message, as a JSON object."),
    "priority": _("A number from 0 to 255; on this platform's message broker, 0 is the highest."),
    "one_off": _("Ticked: the job runs once, then disables itself."),
    "enabled": _("Untick to pause the job."),
}
CRONTAB_HELP_TEXTS: dict[str, Any] = {
    "minute": _('Minutes of the hour (0-59); "*" for every minute. Example: "0,30".'),
    "hour": _('Hours of the day (0-23); "*" for every hour. Example: "8,20".'),
    "day_of_month": _('Days of the month (1-31); "*" for every day. Example: "1,15".'),
    "month_of_year": _('Months of the year (1-12); "*" for every month. Example: "1,7".'),
    "day_of_week": _('Days of the week (0-6; Sunday is 0 or 7, Monday 1); "*" for every day. Example: "1-5".'),
    "timezone": _("The time zone the schedule's times are read in."),
}
CRON_LOCALES = {"zh-hans": "zh_CN", "en": "en_US"}
ENGLISH_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ENGLISH_MONTHS = (
    *("January", "February", "March", "April", "May", "June", "July"),
    *("August", "September", "October", "November", "December"),
)


def crontab_expression(crontab: CrontabSchedule) -> str:
    """The five cron fields, as the schedule holds them."""
    parts = (crontab.minute, crontab.hour, crontab.day_of_month, crontab.month_of_year, crontab.day_of_week)
    return " ".join(cronexp(part) for part in parts)


def crontab_description(crontab: CrontabSchedule) -> str:
    """What the schedule means, in the active language, then its time zone ("在 03:30
    (Asia/Shanghai)"); the bare expression when cron-descriptor cannot read it."""
    expression = crontab_expression(crontab)
    options = Options()
    options.locale_code = CRON_LOCALES.get(translation.get_language() or "", "en_US")
    options.use_24hour_time_format = True
    try:
        text = ExpressionDescriptor(expression, options).get_description()
    except (FormatException, MissingFieldException, WrongArgumentException):
        text = expression
    for index, english in enumerate(ENGLISH_WEEKDAYS):  # cron-descriptor's come from the C locale
        text = text.replace(english, str(WEEKDAYS[index]))
    for index, english in enumerate(ENGLISH_MONTHS):
        text = text.replace(english, str(MONTHS[index + 1]))
    return f"{text} ({crontab.timezone})"


class OperatorPeriodicTaskInline(PeriodicTaskInline, TabularInline):
    """The jobs on a schedule, read-only, with our column titles."""

    verbose_name = _("job on this schedule")
    verbose_name_plural = _("jobs on this schedule")
    fields = readonly_fields = ("job_name", "job_task", "job_enabled")

    @admin.display(description=_("name of the job"))
    def job_name(self, obj: PeriodicTask) -> str:
        return str(obj.name)

    @admin.display(description=_("task"))
    def job_task(self, obj: PeriodicTask) -> str:
        return str(obj.task)

    @admin.display(description=_("enabled"), boolean=True)
    def job_enabled(self, obj: PeriodicTask) -> bool:
        return bool(obj.enabled)


class UnfoldTaskSelectWidget(TaskSelectWidget):
    """The package's list of registered tasks, drawn as the console's other selects (a plain select
    is as wide as its longest task path: wider than a phone)."""

    template_name = "unfold/widgets/select.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={**(attrs or {}), "class": " ".join(SELECT_CLASSES)})


class OperatorPeriodicTaskAdmin(TranslatedForm, PeriodicTaskAdmin, ModelAdmin):
    labels = JOB_LABELS
    help_texts = JOB_HELP_TEXTS
    change_form_template = None  # the console's form; the package's adds an inline script
    list_display = ("job_name", "enabled", "schedule", "start_time", "last_run", "one_off")
    list_filter = [
        ("enabled", titled_filter(admin.BooleanFieldListFilter, _("enabled"))),
        ("one_off", titled_filter(admin.BooleanFieldListFilter, _("runs once"))),
        ("task", titled_filter(admin.AllValuesFieldListFilter, _("task"))),
        ("start_time", titled_filter(admin.DateFieldListFilter, _("start time"))),
        ("last_run_at", titled_filter(admin.DateFieldListFilter, _("last run"))),
    ]
    search_help_text = _("Search by the job's name or task")
    readonly_fields = ("last_run", "schedule_description")
    # the package's, with our titles (its Chinese catalogue lacks them) and our read-only fields
    fieldsets = (
        (None, {"fields": ("name", "regtask", "task", "enabled", "description")}),
        (
            _("When it runs"),
            {
                "fields": (
                    *("interval", "crontab", "schedule_description", "solar", "clocked"),
                    *("start_time", "last_run", "one_off"),
                ),
            },
        ),
        (_("The task's arguments"), {"fields": ("args", "kwargs"), "classes": ("collapse",)}),
        (
            _("Sending options"),
            {
                "fields": ("expires", "expire_seconds", "queue", "exchange", "routing_key", "priority", "headers"),
                "classes": ("collapse",),
            },
        ),
    )

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        # the package's own form fields, on the console's widgets
        form.base_fields["regtask"].widget = UnfoldTaskSelectWidget()
        form.base_fields["task"].widget = UnfoldAdminTextInputWidget(attrs={"maxlength": 200})
        return form

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> Any:
        # the package's view computes every crontab's English description for its inline script
        return ModelAdmin.changeform_view(self, request, object_id, form_url, extra_context)

    @admin.display(description=_("name of the job"), ordering="name")
    def job_name(self, obj: PeriodicTask) -> str:
        return str(obj.name)

    @admin.display(description=_("schedule"))
    def schedule(self, obj: PeriodicTask) -> str:
        return str(obj.scheduler or "—")

    @admin.display(description=_("last run"), ordering="last_run_at")
    def last_run(self, obj: PeriodicTask) -> Any:
        return obj.last_run_at

    @admin.display(description=_("what the crontab schedule means"))
    def schedule_description(self, obj: PeriodicTask) -> str:
        return crontab_description(obj.crontab) if obj is not None and obj.crontab_id else "—"


class OperatorCrontabScheduleAdmin(TranslatedForm, CrontabScheduleAdmin, ModelAdmin):
    help_texts = CRONTAB_HELP_TEXTS
    inlines = [OperatorPeriodicTaskInline]
    list_display = ("expression", "description")
    fields = ("description", "minute", "hour", "day_of_month", "month_of_year", "day_of_week", "timezone")
    readonly_fields = ("description",)

    @admin.display(description=_("cron expression"))
    def expression(self, obj: CrontabSchedule) -> str:
        return _crontab_str(obj)

    @admin.display(description=_("what it means"))
    def description(self, obj: CrontabSchedule) -> str:
        return crontab_description(obj) if obj is not None and obj.pk else "—"


class OperatorIntervalScheduleAdmin(IntervalScheduleAdmin, ModelAdmin):
    inlines = [OperatorPeriodicTaskInline]


class OperatorClockedScheduleAdmin(ClockedScheduleAdmin, ModelAdmin):
    inlines = [OperatorPeriodicTaskInline]


class OperatorSolarScheduleAdmin(SolarScheduleAdmin, ModelAdmin):
    inlines = [OperatorPeriodicTaskInline]


def _crontab_str(crontab: CrontabSchedule) -> str:
    return f"{crontab_expression(crontab)} ({crontab.timezone})"


def register() -> None:
    """Replace django-celery-beat's registrations (called from operators/admin.py). A crontab
    schedule's name (the change page's title, the job form's choice) loses the package's English
    legend "(m/h/dM/MY/d)": the five fields and the time zone, "30 3 * * 1-5 (Asia/Shanghai)"."""
    CrontabSchedule.__str__ = _crontab_str  # type: ignore[method-assign,assignment]
    for model, model_admin in (
        (PeriodicTask, OperatorPeriodicTaskAdmin),
        (CrontabSchedule, OperatorCrontabScheduleAdmin),
        (IntervalSchedule, OperatorIntervalScheduleAdmin),
        (ClockedSchedule, OperatorClockedScheduleAdmin),
        (SolarSchedule, OperatorSolarScheduleAdmin),
    ):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
        admin.site.register(model, model_admin)
