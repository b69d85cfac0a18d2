"""`{% current_policy as policy %}`: the privacy policy in force, for pages of lower layers that
show it (the sign-up form of accounts) without importing consent."""

from __future__ import annotations

from django import template

from consent.models import PolicyVersion
from consent.policy.selectors import policy_current

register = template.Library()


@register.simple_tag
def current_policy() -> PolicyVersion | None:
    return policy_current()
