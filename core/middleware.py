"""Who is asking, on an enterprise host: `EnterpriseAccessMiddleware` sets `request.enterprise`
and a lazy `request.membership`, refuses suspended and terminated enterprises, keeps a
terminating one read-only (TEN-4) and turns away signed-in accounts that are not members.
Routes open to anyone (sign-in, policy, notice) are listed in OPEN_PATH_PREFIXES."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from core.models import Membership
from core.selectors import membership_for_account
from tenants.http import PortalRequest
from tenants.models import Enterprise

# Pages any visitor of an enterprise host may reach, signed in or not, member or not.
# What still accepts a POST while an enterprise is under notice of termination (TEN-4).
# Deleting (or cancelling the deletion of) the account concerns the account, not this enterprise (DSR-6).
READ_ONLY_ALLOWED = (
    "/login/",
    "/logout/",
    "/i18n/",
    "/security/two-factor/",
    "/me/export/",
    "/api/v1/me/exports/",
    "/api/v1/me/account-deletion/",
)


OPEN_PATH_PREFIXES = ("/login/", "/logout/", "/i18n/", "/static/", "/policy/", "/notice/", "/api/schema/", "/api/docs/")


class EnterpriseAccessMiddleware:
    """On an enterprise host: refuse suspended/terminated enterprises with a clear page, attach
    `request.enterprise` and `request.membership`, and refuse (403) a signed-in account that is
    not an active member of this enterprise."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: PortalRequest) -> HttpResponse:
        tenant: Enterprise = request.tenant
        if tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
            request.enterprise = None
            request.membership = None
            return self.get_response(request)

        request.enterprise = tenant
        if tenant.state in (Enterprise.State.SUSPENDED, Enterprise.State.TERMINATED):
            status = 410 if tenant.state == Enterprise.State.TERMINATED else 403
            return _refuse(
                request,
                "tenants/unavailable.html",
                tenant,
                status,
                f"enterprise_{tenant.state}",
                _("This enterprise is not available."),
            )

        # a proxy of the Membership (or of None): truth-tested, like PortalRequest.membership says
        request.membership = cast(Membership | None, SimpleLazyObject(lambda: _membership_of(request)))
        if (
            tenant.state == Enterprise.State.TERMINATING
            and request.method not in ("GET", "HEAD", "OPTIONS")
            and not request.path.startswith(READ_ONLY_ALLOWED)
        ):
            # TEN-4: under notice of termination the enterprise is read-only (members can still copy
            # their data); nothing can be changed
            return _refuse(
                request,
                "tenants/unavailable.html",
                tenant,
                403,
                "enterprise_read_only",
                _("This enterprise is closing: its data can be read, not changed."),
            )
        if request.path.startswith(OPEN_PATH_PREFIXES):
            return self.get_response(request)
        if request.user.is_authenticated and not request.membership:
            return _refuse(
                request,
                "tenants/not_member.html",
                tenant,
                403,
                "not_member",
                _("Your account is not a member of this enterprise."),
            )
        return self.get_response(request)


def _refuse(
    request: HttpRequest, template: str, tenant: Enterprise, status: int, code: str, detail: str
) -> HttpResponse:
    """A page for people, JSON with a stable code for the API."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": detail, "code": code}, status=status)
    return render(request, template, {"enterprise": tenant}, status=status)


def _membership_of(request: PortalRequest) -> Membership | None:
    if not request.user.is_authenticated:
        return None
    return membership_for_account(enterprise=request.tenant, account_id=request.user.pk)
