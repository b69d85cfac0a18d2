"""DSR-6 cooling-off: while an account's deletion is pending it can sign in only to cancel it.

Every page of every host sends it to the cancel page (`/account/delete/` on the public host);
every API call answers 403 with the code `account_deletion_pending` and where to cancel. No
query: the flag (`User.deletion_pending`) is loaded with the user. Runs after
core.middleware.EnterpriseAccessMiddleware, so someone who is not a member of an enterprise
is refused there as anyone else would be (not told about their deletion)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from requests.data.views import platform_url

CANCEL_PAGE = "/account/delete/"
CANCEL_API = "/api/v1/me/account-deletion/"
# Reachable while the deletion is pending: cancelling it, signing in and out, the language,
# assets, reading the privacy policy, the API schema.
ALLOWED_PREFIXES = (
    CANCEL_PAGE,
    CANCEL_API,
    "/login/",
    "/logout/",
    "/i18n/",
    "/static/",
    "/policy/",
    "/api/schema/",
    "/api/docs/",
)


class AccountDeletionCoolingOffMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and getattr(user, "deletion_pending", False)
            and not request.path.startswith(ALLOWED_PREFIXES)
        ):
            on_public_host = getattr(request, "enterprise", None) is None
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "code": "account_deletion_pending",
                        "detail": _(
                            "Your account is being deleted. Until the deletion is cancelled, the account can "
                            "only cancel it."
                        ),
                        "cancel_url": CANCEL_API,
                    },
                    status=403,
                )
            if on_public_host:
                return redirect(CANCEL_PAGE)
            return redirect(platform_url(request, "account_delete"))
        return self.get_response(request)
