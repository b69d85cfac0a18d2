"""Self-service for members on the enterprise host (`/me/`)."""

from django.http import HttpResponse
from django.shortcuts import render

from biometrics.selectors import enrolments_of
from consent.policy.selectors import policy_status
from core.http import EnterpriseRequest
from core.views import EnterpriseMemberView
from requests.data.views import platform_url
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
                "enrolments": enrolments_of(membership=self.membership),  # metadata only, one query
                "policy_status": policy_status(account=request.user),  # CON-2: a minor version's notice
                "member_enterprise_name": self.enterprise.name,
                # a complaint about the platform (the processor) is an account-data request, on its host
                "platform_complaint_url": platform_url(request, "account_requests", "kind=complaint"),
                "account_deletion_url": platform_url(request, "account_delete"),  # DSR-6, on the public host
            },
        )
