"""The operators' admin index counts overdue account-data requests (DSR-4)."""

from __future__ import annotations

from django import template

from requests.selectors import overdue_requests

register = template.Library()


@register.simple_tag
def overdue_account_requests() -> int:
    """Overdue account-data requests (public schema: the admin runs on the public host)."""
    return overdue_requests().filter(membership__isnull=True).count()
