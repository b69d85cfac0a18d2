"""The CON-2 interstitial: a signed-in account that must accept a major policy version is sent
to the policy page (or, on the API, refused with 403 and the code `policy_acceptance_required`)
until it does. No query: the flag is loaded with the user (consent.services.interstitial)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

# Reachable while acceptance is pending: the policy itself, signing out, language, assets, and
# deleting the account (DSR-6: someone who does not accept the new policy may leave instead).
ALLOWED_PREFIXES = ("/policy/", "/logout/", "/login/", "/i18n/", "/static/", "/api/schema/", "/api/docs/",
                    "/account/delete/", "/api/v1/me/account-deletion/")


class PolicyInterstitialMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (user.is_authenticated and getattr(user, "policy_acceptance_required", False)
                and not request.path.startswith(ALLOWED_PREFIXES)):
            if request.path.startswith("/api/"):
                return JsonResponse({
                    "code": "policy_acceptance_required",
                    "detail": _("A new version of the privacy policy must be accepted before continuing."),
                    "accept_url": "/policy/",
                }, status=403)
            return redirect(f"/policy/?next={quote(request.get_full_path())}")
        return self.get_response(request)


# Reachable while a member has not acknowledged the enterprise's current notice: the notice
# itself, the policy, signing out, language, assets, the inbox, and devices (not members).
NOTICE_ALLOWED_PREFIXES = (*ALLOWED_PREFIXES, "/notice/", "/me/notice/", "/api/v1/me/notice/", "/me/inbox/",
                           "/api/v1/me/notifications/", "/api/device/")


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
        if (request.user.is_authenticated and enterprise is not None and membership
                and membership.notice_acknowledged < enterprise.notice_version
                and not request.path.startswith(NOTICE_ALLOWED_PREFIXES)):
            if request.path.startswith("/api/"):
                return JsonResponse({
                    "code": "notice_acknowledgement_required",
                    "detail": _("Your enterprise has published a new notice about your personal data. Read and "
                                "acknowledge it before continuing."),
                    "version": enterprise.notice_version,
                    "notice_url": "/api/v1/me/notice/",
                }, status=403)
            return redirect(f"/me/notice/?next={quote(request.get_full_path())}")
        return self.get_response(request)
