"""Reads of the platform privacy policy (CON-1): the published versions and the one in force."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from consent.models import PolicyVersion


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
