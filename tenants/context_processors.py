from typing import Any

from django.conf import settings
from django.http import HttpRequest


def enterprise(request: HttpRequest) -> dict[str, Any]:
    """`on_public_host` only when the public tenant was matched; an unknown host (404 before any
    tenant is set) is neither public nor an enterprise."""
    tenant = getattr(request, "tenant", None)
    is_public = tenant is not None and tenant.schema_name == settings.PUBLIC_SCHEMA_NAME
    return {
        "current_enterprise": tenant if tenant is not None and not is_public else None,
        "current_membership": getattr(request, "membership", None),
        "on_public_host": is_public,
        "scope": getattr(request, "admin_scope", None),
    }
