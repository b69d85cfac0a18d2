"""SMS and e-mail delivery of notifications (SEC-5).

The inbox (consent.inbox.services) is always written; `channels` adds SMS (to the account's
mobile number) and/or e-mail (to its address, when it has one) as NotificationDelivery rows.
After the transaction commits, one Celery task per batch of rows sends them
(consent.tasks.notification_deliver) and retries failures with exponential back-off, up to
MAX_ATTEMPTS; each row records its outcome. `send_to_address` does the same for a message to an
address without an account (an invitation to a mobile number).

Backends are pluggable: settings.SMS_SENDER (accounts.sms: the console in development, an outbox
in tests, a provider in production) and Django's EMAIL_BACKEND."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.sms import get_sms_sender
from consent.models import NotificationDelivery
from tenants.queue import task_send_on_commit

Channel = NotificationDelivery.Channel
MAX_ATTEMPTS = 5
SMS_MAX_CHARS = 300
BATCH_SIZE = 500


def message_text(*, title: str, body: str = "", url: str = "") -> str:
    """The text of an SMS or e-mail copy: title, body and the page to open."""
    return "\n\n".join(part for part in (title, body, url) if part)


def sms_text(*, title: str, body: str = "") -> str:
    text = f"{title} {body}".strip()
    return text if len(text) <= SMS_MAX_CHARS else text[: SMS_MAX_CHARS - 1] + "…"


def clean_channels(channels: Iterable[str]) -> tuple[str, ...]:
    """The extra channels asked for (the inbox is implicit); unknown names are a programming error."""
    wanted = tuple(dict.fromkeys(channels))
    unknown = set(wanted) - set(Channel.values)
    if unknown:
        raise ValueError(f"Unknown notification channels: {sorted(unknown)}")
    return wanted


def delivery_rows(
    *,
    notification_id: int | None,
    kind: str,
    channels: Sequence[str],
    mobile: str,
    email: str,
    title: str,
    body: str = "",
    url: str = "",
) -> list[NotificationDelivery]:
    """Unsaved rows for one recipient: SMS if asked and there is a number, e-mail likewise."""
    rows = []
    if Channel.SMS in channels and mobile:
        rows.append(
            NotificationDelivery(
                notification_id=notification_id,
                kind=kind,
                channel=Channel.SMS,
                address=mobile,
                text=sms_text(title=title, body=body),
            )
        )
    if Channel.EMAIL in channels and email:
        rows.append(
            NotificationDelivery(
                notification_id=notification_id,
                kind=kind,
                channel=Channel.EMAIL,
                address=email,
                subject=title[:200],
                text=message_text(title=title, body=body, url=url),
            )
        )
    return rows


def deliveries_schedule(rows: Sequence[NotificationDelivery]) -> None:
    """Send the saved `rows` after the current transaction commits, BATCH_SIZE per task."""
    ids = [row.pk for row in rows]
    if not ids:
        return
    for start in range(0, len(ids), BATCH_SIZE):
        task_send_on_commit(
            "consent.tasks.notification_deliver", kwargs={"delivery_ids": ids[start : start + BATCH_SIZE]}
        )


def send_to_address(*, channel: str, address: str, kind: str, text: str, subject: str = "") -> NotificationDelivery:
    """A message to an address that has no account yet (e.g. an invitation SMS)."""
    clean_channels([channel])
    row = NotificationDelivery.objects.create(
        kind=kind, channel=channel, address=address, subject=subject[:200], text=text
    )
    deliveries_schedule([row])
    return row


def _send(row: NotificationDelivery) -> None:
    if row.channel == Channel.SMS:
        get_sms_sender().send(mobile=row.address, text=row.text)
    else:
        send_mail(row.subject, row.text, settings.DEFAULT_FROM_EMAIL, [row.address])


def deliveries_attempt(*, delivery_ids: Iterable[int]) -> list[int]:
    """Try to send each pending row once. Sent rows are marked sent; a failure counts an attempt
    and keeps the error; a row that reached MAX_ATTEMPTS is marked failed. A row another worker
    is sending is skipped (row lock, SKIP LOCKED). Returns the ids still pending (to retry)."""
    pending: list[int] = []
    for delivery_id in delivery_ids:
        with transaction.atomic():
            row = (
                NotificationDelivery.objects.select_for_update(skip_locked=True)
                .filter(pk=delivery_id, status=NotificationDelivery.Status.PENDING)
                .first()
            )
            if row is None:
                continue
            try:
                _send(row)
            except Exception as error:  # noqa: BLE001 - any backend failure is retried, then recorded
                attempts = row.attempts + 1
                status = (
                    NotificationDelivery.Status.FAILED
                    if attempts >= MAX_ATTEMPTS
                    else NotificationDelivery.Status.PENDING
                )
                NotificationDelivery.objects.filter(pk=row.pk).update(
                    attempts=F("attempts") + 1, status=status, last_error=f"{type(error).__name__}: {error}"[:200]
                )
                if status == NotificationDelivery.Status.PENDING:
                    pending.append(row.pk)
            else:
                NotificationDelivery.objects.filter(pk=row.pk).update(
                    attempts=F("attempts") + 1,
                    status=NotificationDelivery.Status.SENT,
                    sent_at=timezone.now(),
                    last_error="",
                )
    return pending


def deliveries_pending_send() -> int:
    """Send every pending row now (operators' "retry now", and tests after a commit). Returns
    how many were still pending afterwards."""
    ids = list(
        NotificationDelivery.objects.filter(status=NotificationDelivery.Status.PENDING)
        .order_by("id")
        .values_list("id", flat=True)
    )
    return len(deliveries_attempt(delivery_ids=ids))
