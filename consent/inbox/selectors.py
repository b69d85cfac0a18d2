"""Reads of the in-app inbox (SEC-5): an account's notifications, newest first, optionally those of
one enterprise (with the platform's own)."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import User
from consent.models import Notification


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


def unread_count(*, account: User, enterprise_id: int | None = None) -> int:
    """How many of the notifications `notifications_for` shows are unread: one COUNT on the
    (account, read_at) index, for the inbox bell of every page (UI-1)."""
    return notifications_for(account=account, enterprise_id=enterprise_id).filter(read_at__isnull=True).count()
