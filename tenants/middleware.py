"""Request-level isolation (TEN-5): sessions bound to their schema, membership on every request.

Order (config/settings/base.py): TenantMainMiddleware picks the schema from the host, then
sessions and authentication, then HostBoundSessionMiddleware, then EnterpriseAccessMiddleware.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse

from tenants.http import PortalRequest

SESSION_SCHEMA_KEY = "_portal_schema"


class HostBoundSessionMiddleware:
    """A session signed in on one host (schema) is not a session anywhere else.

    The session cookie is host-only, so browsers never send it elsewhere; this also refuses a
    session id replayed by hand on another enterprise's host: the request is served as
    anonymous with an empty session, and the original session is left untouched."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: PortalRequest) -> HttpResponse:
        session = request.session
        if session.get(SESSION_KEY) is not None and session.get(SESSION_SCHEMA_KEY) != request.tenant.schema_name:
            request.session = session.__class__()
            request.user = AnonymousUser()
            if hasattr(request, "_cached_user"):
                del request._cached_user
        return self.get_response(request)
