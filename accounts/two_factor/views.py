"""`/security/two-factor/` on every host (SEC-2): set up an authenticator app (the key and the
otpauth:// address, then a first code; the ten recovery codes are shown once), or, when one is
set up, confirm this session with a code. Returns to a safe `next`."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views import View
from django_otp import login as otp_login

from accounts.models import User
from accounts.two_factor.middleware import session_two_factor_verified
from accounts.two_factor.services import (
    recovery_codes_regenerate,
    two_factor_enabled,
    two_factor_enrolment_confirm,
    two_factor_enrolment_start,
    two_factor_verify,
)
from tenants.access import Account
from tenants.views import safe_next


def _next(request: HttpRequest) -> str:
    return safe_next(request, request.POST.get("next") or request.GET.get("next")) or ""


class TwoFactorView(LoginRequiredMixin, View):
    access = Account()

    template_name = "accounts/two_factor.html"

    def _render(
        self,
        request: HttpRequest,
        *,
        errors: list[str] | None = None,
        codes: list[str] | None = None,
        status: int = 200,
    ) -> HttpResponse:
        user: User = request.user  # type: ignore[assignment]
        enabled = two_factor_enabled(account=user)
        context: dict[str, Any] = {
            "enabled": enabled,
            "verified": session_two_factor_verified(request),
            "errors": errors or [],
            "codes": codes,
            "next": _next(request),
            "enrolment": None if enabled else two_factor_enrolment_start(account=user),
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        user: User = request.user  # type: ignore[assignment]
        action = request.POST.get("action")
        try:
            if action == "confirm":
                device, codes = two_factor_enrolment_confirm(account=user, token=request.POST.get("token"))
                otp_login(request, device)
                return self._render(request, codes=codes)
            if action == "recovery" and session_two_factor_verified(request):
                return self._render(request, codes=recovery_codes_regenerate(account=user))
            verified = two_factor_verify(account=user, token=request.POST.get("token"))
            otp_login(request, verified)
        except ValidationError as error:
            return self._render(request, errors=error.messages, status=400)
        return redirect(_next(request) or "/")
