"""Erasure primitives: delete one member's data of one sensitive category and purpose in the
current enterprise, with set-based SQL (CON-6; the retention engine, RET-*, builds on these).

What each (category, purpose) covers:

- biometrics / attendance | door_access: the member's templates for that purpose (deleted;
  devices learn it from the change feed);
- health / health_monitoring: the member's health reports;
- precise_location / attendance: the raw coordinates kept with the member's clock events and the
  location cell derived from them (the events themselves, attendance records, stay);
- id_documents / hr_records: the ID number on the member's directory card;
- contacts / contact_matching: nothing — matching keeps none of the hashes (ENT-7).

`sensitive_data_counts` answers "what would be deleted" for the member's confirmation page;
`sensitive_data_erase` deletes it and writes one ledger entry with the counts."""

from __future__ import annotations

from django.db import transaction

from consent.models import SensitiveCategory
from enterprise_data.categories import Category
from enterprise_data.models import BiometricTemplate, ClockEvent, ClockEventLocation, HealthReport, Membership
from enterprise_data.services.ledger import Action, ledger_record
from tenants.context import enterprise_schema
from tenants.models import Enterprise

# The administrator category (ENT-8) that covers each sensitive category: ledger entries use it
# and recording a legal basis needs it over the member.
ADMIN_CATEGORY = {
    SensitiveCategory.BIOMETRICS: Category.BIOMETRICS,
    SensitiveCategory.HEALTH: Category.HEALTH,
    SensitiveCategory.PRECISE_LOCATION: Category.ATTENDANCE,
    SensitiveCategory.ID_DOCUMENTS: Category.DIRECTORY,
    SensitiveCategory.CONTACTS: Category.DIRECTORY,
}


def sensitive_data_counts(*, enterprise: Enterprise, membership_id: int, category: str, purpose: str) -> dict[str, int]:
    """How many items of each kind `sensitive_data_erase` would remove now (one query per kind)."""
    with enterprise_schema(enterprise):
        if category == SensitiveCategory.BIOMETRICS:
            return {"templates": BiometricTemplate.objects.filter(membership_id=membership_id, purpose=purpose).count()}
        if category == SensitiveCategory.HEALTH:
            return {"health_reports": HealthReport.objects.filter(membership_id=membership_id).count()}
        if category == SensitiveCategory.PRECISE_LOCATION:
            return {
                "raw_locations": ClockEventLocation.objects.filter(event__membership_id=membership_id).count(),
                "location_cells": ClockEvent.objects.filter(membership_id=membership_id).exclude(location_cell="")
                .count(),
            }
        if category == SensitiveCategory.ID_DOCUMENTS:
            return {"id_numbers": Membership.objects.filter(pk=membership_id, id_number_encrypted__isnull=False)
                    .count()}
        return {}


def sensitive_data_erase(*, enterprise: Enterprise, membership_id: int, category: str, purpose: str,
                         actor: Membership | None = None, reason: str = "") -> dict[str, int]:
    """Delete the member's data of (`category`, `purpose`) in this enterprise, in one
    transaction, and record it in the ledger (action delete, the system as actor unless given).
    Idempotent: a second run deletes nothing and writes no entry."""
    counts: dict[str, int] = {}
    with enterprise_schema(enterprise), transaction.atomic():
        if category == SensitiveCategory.BIOMETRICS:
            from enterprise_data.services.biometrics import templates_delete_for_member

            member = Membership.objects.get(pk=membership_id)
            counts["templates"] = templates_delete_for_member(enterprise=enterprise, actor=actor, membership=member,
                                                              purpose=purpose, reason=reason)
            return counts  # templates_delete_for_member writes its own ledger entry
        if category == SensitiveCategory.HEALTH:
            counts["health_reports"] = HealthReport.objects.filter(membership_id=membership_id).delete()[0]
        elif category == SensitiveCategory.PRECISE_LOCATION:
            counts["raw_locations"] = ClockEventLocation.objects.filter(
                event__in=ClockEvent.objects.filter(membership_id=membership_id).values("pk")).delete()[0]
            counts["location_cells"] = ClockEvent.objects.filter(membership_id=membership_id).exclude(
                location_cell="").update(location_cell="")
        elif category == SensitiveCategory.ID_DOCUMENTS:
            counts["id_numbers"] = Membership.objects.filter(
                pk=membership_id, id_number_encrypted__isnull=False).update(id_number_encrypted=None)
        if any(counts.values()):
            ledger_record(enterprise=enterprise, actor=actor, action=Action.DELETE,
                          category=ADMIN_CATEGORY[SensitiveCategory(category)], subject=membership_id,
                          purpose=reason, details={"sensitive_category": category, "consent_purpose": purpose,
                                                   **counts})
    return counts

