"""handler400, handler403 and handler500 of every host (config/urls_public.py, urls_tenants.py):
under `/api/` the API answers in JSON, in its documented `Error` shape (`{"detail": …}`,
config/openapi.py), whatever went wrong before or outside a DRF view; pages keep Django's
(SEC-3, docs/security.md). handler404 is `tenants.views.not_found`.

A body larger than DATA_UPLOAD_MAX_MEMORY_SIZE (RequestDataTooBig, a SuspiciousOperation that
Django sends to handler400) is answered 413 on the API and on pages."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext
from django.views import defaults

from tenants.input import is_api


def too_large_detail() -> str:
    return gettext("The request body is too large (at most %(size)s).") % {
        "size": filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    }


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        if is_api(request):
            return JsonResponse({"detail": too_large_detail()}, status=413)
        return render(request, "input_refused.html", {"detail": too_large_detail(), "fields": []}, status=413)
    if is_api(request):
        return JsonResponse({"detail": gettext("Bad request.")}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"detail": gettext("You do not have permission to perform this action.")}, status=403)
    return defaults.permission_denied(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"detail": gettext("A server error occurred.")}, status=500)
    return defaults.server_error(request)
