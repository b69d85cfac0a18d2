"""The in-app inbox (CON-2 notifications; SEC-5 will add SMS and e-mail delivery).

`notify` writes one message to one account; `notify_many` writes the same message to many
accounts with set-based inserts (one INSERT per batch, never one query per account)."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from consent.models import Notification
from consent.selectors import notifications_for

BATCH_SIZE = 1000


def notify(*, account: User, kind: str, title: str, body: str = "", url: str = "",
           enterprise_id: int | None = None) -> Notification:
    """One message in `account`'s inbox."""
    return Notification.objects.create(account=account, kind=kind, title=title[:200], body=body, url=url[:300],
                                       enterprise_id=enterprise_id)


def notify_many(*, account_ids: Iterable[int], kind: str, title: str, body: str = "", url: str = "",
                enterprise_id: int | None = None) -> int:
    """The same message in every listed account's inbox, `BATCH_SIZE` rows per INSERT; returns the
    number written. `account_ids` may be a lazy iterator (e.g. `values_list(...).iterator()`)."""
    ids = iter(account_ids)
    written = 0
    with transaction.atomic():
        while batch := list(islice(ids, BATCH_SIZE)):
            Notification.objects.bulk_create([
                Notification(account_id=account_id, kind=kind, title=title[:200], body=body, url=url[:300],
                             enterprise_id=enterprise_id)
                for account_id in batch
            ])
            written += len(batch)
    return written


def notification_mark_read(*, account: User, notification_id: int) -> int:
    """Mark one of `account`'s own notifications read; 0 when it is not theirs or already read
    (the caller decides whether that is a 404 — use selectors.notification_for first)."""
    return Notification.objects.filter(account=account, pk=notification_id, read_at__isnull=True).update(
        read_at=timezone.now())


def notification_mark_all_read(*, account: User, enterprise_id: int | None = None) -> int:
    """Mark every unread notification of `account` that the current host shows read: all of them
    on the public host (`enterprise_id` None), platform-wide ones and that enterprise's on an
    enterprise host."""
    rows = notifications_for(account=account, enterprise_id=enterprise_id).filter(read_at__isnull=True)
    return rows.update(read_at=timezone.now())
