"""The app shell's context (UI-1): the inbox bell and the enterprise switcher of the header.

In consent.inbox because the bell counts consent's notifications; the enterprise list is a read
of the platform's membership index (tenants.selectors). Nothing is queried for anonymous
visitors; a signed-in page costs one query (consent.inbox.selectors.header_for)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from consent.inbox.selectors import header_for


def _port_suffix(request: HttpRequest) -> str:
    """`:8000` in development, empty behind the standard ports (as invitations' links)."""
    port = request.get_port()
    return "" if port in ("80", "443") else f":{port}"


def shell(request: HttpRequest) -> dict[str, Any]:
    """Computed once per request (issue 17 §1): a view that renders more than one template with
    the request (a page and a partial) reuses the first answer instead of querying again."""
    cached = getattr(request, "_portal_shell", None)
    if cached is None:
        cached = _shell(request)
        request._portal_shell = cached  # type: ignore[attr-defined]
    return cached


def _shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return {}
    on_public = tenant.schema_name == settings.PUBLIC_SCHEMA_NAME
    inbox_url = ""
    if on_public:
        inbox_url = reverse("account_inbox")
    elif getattr(request, "membership", None) is not None:
        inbox_url = reverse("me_inbox")
    unread, links = header_for(
        account=user, enterprise_id=None if on_public else tenant.pk, count_unread=bool(inbox_url)
    )
    suffix = _port_suffix(request)
    switcher = [
        {
            "name": link["name"],
            "url": f"{request.scheme}://{link['domain']}{suffix}/" if link["domain"] else "",
            "current": not on_public and link["id"] == tenant.pk,
            "closing": link["state"] != "active",
        }
        for link in links
    ]
    return {"shell_inbox_url": inbox_url, "shell_unread": unread, "shell_enterprises": switcher}
