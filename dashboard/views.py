"""`/console/`: the console home (ENT-12). Any administrator opens it; what it shows depends on
the categories in their scope (ENT-8)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from attendance.selectors import Status as AttendanceStatus
from core.views import ConsoleView
from dashboard.selectors import dashboard_for
from tenants.access import Read
from tenants.categories import ANY_CATEGORY, Category


class ConsoleHomeView(ConsoleView):
    access = Read(ANY_CATEGORY)

    def get(self, request: HttpRequest) -> HttpResponse:
        count = (
            self.scope.members(Category.DIRECTORY, include_invited=False).count()
            if self.scope.has_category(Category.DIRECTORY)
            else None
        )
        dashboard = dashboard_for(enterprise=self.enterprise, scope=self.scope)
        return render(
            request,
            "enterprise_data/dashboard/home.html",
            {"member_count": count, "dashboard": dashboard, "attendance_status": AttendanceStatus},
        )
