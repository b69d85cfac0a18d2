"""Reads of the platform privacy policy (CON-1): the published versions and the one in force."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
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


# The published versions as `policy_status` reads them on every /me/ (PERF-7): kept in the process
# for POLICY_CACHE_SECONDS and forgotten at once, and again at commit, when this process saves or
# deletes a version (consent.receivers). Another process sees a new version within that time: the
# dismissible notice of a minor version may appear that much later. A major version's stop does
# not read this (it is the account's `policy_acceptance_required`, consent/policy/middleware.py).
_KEPT: list[tuple[float, list[PolicyVersion]]] = []


def policy_versions_forget() -> None:
    _KEPT.clear()


def _policy_versions_kept() -> list[PolicyVersion]:
    seconds = settings.POLICY_CACHE_SECONDS
    now = time.monotonic()
    if _KEPT and now - _KEPT[0][0] < seconds:
        return _KEPT[0][1]
    # the columns a status needs; a caller reading a version's text loads it then (deferred fields)
    versions = list(policy_versions_published().only("id", "version", "level", "status", "effective_at"))
    _KEPT[:] = [(now, versions)] if seconds > 0 else []
    return versions


def _policy_in_force_kept() -> PolicyVersion | None:
    """`policy_current()` from the kept list."""
    now = timezone.now()
    return next((v for v in _policy_versions_kept() if v.effective_at is not None and v.effective_at <= now), None)


@dataclass(frozen=True)
class PolicyStatus:
    current: PolicyVersion | None
    accepted: bool
    needs_reacceptance: bool  # current is major and not accepted: the interstitial (next session) stops the account
    show_notice: bool  # current is minor, not accepted and its notice not dismissed


def policy_status(*, account: User) -> PolicyStatus:
    """Where `account` stands with the current version (CON-2). At most three queries, none for
    the version in force while it is kept (`_policy_versions_kept`)."""
    current = _policy_in_force_kept()
    if current is None:
        return PolicyStatus(current=None, accepted=False, needs_reacceptance=False, show_notice=False)
    accepted = PolicyAcceptance.objects.filter(account=account, version=current).exists()
    if accepted:
        return PolicyStatus(current=current, accepted=True, needs_reacceptance=False, show_notice=False)
    if current.level == PolicyVersion.Level.MAJOR:
        return PolicyStatus(current=current, accepted=False, needs_reacceptance=True, show_notice=False)
    dismissed = PolicyNoticeDismissal.objects.filter(account=account, version=current).exists()
    return PolicyStatus(current=current, accepted=False, needs_reacceptance=False, show_notice=not dismissed)
