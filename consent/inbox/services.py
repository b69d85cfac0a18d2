"""The notification service (SEC-5): the in-app inbox, plus SMS and e-mail copies on request.

`notify` writes one message to one account; `notify_many` writes the same message to many
accounts with set-based inserts (one INSERT per batch, never one query per account). With
`channels=("sms", "email")` (either or both) each recipient also gets an SMS to their mobile
number and/or an e-mail to their address, sent by Celery after the commit with retries
(consent.inbox.delivery)."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from consent.inbox.delivery import clean_channels, deliveries_schedule, delivery_rows
from consent.inbox.selectors import notifications_for
from consent.messages import Renderable, stored
from consent.models import Notification, NotificationDelivery

BATCH_SIZE = 1000


def notify(
    *,
    account: User,
    kind: str,
    title: str | Renderable,
    body: str | Renderable = "",
    url: str = "",
    enterprise_id: int | None = None,
    channels: Iterable[str] = (),
) -> Notification:
    """One message in `account`'s inbox, and its SMS/e-mail copies if `channels` asks. A `Message`
    title or body is stored as such and read in the reader's language (consent.messages)."""
    wanted = clean_channels(channels)
    title, title_message = stored(title)
    body, body_message = stored(body)
    with transaction.atomic():
        notification = Notification.objects.create(
            account=account,
            kind=kind,
            title=title[:200],
            body=body,
            title_message=title_message,
            body_message=body_message,
            url=url[:300],
            enterprise_id=enterprise_id,
        )
        if wanted:
            rows = NotificationDelivery.objects.bulk_create(
                delivery_rows(
                    notification_id=notification.pk,
                    kind=kind,
                    channels=wanted,
                    mobile=str(account.mobile or ""),
                    email=account.email,
                    title=title,
                    body=body,
                    url=url,
                )
            )
            deliveries_schedule(rows)
    return notification


def notify_many(
    *,
    account_ids: Iterable[int],
    kind: str,
    title: str | Renderable,
    body: str | Renderable = "",
    url: str = "",
    enterprise_id: int | None = None,
    channels: Iterable[str] = (),
) -> int:
    """The same message in every listed account's inbox, `BATCH_SIZE` rows per INSERT; returns the
    number written. `account_ids` may be a lazy iterator (e.g. `values_list(...).iterator()`).
    With `channels`, one more query per batch reads the addresses and one INSERT writes the
    deliveries."""
    wanted = clean_channels(channels)
    title, title_message = stored(title)
    body, body_message = stored(body)
    ids = iter(account_ids)
    written = 0
    with transaction.atomic():
        while batch := list(islice(ids, BATCH_SIZE)):
            created = Notification.objects.bulk_create(
                [
                    Notification(
                        account_id=account_id,
                        kind=kind,
                        title=title[:200],
                        body=body,
                        title_message=title_message,
                        body_message=body_message,
                        url=url[:300],
                        enterprise_id=enterprise_id,
                    )
                    for account_id in batch
                ]
            )
            written += len(batch)
            if wanted:
                addresses = {
                    pk: (str(mobile or ""), email)
                    for pk, mobile, email in User.objects.filter(pk__in=batch, is_active=True).values_list(
                        "pk", "mobile", "email"
                    )
                }
                rows = [
                    row
                    for notification in created
                    if notification.account_id in addresses
                    for row in delivery_rows(
                        notification_id=notification.pk,
                        kind=kind,
                        channels=wanted,
                        mobile=addresses[notification.account_id][0],
                        email=addresses[notification.account_id][1],
                        title=title,
                        body=body,
                        url=url,
                    )
                ]
                deliveries_schedule(NotificationDelivery.objects.bulk_create(rows))
    return written


def notification_mark_read(*, account: User, notification_id: int) -> int:
    """Mark one of `account`'s own notifications read; 0 when it is not theirs or already read
    (the caller decides whether that is a 404 — use selectors.notification_for first)."""
    return Notification.objects.filter(account=account, pk=notification_id, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def notification_mark_all_read(*, account: User, enterprise_id: int | None = None) -> int:
    """Mark every unread notification of `account` that the current host shows read: all of them
    on the public host (`enterprise_id` None), platform-wide ones and that enterprise's on an
    enterprise host."""
    rows = notifications_for(account=account, enterprise_id=enterprise_id).filter(read_at__isnull=True)
    return rows.update(read_at=timezone.now())
