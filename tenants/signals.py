from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest

from tenants.middleware import SESSION_SCHEMA_KEY
from tenants.models import Domain, Enterprise
from tenants.routing import routing_cache_invalidate


@receiver(user_logged_in)
def bind_session_to_schema(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Record which schema (host) issued the session; HostBoundSessionMiddleware checks it."""
    tenant = getattr(request, "tenant", None) if request is not None else None
    if request is not None and tenant is not None:
        request.session[SESSION_SCHEMA_KEY] = tenant.schema_name


@receiver(post_save, sender=Enterprise)
@receiver(post_delete, sender=Enterprise)
@receiver(post_save, sender=Domain)
@receiver(post_delete, sender=Domain)
def invalidate_routing_cache(sender: Any, **kwargs: Any) -> None:
    """An enterprise or a domain changed: no request is routed with the cached row any more
    (issue 18 §8, tenants/routing.py)."""
    routing_cache_invalidate()
