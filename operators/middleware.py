"""The one relaxation of the Content-Security-Policy (docs/operators-console.md, "CSP").

django-unfold's templates drive their menus, tabs, filters and dialogs with Alpine.js expressions
written in the HTML (`x-data="{…}"`, arrow functions, `localStorage`); the standard Alpine build
compiles them with the Function constructor, which `script-src` refuses without 'unsafe-eval'.
Alpine's CSP build parses only a subset (no arrow functions, no globals) that unfold's templates
go beyond, so on the public host's /admin/ pages alone — staff operators with a second factor, no
user-written HTML rendered unescaped — `script-src` gains 'unsafe-eval'. Inline scripts stay
refused ('unsafe-inline' is never added); inline <style> elements carry the response's nonce
(templates/unfold/layouts/skeleton.html). Every other page keeps the strict policy."""

from __future__ import annotations

from collections.abc import Callable

from csp.constants import UNSAFE_EVAL
from django.conf import settings
from django.http import HttpRequest, HttpResponse

ADMIN_PREFIX = "/admin/"


def admin_page(request: HttpRequest) -> bool:
    tenant = getattr(request, "tenant", None)
    on_public_host = tenant is not None and tenant.schema_name == settings.PUBLIC_SCHEMA_NAME
    return on_public_host and request.path.startswith(ADMIN_PREFIX)


class AdminScriptPolicyMiddleware:
    """Sits below csp.middleware.CSPMiddleware, so its change is seen when the header is built."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if admin_page(request) and response.get("Content-Type", "").startswith("text/html"):
            update = dict(getattr(response, "_csp_update", None) or {})
            update["script-src"] = [*update.get("script-src", []), UNSAFE_EVAL]
            response._csp_update = update  # type: ignore[attr-defined]
        return response
