"""Cross-cutting HTTP hardening (SEC-2; docs/security.md)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every response under a path with personal data.

    Browsers, shared proxies and the back/forward cache must not keep a copy of a member's page
    or API answer (a shared computer, a proxy in the office). The prefixes are
    settings.PORTAL_NO_STORE_PATH_PREFIXES (/me/, /console/, /account/, /api/, /admin/, …);
    public pages such as /policy/ and static files stay cacheable. Applies to every status,
    redirects and errors included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.prefixes = tuple(settings.PORTAL_NO_STORE_PATH_PREFIXES)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path_info.startswith(self.prefixes) and "no-store" not in response.get("Cache-Control", ""):
            # max-age=0, no-cache, no-store, must-revalidate, private (and Expires in the past);
            # a view that already said no-store (photos, one-time keys) is left as it is
            add_never_cache_headers(response)
        return response
