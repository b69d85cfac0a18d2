"""Reads of the platform privacy policy (CON-1): the published versions and the one in force."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from consent.models import PolicyAcceptance, PolicyNoticeDismissal, PolicyVersion


def policy_versions_published() -> QuerySet[PolicyVersion]:
    """Every published version, the newest effective first (the list on /policy/ pages)."""
    return PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED).order_by("-effective_at", "-id")


def policy_version_published(*, version: str) -> PolicyVersion:
    """A published version by its version string, or 404 (drafts are never shown)."""
    found = policy_versions_published().filter(version=version).first()
    if found is None:
        raise Http404("No such policy version.")
    return found


def policy_current(*, at: datetime | None = None) -> PolicyVersion | None:
    """The version in force at `at` (default now): the published one with the latest
    effective_at not after it; None before the first publication."""
    return (
        PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED, effective_at__lte=at or timezone.now())
        .order_by("-effective_at", "-id")
        .first()
    )


@dataclass(frozen=True)
class PolicyStatus:
    current: PolicyVersion | None
    accepted: bool
    needs_reacceptance: bool  # current is major and not accepted: the interstitial (next session) stops the account
    show_notice: bool  # current is minor, not accepted and its notice not dismissed


def policy_status(*, account: User) -> PolicyStatus:
    """Where `account` stands with the current version (CON-2). At most three queries."""
    current = policy_current()
    if current is None:
        return PolicyStatus(current=None, accepted=False, needs_reacceptance=False, show_notice=False)
    accepted = PolicyAcceptance.objects.filter(account=account, version=current).exists()
    if accepted:
        return PolicyStatus(current=current, accepted=True, needs_reacceptance=False, show_notice=False)
    if current.level == PolicyVersion.Level.MAJOR:
        return PolicyStatus(current=current, accepted=False, needs_reacceptance=True, show_notice=False)
    dismissed = PolicyNoticeDismissal.objects.filter(account=account, version=current).exists()
    return PolicyStatus(current=current, accepted=False, needs_reacceptance=False, show_notice=not dismissed)
