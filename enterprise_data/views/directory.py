"""The administrators' console (`/console/`)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from enterprise_data.categories import ANY_CATEGORY, Category
from tenants.views import ConsoleView


class ConsoleHomeView(ConsoleView):
    category = ANY_CATEGORY

    def get(self, request: HttpRequest) -> HttpResponse:
        count = self.scope.members(Category.DIRECTORY, include_invited=False).count() \
            if self.scope.has_category(Category.DIRECTORY) else None
        return render(request, "enterprise_data/console_home.html", {"member_count": count})


class MemberListView(ConsoleView):
    category = Category.DIRECTORY

    def get(self, request: HttpRequest) -> HttpResponse:
        members = self.scope.members(Category.DIRECTORY).select_related("account").order_by("display_name", "id")
        return render(request, "enterprise_data/member_list.html", {"members": members})


class MemberDetailView(ConsoleView):
    category = Category.DIRECTORY

    def get(self, request: HttpRequest, pk: int, **kwargs: Any) -> HttpResponse:
        member = self.scope.member_for(Category.DIRECTORY, pk)
        return render(request, "enterprise_data/member_detail.html", {"member": member})
