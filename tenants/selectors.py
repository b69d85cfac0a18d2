from __future__ import annotations

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONObject

from tenants.models import Domain, Enterprise, MembershipIndex


def enterprise_list(*, states: tuple[str, ...] = (Enterprise.State.ACTIVE,)) -> QuerySet[Enterprise]:
    """Enterprises in the given lifecycle states; never the public tenant."""
    return Enterprise.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).filter(state__in=states)


def enterprise_links(*, account_id: int | OuterRef) -> QuerySet[MembershipIndex]:
    """The enterprises an account belongs to, for the enterprise switcher (UI-1), ordered by name;
    each row's `link` is a JSON object with the enterprise's id, name, state and primary domain.
    Terminated enterprises are left out. Usable as a subquery (`account_id=OuterRef(...)`)."""
    primary = Domain.objects.filter(tenant_id=OuterRef("enterprise_id"), is_primary=True).values("domain")[:1]
    return (
        MembershipIndex.objects.filter(account_id=account_id)
        .exclude(enterprise__state=Enterprise.State.TERMINATED)
        .order_by("enterprise__name", "enterprise_id")
        .annotate(
            link=JSONObject(
                id="enterprise_id",
                name="enterprise__name",
                state="enterprise__state",
                domain=Subquery(primary),
            )
        )
    )
