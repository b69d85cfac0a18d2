"""Two-factor enforcement (SEC-2): an enterprise administrator whose session has not passed a
second factor cannot open any console page or the API (redirect to the two-factor page; on the
API, 403 with code `two_factor_required`), nor an operator the operators' admin. Runs after
core.middleware.EnterpriseAccessMiddleware (request.enterprise, request.membership).

The session records the device that passed (django_otp.login); it is looked up (one query) only
for requests that need it, instead of django-otp's OTPMiddleware, which would read it on every
request of such a session. A deleted or unconfirmed device no longer counts."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

TWO_FACTOR_PATH = "/security/two-factor/"
EXEMPT_PREFIXES = (
    TWO_FACTOR_PATH,
    "/login/",
    "/logout/",
    "/i18n/",
    "/static/",
    "/policy/",
    "/api/schema/",
    "/api/docs/",
    "/admin/login/",
    "/admin/logout/",
    "/api/device/",
)


def session_two_factor_verified(request: HttpRequest) -> bool:
    """The session passed a second factor with a confirmed device of the signed-in account."""
    device_id = request.session.get(DEVICE_ID_SESSION_KEY)
    if not device_id or not request.user.is_authenticated:
        return False
    device = Device.from_persistent_id(device_id)
    return device is not None and device.user_id == request.user.pk and bool(device.confirmed)


def _needs_second_factor(request: HttpRequest) -> bool:
    path = request.path
    if getattr(request, "enterprise", None) is not None:
        membership = getattr(request, "membership", None)
        return bool(path.startswith(("/console/", "/api/")) and membership and membership.is_admin)
    return bool(path.startswith("/admin/") and request.user.is_staff)


class TwoFactorRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        # is_verified() reads the session's device (one query): asked only where it matters
        if (
            user.is_authenticated
            and not request.path.startswith(EXEMPT_PREFIXES)
            and _needs_second_factor(request)
            and not session_two_factor_verified(request)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "code": "two_factor_required",
                        "detail": _("Administrators must confirm their identity with a second factor first."),
                        "setup_url": TWO_FACTOR_PATH,
                    },
                    status=403,
                )
            return redirect(f"{TWO_FACTOR_PATH}?next={quote(request.get_full_path())}")
        return self.get_response(request)
