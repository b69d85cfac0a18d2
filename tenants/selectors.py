from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from tenants.models import Enterprise


def enterprise_list(*, states: tuple[str, ...] = (Enterprise.State.ACTIVE,)) -> QuerySet[Enterprise]:
    """Enterprises in the given lifecycle states; never the public tenant."""
    return Enterprise.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).filter(state__in=states)
