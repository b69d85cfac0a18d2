"""Self-service for members on the enterprise host (`/me/`)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenants.views import EnterpriseMemberView


class MeView(EnterpriseMemberView):
    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "requests/me.html", {"member": self.membership})
