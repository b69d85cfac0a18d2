"""Daily health reports (ENT-5): a member's own report, and an administrator's reveal of one.

City and the unwell flag are stored in clear (the department summaries aggregate them in SQL);
symptoms, close contacts and special circumstances are one JSON object encrypted with the
member's data key (`encrypt_for_member(field="health_details")`, RET-6). Submitting is the
member's own action and writes no ledger entry; an administrator decrypting someone's details
writes exactly one (action reveal, category health, ENT-10). Reads without decryption
(summaries, the named list) are selectors: health/selectors.py."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.consents.services import require_basis
from consent.minors.services import require_processable
from consent.models import ConsentPurpose, SensitiveCategory
from core.encryption import decrypt_for_member, encrypt_for_member
from core.models import Membership
from health.models import HealthReport
from health.selectors import health_reports_for_admin, health_summary
from ledger.services import Action, ledger_record
from tenants.categories import Category
from tenants.context import enterprise_schema
from tenants.models import Enterprise

__all__ = [
    "DETAILS_FIELD",
    "DETAIL_NAMES",
    "HealthDetails",
    "health_report_details",
    "health_report_reveal",
    "health_report_submit",
    "health_reports_for_admin",
    "health_summary",
]

DETAILS_FIELD = "health_details"  # the field name bound into the ciphertext (encrypt_for_member)
DETAIL_NAMES = ("symptoms", "close_contacts", "special_circumstances")
CITY_MAX_LENGTH = 64
TEXT_MAX_LENGTH = 1000
MAX_DAYS_BACK = 7


@dataclass(frozen=True)
class HealthDetails:
    """The encrypted part of a report, decrypted."""

    symptoms: str = ""
    close_contacts: str = ""
    special_circumstances: str = ""

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in DETAIL_NAMES}


def _clean(
    *,
    membership: Membership,
    date: datetime.date,
    city: str,
    unwell: bool,
    symptoms: str,
    close_contacts: str,
    special_circumstances: str,
) -> tuple[str, HealthDetails]:
    errors: dict[str, list[str]] = {}
    if not membership.is_active:
        errors["membership"] = [_("Only an active member can submit a health report.")]
    today = timezone.localdate()
    if date > today:
        errors["date"] = [_("The date cannot be in the future.")]
    elif date < today - datetime.timedelta(days=MAX_DAYS_BACK):
        errors["date"] = [_("A report can be submitted for at most %(days)d days back.") % {"days": MAX_DAYS_BACK}]
    city = (city or "").strip()
    if not city:
        errors["city"] = [_("Enter the city you are in.")]
    elif len(city) > CITY_MAX_LENGTH:
        errors["city"] = [_("At most %(n)d characters.") % {"n": CITY_MAX_LENGTH}]
    texts = {
        "symptoms": (symptoms or "").strip(),
        "close_contacts": (close_contacts or "").strip(),
        "special_circumstances": (special_circumstances or "").strip(),
    }
    for name, value in texts.items():
        if len(value) > TEXT_MAX_LENGTH:
            errors[name] = [_("At most %(n)d characters.") % {"n": TEXT_MAX_LENGTH}]
    if unwell and not texts["symptoms"] and "symptoms" not in errors:
        errors["symptoms"] = [_("Describe your symptoms when you are unwell.")]
    if errors:
        raise ValidationError(errors)
    return city, HealthDetails(**texts)


def health_report_submit(
    *,
    enterprise: Enterprise,
    membership: Membership,
    date: datetime.date | None = None,
    city: str,
    unwell: bool,
    symptoms: str = "",
    close_contacts: str = "",
    special_circumstances: str = "",
) -> HealthReport:
    """The member's report for `date` (default today): one per member per day, so a second
    submission the same day replaces the first (upsert). Field errors as ValidationError, nothing
    written. The member's own action: no ledger entry."""
    require_processable(membership.account if membership.account_id else None)  # ACC-4
    date = date or timezone.localdate()
    city, details = _clean(
        membership=membership,
        date=date,
        city=city,
        unwell=bool(unwell),
        symptoms=symptoms,
        close_contacts=close_contacts,
        special_circumstances=special_circumstances,
    )
    require_basis(
        enterprise=enterprise,
        membership=membership,
        category=SensitiveCategory.HEALTH,
        purpose=ConsentPurpose.HEALTH_MONITORING,
    )  # CON-4
    with enterprise_schema(enterprise), transaction.atomic():
        blob = encrypt_for_member(
            enterprise=enterprise,
            membership_id=membership.pk,
            field=DETAILS_FIELD,
            value=json.dumps(details.as_dict(), ensure_ascii=False),
        )
        report, _created = HealthReport.objects.update_or_create(
            membership=membership,
            date=date,
            defaults={"city": city, "unwell": bool(unwell), "details_encrypted": blob},
        )
    return report


def health_report_details(*, enterprise: Enterprise, report: HealthReport) -> HealthDetails:
    """Decrypt a report's details for its own member (self-service: no ledger entry). Raises
    core.encryption.KeyUnavailable after crypto-shredding."""
    with enterprise_schema(enterprise):
        plaintext = decrypt_for_member(
            enterprise=enterprise,
            membership_id=report.membership_id,
            field=DETAILS_FIELD,
            blob=bytes(report.details_encrypted),
        )
    values = json.loads(plaintext.decode())
    return HealthDetails(**{name: str(values.get(name, "")) for name in DETAIL_NAMES})


def health_report_reveal(
    *, enterprise: Enterprise, actor: Membership, report: HealthReport, purpose: str = ""
) -> HealthDetails:
    """An administrator reads one member's details (ENT-5, ENT-10). The caller has fetched
    `report` through selectors.health.health_report_for_admin (scope-checked). Exactly one ledger
    entry (reveal, health) is written, in the same transaction, and only if decryption succeeds.
    Reading the details is processing: once the member has withdrawn their consent and no legal
    basis remains, it is refused at once, even while the erasure task has not run (CON-6)."""
    require_basis(
        enterprise=enterprise,
        membership=report.membership,
        category=SensitiveCategory.HEALTH,
        purpose=ConsentPurpose.HEALTH_MONITORING,
    )
    with enterprise_schema(enterprise), transaction.atomic():
        details = health_report_details(enterprise=enterprise, report=report)
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.REVEAL,
            category=Category.HEALTH,
            subject=report.membership_id,
            purpose=purpose,
            obj=report,
            details={"fields": list(DETAIL_NAMES), "date": report.date.isoformat()},
        )
    return details
