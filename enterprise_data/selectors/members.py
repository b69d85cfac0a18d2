"""Reads about memberships."""

from __future__ import annotations

from enterprise_data.models import Membership
from tenants.context import enterprise_schema
from tenants.models import Enterprise


def membership_for_account(*, enterprise: Enterprise, account_id: int) -> Membership | None:
    """The account's active membership of `enterprise`, or None."""
    with enterprise_schema(enterprise):
        return (
            Membership.objects.filter(account_id=account_id, status=Membership.Status.ACTIVE)
            .select_related("account")
            .first()
        )
