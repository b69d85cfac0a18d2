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
from django.utils.translation import gettext_lazy as _

from operators.selectors import platform_dashboard
from requests.models import Request
from tenants.models import Enterprise


@dataclass(frozen=True)
class _Link:
    model: str  # "app_label.ModelName"
    icon: str  # a Material Symbols name (served by unfold's static files)
    title: Any  # our own words (lazy), not the model's verbose name: internals' names mean little


# Each group: (title, links), in the order the sidebar shows them.
NAVIGATION: tuple[tuple[Any, tuple[_Link, ...]], ...] = (
    (
        _("Enterprises & people"),
        (
            _Link("tenants.Enterprise", "apartment", _("Enterprises")),
            _Link("tenants.Domain", "language", _("Domains")),
            _Link("accounts.User", "person", _("Accounts")),
            _Link("tenants.TerminationReceipt", "receipt_long", _("Termination receipts")),
            _Link("tenants.PurgeReceipt", "delete_sweep", _("Purge receipts")),
        ),
    ),
    (
        _("Requests & incidents"),
        (
            _Link("requests.Request", "assignment", _("Data-subject requests")),
            _Link("requests.AccountDeletion", "person_remove", _("Account deletions")),
            _Link("incidents.SecurityIncident", "gpp_maybe", _("Security incidents")),
            _Link("requests.HolidayOverride", "event", _("Working-day overrides")),
        ),
    ),
    (
        _("Policies & consent"),
        (
            _Link("consent.PolicyVersion", "policy", _("Privacy policy versions")),
            _Link("consent.PolicyAcceptance", "task_alt", _("Policy acceptances")),
            _Link("consent.GuardianConsent", "family_restroom", _("Guardian consents")),
            _Link("consent.Notification", "notifications", _("Inbox messages")),
        ),
    ),
    (
        _("Advanced"),
        (
            _Link("axes.AccessAttempt", "lock_clock", _("Failed sign-in attempts")),
            _Link("axes.AccessFailureLog", "report", _("Sign-in failure log")),
            _Link("axes.AccessLog", "login", _("Sign-in log")),
            _Link("otp_totp.TOTPDevice", "phonelink_lock", _("Authenticator apps")),
            _Link("otp_static.StaticDevice", "password", _("Recovery codes")),
            _Link("accounts.SmsCode", "sms", _("SMS codes")),
            _Link("django_celery_beat.PeriodicTask", "schedule", _("Scheduled jobs")),
            _Link("django_celery_beat.IntervalSchedule", "timer", _("Interval schedules")),
            _Link("django_celery_beat.CrontabSchedule", "calendar_clock", _("Crontab schedules")),
            _Link("django_celery_beat.ClockedSchedule", "alarm", _("One-off schedules")),
            _Link("django_celery_beat.SolarSchedule", "wb_twilight", _("Solar schedules")),
            _Link("auth.Group", "groups", _("Permission groups")),
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
                    "title": link.title,
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


def favicon(request: HttpRequest) -> str:
    return static("img/favicon.svg")  # the portal's own


def admin_styles(request: HttpRequest) -> str:
    return static("css/operators-console.css")
