"""Self-service for members on the enterprise host (`/me/`)."""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from consent.policy.selectors import policy_status
from core.http import EnterpriseRequest
from core.views import EnterpriseMemberView
from requests.data.views import platform_url
from requests.today import me_today
from tenants.access import SelfService


class MeView(EnterpriseMemberView):
    """The member's own page; each sub-domain's section gets what it shows from its selectors."""

    access = SelfService()

    def get(self, request: EnterpriseRequest) -> HttpResponse:
        return render(
            request,
            "requests/me.html",
            {
                "member": self.membership,
                # the four sections (attendance, health, consents, biometrics) in one query
                "today": me_today(membership=self.membership, today=timezone.localdate()),
                "policy_status": policy_status(account=request.user),  # CON-2: a minor version's notice
                "member_enterprise_name": self.enterprise.name,
                # a complaint about the platform (the processor) is an account-data request, on its host
                "platform_complaint_url": platform_url(request, "account_requests", "kind=complaint"),
                "account_deletion_url": platform_url(request, "account_delete"),  # DSR-6, on the public host
            },
        )
