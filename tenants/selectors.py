from __future__ import annotations

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery

from tenants.models import Domain, Enterprise, MembershipIndex


def enterprise_list(*, states: tuple[str, ...] = (Enterprise.State.ACTIVE,)) -> QuerySet[Enterprise]:
    """Enterprises in the given lifecycle states; never the public tenant."""
    return Enterprise.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).filter(state__in=states)


def enterprises_of_account(*, account_id: int) -> list[dict[str, object]]:
    """The enterprises an account belongs to, for the enterprise switcher (UI-1): one query over
    the public membership index, each row with the enterprise's id, name, state and primary
    domain; terminated enterprises are left out."""
    primary = Domain.objects.filter(tenant_id=OuterRef("enterprise_id"), is_primary=True).values("domain")[:1]
    rows = (
        MembershipIndex.objects.filter(account_id=account_id)
        .exclude(enterprise__state=Enterprise.State.TERMINATED)
        .annotate(domain=Subquery(primary))
        .order_by("enterprise__name", "enterprise_id")
        .values("enterprise_id", "enterprise__name", "enterprise__state", "role", "domain")
    )
    return [dict(row) for row in rows]
