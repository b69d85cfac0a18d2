"""PERF-7 only: the enterprise hosts' URL conf plus a minimal view (one `SELECT 1`), served by the
same middleware stack. Used through bench/throughput_settings.py; not part of the product."""

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls_tenants import handler400, handler403, handler404, handler500
from config.urls_tenants import urlpatterns as project_patterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def minimal(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok")


urlpatterns = [path("bench/minimal/", minimal), *project_patterns]
