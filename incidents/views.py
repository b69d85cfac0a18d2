"""Incident pages (SEC-4): `/incidents/<id>/` on every host for an affected account, and the
console's `/console/incidents/` list of incidents that concern the enterprise."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View

from core.views import ConsoleView
from incidents.services import incidents_for_account, incidents_for_enterprise
from tenants.access import Account, Read
from tenants.categories import ANY_CATEGORY
from tenants.views import in_chinese


class IncidentDetailView(LoginRequiredMixin, View):
    """An incident the signed-in account is affected by; on an enterprise host, also one that
    concerns that enterprise for its administrators. Anything else is 404."""

    access = Account()

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        incident = incidents_for_account(account=request.user).filter(pk=pk).first()  # type: ignore[arg-type]
        enterprise = getattr(request, "enterprise", None)
        membership = getattr(request, "membership", None)
        if incident is None and enterprise is not None and membership and membership.is_admin:
            incident = incidents_for_enterprise(enterprise=enterprise).filter(pk=pk).first()
        if incident is None:
            raise Http404("No such incident.")
        return render(request, "incidents/detail.html", {"incident": incident, "zh": in_chinese()})


class ConsoleIncidentListView(ConsoleView):
    access = Read(ANY_CATEGORY)

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(
            request,
            "incidents/console_list.html",
            {"incidents": list(incidents_for_enterprise(enterprise=self.enterprise)[:100]), "zh": in_chinese()},
        )
