"""The operators' admin index counts overdue account-data requests (DSR-4)."""

from __future__ import annotations

from django import template

from requests.workflow.selectors import overdue_counts_by_enterprise, overdue_requests
from tenants.models import Enterprise

register = template.Library()


@register.simple_tag
def overdue_account_requests() -> int:
    """Overdue account-data requests (public schema: the admin runs on the public host)."""
    return overdue_requests().filter(membership__isnull=True).count()


@register.simple_tag
def overdue_enterprise_requests() -> list[tuple[Enterprise, int]] | None:
    """Per enterprise, how many of its requests are overdue (counts only)."""
    return overdue_counts_by_enterprise()
