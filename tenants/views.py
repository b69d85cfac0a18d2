"""Base views for enterprise hosts, and the public pages about enterprises."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views import View
from django.views.defaults import page_not_found
from django.views.generic import TemplateView

from tenants.access import Public
from tenants.http import PortalRequest


def apply_service_errors(form: Any, error: ValidationError) -> None:
    """Show a service's ValidationError on `form`: each field's errors on that field, the rest
    (and errors about fields the form does not have, or an error tied to no field at all, e.g.
    a limit) as non-field errors."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, errors in error.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def safe_next(request: HttpRequest, target: str | None) -> str | None:
    """`target` if it is a path on this host, else None (never an open redirect)."""
    if (
        target
        and target.startswith("/")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return None


def in_chinese() -> bool:
    """The request's language is Chinese (texts stored in both languages pick their `_zh` side)."""
    return (translation.get_language() or "").lower().startswith("zh")


class EnterpriseHomeView(View):
    """`/` on an enterprise host: members go to their page, others to the login form."""

    access = Public()

    def get(self, request: PortalRequest) -> HttpResponse:
        if request.user.is_authenticated and request.membership:
            return redirect("console" if request.membership.is_admin else "me")
        return redirect("login")


class LandingView(TemplateView):
    access = Public()
    template_name = "tenants/landing.html"


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404 of every host: the API answers in JSON, as its schema documents
    (`{"detail": …}`, config/openapi.py), also for URLs no route matches (e.g. a non-numeric id);
    pages get Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": gettext("Not found.")}, status=404)
    return page_not_found(request, exception)
