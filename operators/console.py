"""The operators' console: django-unfold's hooks (settings.UNFOLD, docs/operators-console.md).

- `sidebar_navigation`: the sidebar's groups — the platform's own records first (enterprises and
  people; requests and incidents; policies and consent), the internals (sign-in lockouts, second
  factors, SMS codes, scheduled jobs, groups) under "Advanced"; each link only for an operator who
  may view that model.
- `dashboard_callback`: the admin index's figures and charts (operators.selectors).
- `admin_styles`: the dashboard's few classes (static/css/operators-console.css); the index page
  alone loads the project's chart library (templates/charts_js.html). Nothing from outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.http import HttpRequest
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from operators.selectors import platform_dashboard
from requests.models import Request
from tenants.models import Enterprise


@dataclass(frozen=True)
class _Link:
    model: str  # "app_label.ModelName"
    icon: str  # a Material Symbols name (served by unfold's static files)


# Each group: (title, links). Titles are the models' own verbose_name_plural (translated there).
NAVIGATION: tuple[tuple[Any, tuple[_Link, ...]], ...] = (
    (
        _("Enterprises & people"),
        (
            _Link("tenants.Enterprise", "apartment"),
            _Link("tenants.Domain", "language"),
            _Link("accounts.User", "person"),
            _Link("tenants.TerminationReceipt", "receipt_long"),
            _Link("tenants.PurgeReceipt", "delete_sweep"),
        ),
    ),
    (
        _("Requests & incidents"),
        (
            _Link("requests.Request", "assignment"),
            _Link("requests.AccountDeletion", "person_remove"),
            _Link("incidents.SecurityIncident", "gpp_maybe"),
            _Link("requests.HolidayOverride", "event"),
        ),
    ),
    (
        _("Policies & consent"),
        (
            _Link("consent.PolicyVersion", "policy"),
            _Link("consent.PolicyAcceptance", "task_alt"),
            _Link("consent.GuardianConsent", "family_restroom"),
            _Link("consent.Notification", "notifications"),
        ),
    ),
    (
        _("Advanced"),
        (
            _Link("axes.AccessAttempt", "lock_clock"),
            _Link("axes.AccessFailureLog", "report"),
            _Link("axes.AccessLog", "login"),
            _Link("otp_totp.TOTPDevice", "phonelink_lock"),
            _Link("otp_static.StaticDevice", "password"),
            _Link("accounts.SmsCode", "sms"),
            _Link("django_celery_beat.PeriodicTask", "schedule"),
            _Link("django_celery_beat.IntervalSchedule", "timer"),
            _Link("django_celery_beat.CrontabSchedule", "calendar_clock"),
            _Link("django_celery_beat.ClockedSchedule", "alarm"),
            _Link("django_celery_beat.SolarSchedule", "wb_twilight"),
            _Link("auth.Group", "groups"),
        ),
    ),
)


def _may_view(model: Any) -> Any:
    opts = model._meta
    codenames = (f"{opts.app_label}.view_{opts.model_name}", f"{opts.app_label}.change_{opts.model_name}")
    return lambda request: request.user.is_active and any(request.user.has_perm(name) for name in codenames)


def sidebar_navigation(request: HttpRequest) -> list[dict[str, Any]]:
    """The sidebar's groups (unfold's SIDEBAR.navigation), each link only where it resolves."""
    groups: list[dict[str, Any]] = [
        {
            "items": [
                {
                    "title": _("Dashboard"),
                    "icon": "dashboard",
                    "link": reverse("admin:index", urlconf=getattr(request, "urlconf", None)),
                }
            ],
        }
    ]
    for title, links in NAVIGATION:
        items = []
        for link in links:
            model = apps.get_model(link.model)
            opts = model._meta
            try:
                url = reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_changelist", urlconf=getattr(request, "urlconf", None)
                )
            except NoReverseMatch:  # not registered in the admin
                continue
            items.append(
                {
                    "title": capfirst(opts.verbose_name_plural),
                    "icon": link.icon,
                    "link": url,
                    "permission": _may_view(model),
                }
            )
        groups.append({"title": title, "separator": True, "collapsible": title == NAVIGATION[-1][0], "items": items})
    return groups


def dashboard_callback(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    """The admin index's dashboard (templates/admin/index.html): figures and chart specs (data
    only, drawn by static/js/charts.js), only for staff (the admin lets no one else in)."""
    if not (request.user.is_active and request.user.is_staff):
        return context
    figures = platform_dashboard()
    states = [(label, figures.enterprises_by_state[value]) for value, label in Enterprise.State.choices]
    statuses = [(label, figures.requests.by_status[value]) for value, label in Request.Status.choices]
    purges = [(date_format(day, "m-d"), n) for day, n in figures.purges_by_day]
    context.update(
        {
            "dashboard": figures,
            "enterprise_states": states,
            "request_statuses": statuses,
            "purge_days": purges,
            "enterprises_chart": _bar([label for label, _n in states], _("Enterprises"), [n for _l, n in states]),
            "requests_chart": _bar(
                [label for label, _n in statuses], _("Requests"), [n for _l, n in statuses], horizontal=True
            ),
            "purges_chart": _bar([day for day, _n in purges], _("Purge receipts"), [n for _d, n in purges]),
        }
    )
    return context


def _bar(x: list[Any], name: Any, data: list[int], *, horizontal: bool = False) -> dict[str, Any]:
    """A one-series bar chart's spec for `{% chart %}` (docs/frontend.md "Charts")."""
    return {
        "kind": "bar",
        "x": [str(label) for label in x],
        "horizontal": horizontal,
        "series": [{"name": str(name), "data": data, "tone": "blue"}],
    }


def admin_styles(request: HttpRequest) -> str:
    return static("css/operators-console.css")
