"""`/console/`: the console home (ENT-12). Any administrator opens it; what it shows depends on
the categories in their scope (ENT-8)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from attendance.selectors import Status as AttendanceStatus
from core.views import ConsoleView
from dashboard.selectors import AttendanceTrend, Dashboard, dashboard_cache_key, dashboard_for
from tenants.access import Read
from tenants.categories import ANY_CATEGORY


class ConsoleHomeView(ConsoleView):
    access = Read(ANY_CATEGORY)

    def get(self, request: HttpRequest) -> HttpResponse:
        fresh = request.GET.get("refresh") == "1"
        dashboard = dashboard_for(enterprise=self.enterprise, scope=self.scope, fresh=fresh)
        return render(
            request,
            "enterprise_data/dashboard/home.html",
            {"dashboard": dashboard, "figures_html": self.figures_html(dashboard)},
        )

    def figures_html(self, dashboard: Dashboard) -> str:
        """The figures' cards, rendered once per figures read and language and kept beside the
        figures for as long as they are (PERF-3: the page's time was rendering ~200 values and
        ~20 links). The entry names the read it was made from (`computed_at`): after a refresh
        or an expiry the figures are new, and so is their rendering."""
        figures_key = dashboard_cache_key(enterprise=self.enterprise, scope=self.scope, today=dashboard.today)
        key = f"{figures_key}:html:{get_language()}"
        seconds = settings.DASHBOARD_CACHE_SECONDS
        kept = cache.get(key) if seconds else None
        if kept is not None and kept[0] == dashboard.computed_at:
            return mark_safe(kept[1])  # noqa: S308 (our own rendering, escaped when it was made)
        html = render_to_string(
            "enterprise_data/dashboard/_figures.html",
            {
                "member_count": dashboard.members,
                "dashboard": dashboard,
                "attendance_status": AttendanceStatus,
                "attendance_chart": trend_chart(dashboard.attendance_trend),
                "attendance_trend_rows": trend_rows_html(dashboard.attendance_trend),
            },
        )
        if seconds:
            cache.set(key, (dashboard.computed_at, str(html)), timeout=seconds + 5)
        return html


def trend_chart(trend: AttendanceTrend | None) -> dict[str, Any] | None:
    """The chart spec of the attendance trend (docs/frontend.md "Charts")."""
    if trend is None:
        return None
    return {
        "kind": "line",
        "x": [day.strftime("%m-%d") for day, _figures in trend.days],
        "series": [
            {"name": _("Late"), "data": [figures.late for _day, figures in trend.days], "tone": "orange"},
            {"name": _("Absent"), "data": [figures.absent for _day, figures in trend.days], "tone": "red"},
            {
                "name": _("Out of range"),
                "data": [figures.out_of_range for _day, figures in trend.days],
                "tone": "purple",
            },
        ],
    }


def trend_rows_html(trend: AttendanceTrend | None) -> SafeString:
    """The trend's figures table body: dates and integers only (nothing to escape), built here
    rather than through ~150 template lookups (PERF-3: the page's time was rendering)."""
    if trend is None:
        return mark_safe("")
    return mark_safe(  # noqa: S308 (dates and ints)
        "".join(
            f"<tr><td>{day:%Y-%m-%d}</td><td>{int(f.late)}</td><td>{int(f.absent)}</td><td>{int(f.out_of_range)}</td></tr>"
            for day, f in trend.days
        )
    )
