"""Reads of enterprise-schema data. The caller's schema is the enterprise being served."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from enterprise_data.models import Membership
from tenants.context import current_schema, enterprise_schema
from tenants.models import Enterprise


def membership_for_account(*, enterprise: Enterprise, account_id: int) -> Membership | None:
    """The account's active membership of `enterprise`, or None."""
    with enterprise_schema(enterprise):
        return Membership.objects.filter(account_id=account_id, is_active=True).select_related("account").first()


def membership_list(*, enterprise: Enterprise, actor: Membership) -> QuerySet[Membership]:
    """Members an admin may see in the console (ENT-8 narrows this by scope). The queryset is
    lazy, so it must be built and used in the enterprise's own schema (a console request)."""
    if current_schema() != enterprise.schema_name:
        raise RuntimeError("membership_list() used outside the enterprise's schema")
    if not actor.is_admin:
        return Membership.objects.none()
    return Membership.objects.filter(is_active=True).select_related("account").order_by("display_name", "id")


def get_membership_for(*, enterprise: Enterprise, actor: Membership, pk: int) -> Membership:
    """Fetch-and-authorize: the same 404 for a missing row and a forbidden one."""
    membership = membership_list(enterprise=enterprise, actor=actor).filter(pk=pk).first()
    if membership is None:
        raise Http404("No such member.")
    return membership
