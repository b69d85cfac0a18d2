"""CON-2 enforcement: after a major policy version takes effect, every signed-in account is
stopped (an interstitial page, or a 403 with a stable code on the API) until it accepts.

The state is a flag on the account, `policy_acceptance_required`, loaded with the user on every
request anyway: the check costs no query. It is set with one set-based UPDATE when a major
version takes effect (`policy_activate_due`: at publication when effective at once, otherwise
by the beat task once `effective_at` has passed) and cleared when the account accepts the
version in force."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from consent.models import PolicyVersion
from consent.selectors import policy_current


def policy_activate_due(*, now: datetime | None = None) -> list[PolicyVersion]:
    """Let every published version whose effective time has come take effect (idempotent).
    A major one requires re-acceptance from every active account that has not accepted it."""
    now = now or timezone.now()
    activated = []
    with transaction.atomic():
        due = (PolicyVersion.objects.select_for_update()
               .filter(status=PolicyVersion.Status.PUBLISHED, activated_at__isnull=True, effective_at__lte=now)
               .order_by("effective_at", "id"))
        for version in due:
            if version.level == PolicyVersion.Level.MAJOR:
                (User.objects.filter(is_active=True).exclude(policy_acceptances__version=version)
                 .update(policy_acceptance_required=True))
            version.activated_at = now
            version.save(update_fields=["activated_at"])
            activated.append(version)
    return activated


def policy_acceptance_recorded(*, account: User, version: PolicyVersion) -> None:
    """Called by policy_accept: accepting the version in force (or a later announced one) ends
    the interstitial for this account."""

    current = policy_current()
    if current is None or (version.effective_at is not None and current.effective_at is not None
                           and version.effective_at >= current.effective_at):
        User.objects.filter(pk=account.pk, policy_acceptance_required=True).update(policy_acceptance_required=False)
        account.policy_acceptance_required = False
