"""The CON-2 interstitial: a signed-in account that must accept a major policy version is sent
to the policy page (or, on the API, refused with 403 and the code `policy_acceptance_required`)
until it does. No query: the flag is loaded with the user (consent.services.interstitial)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

# Reachable while acceptance is pending: the policy itself, signing out, language, assets.
ALLOWED_PREFIXES = ("/policy/", "/logout/", "/login/", "/i18n/", "/static/", "/api/schema/", "/api/docs/")


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
