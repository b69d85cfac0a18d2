"""Retention of the platform's own personal data (RET-1..RET-5 for the public schema).

The enterprises' categories are purged per enterprise (retention.services.purge). The
public schema holds short-lived personal data of its own, which nothing deleted before: SMS
verification codes (a mobile number and a code hash), the inbox (SEC-5: one message per account),
the SMS/e-mail copies of messages (a mobile number or address and the text), and the account
security records (issue 17 §2): signed-in sessions and known browsers (address, browser) no
longer seen, and the security event log.
Their periods are `settings.PLATFORM_RETENTION_DAYS`; docs/retention.md says why each.

`platform_purge()` runs daily from beat (retention.tasks.platform_purge): under a
transaction-level advisory lock held for the run (tenants.locks.exclusive_run, issue 18 §4; a
second run at the same time returns `skipped`), each category deletes the rows created
before its cut-off in batches — `DELETE … WHERE id IN (SELECT id … ORDER BY id LIMIT n)`, each
batch its own transaction, no ORM object loaded — and then writes a PurgeReceipt without an
enterprise (schema `public`) for the operators. The cut-offs are fixed when the run starts, so a
run killed half-way leaves only rows that were due anyway, and the next run deletes the rest."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import AccountEvent, AccountSession, KnownDevice, SmsCode
from consent.models import Notification, NotificationDelivery
from retention.bounds import RetentionCategory
from tenants.context import public_schema
from tenants.locks import exclusive_run
from tenants.models import PurgeReceipt

BATCH_SIZE = 5000
# A lock space of its own ("PP"), one lock for the whole platform purge.
PLATFORM_PURGE_LOCK = (0x5050, 0)

# category -> (model, the time column a row's age is judged by). Deliveries go before the inbox
# messages they copy (they would go with them by cascade; doing them first counts them apart).
# Sessions and browsers age from when they were last seen, not from when they began.
CATEGORIES: dict[str, tuple[Any, str]] = {
    "sms_codes": (SmsCode, "created_at"),
    "notification_deliveries": (NotificationDelivery, "created_at"),
    "notifications": (Notification, "created_at"),
    "account_sessions": (AccountSession, "last_seen"),
    "known_devices": (KnownDevice, "last_seen"),
    "account_events": (AccountEvent, "created_at"),
}


CATEGORY_LABELS: dict[str, Any] = {
    "sms_codes": _("SMS verification codes"),
    "notification_deliveries": _("SMS and e-mail copies of messages"),
    "notifications": _("Inbox messages"),
    "account_sessions": _("Signed-in sessions no longer seen"),
    "known_devices": _("Browsers no longer used"),
    "account_events": _("Account security events"),
}


def purge_category_label(category: str) -> str:
    """A purge receipt's category in words: an enterprise's (RET-1) or the platform's own."""
    if category in RetentionCategory.values:
        return str(RetentionCategory(category).label)
    return str(CATEGORY_LABELS.get(category, category))


@dataclass
class PlatformPurgeOutcome:
    status: str  # "done" or "skipped"
    rows: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "rows": self.rows}


def platform_retention_days() -> dict[str, int]:
    days = {**settings.PLATFORM_RETENTION_DAYS}
    unknown = set(days) - set(CATEGORIES)
    if unknown or set(CATEGORIES) - set(days):
        raise ValueError(f"PLATFORM_RETENTION_DAYS must name exactly {sorted(CATEGORIES)}")
    if any(not isinstance(value, int) or value < 1 for value in days.values()):
        raise ValueError("PLATFORM_RETENTION_DAYS values are whole days, at least 1")
    return days


def _delete_batch(table: str, column: str, cutoff: datetime, limit: int) -> int:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{table}" WHERE id IN '  # noqa: S608 — table and column names come from CATEGORIES
            f'(SELECT id FROM "{table}" WHERE "{column}" < %s ORDER BY id LIMIT %s)',
            [cutoff, limit],
        )
        return cursor.rowcount


def platform_purge(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> PlatformPurgeOutcome:
    """Delete the platform's short-lived personal data past its period; one receipt per category."""
    days = platform_retention_days()
    started = now or timezone.now()
    run_id = int(started.timestamp())
    with public_schema(), exclusive_run(*PLATFORM_PURGE_LOCK) as held:
        if not held:
            return PlatformPurgeOutcome(status="skipped")
        outcome = PlatformPurgeOutcome(status="done")
        for category, (model, column) in CATEGORIES.items():
            cutoff = started - timedelta(days=days[category])
            category_started = timezone.now()
            rows = 0
            while True:
                deleted = _delete_batch(model._meta.db_table, column, cutoff, batch_size)
                rows += deleted
                if deleted < batch_size:
                    break
            PurgeReceipt.objects.create(
                enterprise=None,
                schema_name=settings.PUBLIC_SCHEMA_NAME,
                run_id=run_id,
                category=category,
                cutoff=cutoff,
                rows=rows,
                retention_days=days[category],
                started_at=category_started,
                finished_at=timezone.now(),
            )
            outcome.rows[category] = rows
        return outcome
