"""Platform tasks of the consent app (they run in the public schema)."""

from __future__ import annotations

from config.celery import app
from consent.inbox.delivery import deliveries_attempt
from consent.policy.services import policy_activate_due as activate


@app.task(name="consent.tasks.policy_activate_due")
def policy_activate_due() -> list[str]:
    """Beat, every few minutes: policy versions whose effective time has come take effect."""

    return [version.version for version in activate()]


@app.task(name="consent.tasks.notification_deliver", bind=True, max_retries=5, acks_late=True)
def notification_deliver(self, delivery_ids: list[int]) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """SEC-5: send SMS/e-mail copies; retry the failed ones with exponential back-off."""

    pending = deliveries_attempt(delivery_ids=delivery_ids)
    if pending:
        raise self.retry(kwargs={"delivery_ids": pending}, countdown=30 * 2**self.request.retries)
    return {"sent_or_skipped": len(delivery_ids)}
