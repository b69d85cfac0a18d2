"""Reads of the platform consent data (CON-1, CON-2) and of the inbox. The acting account is an
argument of every selector; a notification that is not the account's is the same 404 as a
missing one (STYLE 3)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from consent.models import Notification, PolicyVersion


def policy_versions_published() -> QuerySet[PolicyVersion]:
    """Every published version, the newest effective first (the list on /policy/ pages)."""
    return PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED).order_by("-effective_at", "-id")


def policy_version_published(*, version: str) -> PolicyVersion:
    """A published version by its version string, or 404 (drafts are never shown)."""
    found = policy_versions_published().filter(version=version).first()
    if found is None:
        raise Http404("No such policy version.")
    return found


def notifications_for(*, account: User, enterprise_id: int | None = None) -> QuerySet[Notification]:
    """`account`'s own notifications, newest first. On an enterprise host (`enterprise_id` given)
    only platform-wide ones and that enterprise's: another enterprise's messages stay on the
    public host and on their own host."""
    rows = Notification.objects.filter(account=account)
    if enterprise_id is not None:
        rows = rows.filter(Q(enterprise_id__isnull=True) | Q(enterprise_id=enterprise_id))
    return rows.order_by("-created_at", "-id")


def notification_for(*, account: User, notification_id: int, enterprise_id: int | None = None) -> Notification:
    """Fetch-and-authorize: one of `account`'s notifications visible on this host, else 404."""
    found = notifications_for(account=account, enterprise_id=enterprise_id).filter(pk=notification_id).first()
    if found is None:
        raise Http404("No such notification.")
    return found


def policy_current(*, at: datetime | None = None) -> PolicyVersion | None:
    """The version in force at `at` (default now): the published one with the latest
    effective_at not after it; None before the first publication."""
    return (PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED, effective_at__lte=at or timezone.now())
            .order_by("-effective_at", "-id").first())
