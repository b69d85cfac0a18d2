"""Platform tasks of the consent app (they run in the public schema)."""

from __future__ import annotations

from config.celery import app


@app.task(name="consent.tasks.policy_activate_due")
def policy_activate_due() -> list[str]:
    """Beat, every few minutes: policy versions whose effective time has come take effect."""
    from consent.services.interstitial import policy_activate_due as activate

    return [version.version for version in activate()]


@app.task(name="consent.tasks.consent_withdrawal_erase", acks_late=True)
def consent_withdrawal_erase(record_id: int) -> dict[str, object]:
    """CON-6: delete what a withdrawn consent (or an ended legal basis) covered, in the schema the
    task was sent from (tenant-schemas-celery's `_schema_name` header). Idempotent."""
    from consent.services.consents import withdrawn_data_erase
    from tenants.tasks import current_enterprise

    enterprise = current_enterprise()
    counts = withdrawn_data_erase(enterprise=enterprise, record_id=record_id)
    return {"schema": enterprise.schema_name, "record_id": record_id, "counts": counts}


@app.task(name="consent.tasks.notification_deliver", bind=True, max_retries=5, acks_late=True)
def notification_deliver(self, delivery_ids: list[int]) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """SEC-5: send SMS/e-mail copies; retry the failed ones with exponential back-off."""
    from consent.services.delivery import deliveries_attempt

    pending = deliveries_attempt(delivery_ids=delivery_ids)
    if pending:
        raise self.retry(kwargs={"delivery_ids": pending}, countdown=30 * 2 ** self.request.retries)
    return {"sent_or_skipped": len(delivery_ids)}
