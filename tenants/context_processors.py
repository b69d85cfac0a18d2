from typing import Any

from django.conf import settings
from django.http import HttpRequest


def enterprise(request: HttpRequest) -> dict[str, Any]:
    tenant = getattr(request, "tenant", None)
    is_public = tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME
    return {
        "current_enterprise": None if is_public else tenant,
        "current_membership": getattr(request, "membership", None),
        "on_public_host": is_public,
    }
