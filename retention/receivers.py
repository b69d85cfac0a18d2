"""What retention does when a lower layer announces something (connected when the apps are ready:
enterprise_data/apps.py). Consent cannot call retention, which sits above it."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from consent.signals import basis_ended, erasure_counted
from retention.services.erasure import sensitive_data_counts, sensitive_processing_stop
from tenants.models import Enterprise


@receiver(basis_ended, dispatch_uid="retention.stop_processing_without_basis")
def stop_processing_without_basis(
    sender: type, *, enterprise: Enterprise, membership_id: int, category: str, purpose: str, reason: str, **kwargs: Any
) -> None:
    """CON-6 "at once": the member's templates of that purpose are revoked in the withdrawal's
    transaction (sensitive_processing_stop)."""
    sensitive_processing_stop(
        enterprise=enterprise, membership_id=membership_id, category=category, purpose=purpose, reason=reason
    )


@receiver(erasure_counted, dispatch_uid="retention.count_erasable")
def count_erasable(
    sender: type, *, enterprise: Enterprise, membership_id: int, category: str, purpose: str, **kwargs: Any
) -> dict[str, int]:
    return sensitive_data_counts(enterprise=enterprise, membership_id=membership_id, category=category, purpose=purpose)
