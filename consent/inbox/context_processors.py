"""The app shell's context (UI-1): the inbox bell and the enterprise switcher of the header.

In consent.inbox because the bell counts consent's notifications; the enterprise list is a read
of the platform's membership index (tenants.selectors). Nothing is queried for anonymous
visitors; a signed-in page costs one COUNT (the bell) and one query (the switcher)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from consent.inbox.selectors import unread_count
from tenants.selectors import enterprises_of_account


def _port_suffix(request: HttpRequest) -> str:
    """`:8000` in development, empty behind the standard ports (as invitations' links)."""
    port = request.get_port()
    return "" if port in ("80", "443") else f":{port}"


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return {}
    on_public = tenant.schema_name == settings.PUBLIC_SCHEMA_NAME
    inbox_url = ""
    unread = 0
    if on_public:
        inbox_url = reverse("account_inbox")
        unread = unread_count(account=user)
    elif getattr(request, "membership", None) is not None:
        inbox_url = reverse("me_inbox")
        unread = unread_count(account=user, enterprise_id=tenant.pk)
    suffix = _port_suffix(request)
    switcher = [
        {
            "name": row["enterprise__name"],
            "url": f"{request.scheme}://{row['domain']}{suffix}/" if row["domain"] else "",
            "current": not on_public and row["enterprise_id"] == tenant.pk,
            "closing": row["enterprise__state"] != "active",
        }
        for row in enterprises_of_account(account_id=user.pk)
    ]
    return {"shell_inbox_url": inbox_url, "shell_unread": unread, "shell_enterprises": switcher}
