from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from tenants.middleware import SESSION_SCHEMA_KEY


@receiver(user_logged_in)
def bind_session_to_schema(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Record which schema (host) issued the session; HostBoundSessionMiddleware checks it."""
    tenant = getattr(request, "tenant", None) if request is not None else None
    if request is not None and tenant is not None:
        request.session[SESSION_SCHEMA_KEY] = tenant.schema_name
