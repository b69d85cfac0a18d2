"""CON-2: after a major policy version takes effect, a signed-in account that has not accepted it
is stopped — sent to the policy page, or a 403 with code `policy_acceptance_required` on the API —
until it accepts; ALLOWED_PREFIXES stay reachable (the policy itself, sign-out, static files)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

# Reachable while acceptance is pending: the policy itself, signing out, language, assets, and
# deleting the account (DSR-6: someone who does not accept the new policy may leave instead).
ALLOWED_PREFIXES = (
    "/policy/",
    "/logout/",
    "/login/",
    "/i18n/",
    "/static/",
    "/api/schema/",
    "/api/docs/",
    "/account/delete/",
    "/api/v1/me/account-deletion/",
)


class PolicyInterstitialMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and getattr(user, "policy_acceptance_required", False)
            and not request.path.startswith(ALLOWED_PREFIXES)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "code": "policy_acceptance_required",
                        "detail": _("A new version of the privacy policy must be accepted before continuing."),
                        "accept_url": "/policy/",
                    },
                    status=403,
                )
            return redirect(f"/policy/?next={quote(request.get_full_path())}")
        return self.get_response(request)
