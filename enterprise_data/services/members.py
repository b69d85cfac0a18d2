"""Services for enterprise-schema data. Every function runs in the schema of the enterprise it
is given (tenants.context.enterprise_schema) and never trusts the connection's current one."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from enterprise_data.models import Membership
from tenants.context import enterprise_schema
from tenants.models import Enterprise, MembershipIndex


def membership_create(*, enterprise: Enterprise, account: User, role: str, display_name: str = "") -> Membership:
    """Make `account` a member of `enterprise` (ACC-3). Idempotent: an existing membership is
    reactivated and given `role`. Writes the public MembershipIndex row in the same transaction."""
    name = display_name or account.display_name
    with transaction.atomic(), enterprise_schema(enterprise):
        membership, created = Membership.objects.get_or_create(
            account=account,
            defaults={"role": role, "display_name": name, "mobile": str(account.mobile), "joined_at": timezone.now()},
        )
        joined_at = membership.joined_at or timezone.now()
        if not created and (membership.role != role or not membership.is_active):
            membership.role = role
            membership.status = Membership.Status.ACTIVE
            membership.joined_at = joined_at
            membership.save(update_fields=["role", "status", "joined_at"])
        MembershipIndex.objects.update_or_create(
            account=account, enterprise=enterprise, defaults={"role": role, "joined_at": joined_at}
        )
    return membership


def membership_count(*, enterprise: Enterprise) -> int:
    with enterprise_schema(enterprise):
        return Membership.objects.filter(status=Membership.Status.ACTIVE).count()


def enterprise_refresh_member_count(*, enterprise: Enterprise) -> int:
    """Store the enterprise's active member count in the public Enterprise row."""
    count = membership_count(enterprise=enterprise)
    Enterprise.objects.filter(pk=enterprise.pk).update(member_count=count, member_count_at=timezone.now())
    return count
