"""CON-3: a member who has not acknowledged the enterprise's current notice is sent to
`/me/notice/` (a 403 with code `notice_acknowledgement_required` on the API) until they do;
NOTICE_ALLOWED_PREFIXES stay reachable."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from consent.policy.middleware import ALLOWED_PREFIXES

# Reachable while a member has not acknowledged the enterprise's current notice: the notice
# itself, the policy, signing out, language, assets, the inbox, and devices (not members).
NOTICE_ALLOWED_PREFIXES = (
    *ALLOWED_PREFIXES,
    "/notice/",
    "/me/notice/",
    "/api/v1/me/notice/",
    "/me/inbox/",
    "/api/v1/me/notifications/",
    "/api/device/",
)


class NoticeInterstitialMiddleware:
    """CON-3: a member who has not acknowledged their enterprise's current notice (joining, or
    after a new version) is sent to it — on the API, 403 with code `notice_acknowledgement_required`
    — until they do. No query: both version numbers are already loaded (tenant and membership).
    Runs after core.middleware.EnterpriseAccessMiddleware, which sets `request.membership`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = getattr(request, "membership", None)
        enterprise = getattr(request, "enterprise", None)
        if (
            request.user.is_authenticated
            and enterprise is not None
            and membership
            and membership.notice_acknowledged < enterprise.notice_version
            and not request.path.startswith(NOTICE_ALLOWED_PREFIXES)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "code": "notice_acknowledgement_required",
                        "detail": _(
                            "Your enterprise has published a new notice about your personal data. Read and "
                            "acknowledge it before continuing."
                        ),
                        "version": enterprise.notice_version,
                        "notice_url": "/api/v1/me/notice/",
                    },
                    status=403,
                )
            return redirect(f"/me/notice/?next={quote(request.get_full_path())}")
        return self.get_response(request)
