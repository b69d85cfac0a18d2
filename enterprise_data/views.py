"""The administrators' console (`/console/`)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from enterprise_data.selectors import get_membership_for, membership_list
from tenants.views import ConsoleView


class ConsoleHomeView(ConsoleView):
    def get(self, request: HttpRequest) -> HttpResponse:
        members = membership_list(enterprise=self.enterprise, actor=self.membership)
        return render(request, "enterprise_data/console_home.html", {"member_count": members.count()})


class MemberListView(ConsoleView):
    def get(self, request: HttpRequest) -> HttpResponse:
        members = membership_list(enterprise=self.enterprise, actor=self.membership)
        return render(request, "enterprise_data/member_list.html", {"members": members})


class MemberDetailView(ConsoleView):
    def get(self, request: HttpRequest, pk: int, **kwargs: Any) -> HttpResponse:
        member = get_membership_for(enterprise=self.enterprise, actor=self.membership, pk=pk)
        return render(request, "enterprise_data/member_detail.html", {"member": member})
