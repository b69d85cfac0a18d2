"""What consent does when a lower layer announces something (connected in ConsentConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from accounts.models import User
from accounts.signals import account_registered
from consent.policy.selectors import policy_current
from consent.policy.services import policy_accept


@receiver(account_registered, dispatch_uid="consent.policy_accept_at_registration")
def policy_accept_at_registration(sender: type, *, account: User, ip: str | None, channel: str, **kwargs: Any) -> None:
    """CON-1: registering accepts the policy in force (none before the first is published), in
    the registration's transaction."""
    current = policy_current()
    if current is not None:
        policy_accept(account=account, version=current, channel=channel, ip=ip)
