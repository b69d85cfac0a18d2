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
import secrets
from dataclasses import dataclass
from typing import Any, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from consent.consents.services import require_basis
from consent.inbox.services import notify_many
from consent.messages import Message
from consent.minors.services import require_processable
from consent.models import ConsentPurpose, ConsentRecord, SensitiveCategory
from core.encryption import decrypt_for_member, encrypt_for_member
from core.models import Department, EnterpriseSettings, Membership
from core.scopes import AdminScope
from health.models import HealthReport
from health.selectors import (
    HEALTH_MIN_GROUP_SIZE_FLOOR,
    HEALTH_MIN_GROUP_SIZE_MAX,
    Figure,
    HealthSummary,
    health_members_not_reported,
    health_reports_for_admin,
    health_summary,
)
from ledger.models import LedgerEntry
from ledger.services import Action, ledger_record
from tenants.categories import Category
from tenants.context import current_schema, enterprise_schema
from tenants.models import Enterprise

__all__ = [
    "DETAILS_FIELD",
    "DETAIL_NAMES",
    "HealthDetails",
    "health_export",
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


# --- the minimum group size (ENT-5, GB/T 35273 §6.2) --------------------------------------------


def may_set_min_group_size(actor: Membership, scope: AdminScope) -> bool:
    """Only the owner or an admin holding the health category over the whole enterprise: a
    scoped admin could otherwise lower the safeguard that hides small groups of their own
    departments."""
    return actor.role == Membership.Role.OWNER or Category.HEALTH in scope.whole


def health_min_group_size_set(*, enterprise: Enterprise, actor: Membership, scope: AdminScope, value: Any) -> int:
    """Set N (an integer from 3 to 100); field error `min_group_size` otherwise, nothing
    changed. Recorded in the ledger (change, health)."""
    if not may_set_min_group_size(actor, scope):
        raise PermissionDenied(
            _("Only the owner or an administrator of health data for the whole enterprise may do this.")
        )
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({"min_group_size": [_("Enter a whole number.")]}) from None
    if not HEALTH_MIN_GROUP_SIZE_FLOOR <= number <= HEALTH_MIN_GROUP_SIZE_MAX:
        raise ValidationError(
            {
                "min_group_size": [
                    _("The minimum group size must be between %(low)d and %(high)d.")
                    % {"low": HEALTH_MIN_GROUP_SIZE_FLOOR, "high": HEALTH_MIN_GROUP_SIZE_MAX}
                ]
            }
        )
    with enterprise_schema(enterprise), transaction.atomic():
        row, _created = EnterpriseSettings.objects.select_for_update().get_or_create(
            pk=1, defaults={"contact_hash_salt": secrets.token_hex(32)}
        )
        before = row.health_min_group_size
        if before != number:
            row.health_min_group_size = number
            row.save(update_fields=["health_min_group_size"])
            ledger_record(
                enterprise=enterprise,
                actor=actor,
                action=Action.CHANGE,
                category=Category.HEALTH,
                obj=row,
                details={"health_min_group_size": {"from": before, "to": number}},
            )
    return number


# --- reminding those who have not reported today ------------------------------------------------

REMINDER_KIND = "health_reminder"


def _overlaps(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


def reminder_paths(*, scope: AdminScope, department: Department | None) -> list[str]:
    """The department subtrees a reminder covers: "/" for the whole enterprise (members without
    a department included), else department paths."""
    whole = Category.HEALTH in scope.whole
    if department is None:
        return ["/"] if whole else list(scope.paths.get(Category.HEALTH, ()))
    if whole and department.path.count("/") == 2:  # the root department
        return ["/"]
    return [department.path]


def health_reminder_send(
    *, enterprise: Enterprise, actor: Membership, scope: AdminScope, department: Department | None = None
) -> int:
    """Remind the active members in the admin's health scope (under `department`, default the
    whole scope) who have not reported today and may be asked to (an active consent or legal
    basis for health monitoring; never the sender): one inbox message and its SMS copy each.
    At most once per department subtree per local day: a subtree that overlaps one reminded
    today is refused with a field error `department`, nothing sent. Recorded in the ledger
    (remind, health) with the subtrees, the day and the number reminded. Returns that number
    (0: nobody to remind, nothing recorded). The caller fetched `department` through the scope."""
    if not scope.has_category(Category.HEALTH):
        raise PermissionDenied(_("Your administrator scope does not include health data."))
    today = timezone.localdate()
    paths = reminder_paths(scope=scope, department=department)
    with enterprise_schema(enterprise), transaction.atomic():
        with connection.cursor() as cursor:  # one reminder decision at a time per enterprise
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"health_remind:{current_schema()}"])
        earlier = LedgerEntry.objects.filter(
            action=Action.REMIND, category=Category.HEALTH, details__date=today.isoformat()
        ).values_list("details", flat=True)
        for details in earlier:
            if any(_overlaps(p, q) for p in paths for q in details.get("paths", [])):
                raise ValidationError(
                    {
                        "department": [
                            _(
                                "These members were already reminded today. A reminder can be sent once a day "
                                "for each department."
                            )
                        ]
                    }
                )
        account_ids = list(
            health_members_not_reported(scope=scope, paths=paths, day=today)
            .exclude(pk=actor.pk)
            .filter(
                account__isnull=False,
                pk__in=ConsentRecord.objects.filter(
                    category=SensitiveCategory.HEALTH,
                    purpose=ConsentPurpose.HEALTH_MONITORING,
                    withdrawn_at__isnull=True,
                ).values("membership_id"),
            )
            .values_list("account_id", flat=True)
            .distinct()
        )
        if not account_ids:
            return 0
        notify_many(
            account_ids=sorted(cast(int, pk) for pk in account_ids),
            kind=REMINDER_KIND,
            title=Message(
                gettext_noop("Please submit today's health report (%(enterprise)s)"), {"enterprise": enterprise.name}
            ),
            body=Message(gettext_noop("%(enterprise)s: you have not reported today."), {"enterprise": enterprise.name}),
            url="/me/health/",
            enterprise_id=enterprise.pk,
            channels=("sms",),
        )
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.REMIND,
            category=Category.HEALTH,
            obj=department,
            details={"date": today.isoformat(), "paths": paths, "recipients": len(account_ids)},
        )
    return len(account_ids)


# --- the export of the dashboard's figures ------------------------------------------------------

Sheet = tuple[str, list[str], list[list[Any]]]


def _cell(figure: Figure) -> int | str:
    """A figure as a spreadsheet cell: the number, or the text "< N" when suppressed (never the
    value behind it: the selector does not hold it)."""
    return figure.display if figure.suppressed else cast(int, figure.value)


def health_export_sheets(summary: HealthSummary) -> list[Sheet]:
    """The dashboard's de-identified figures as (title, header, rows) sheets in the reader's
    language: per department (the selected group first, as the page's table), per day (the
    trend chart's series), and the filter the figures are about. No names, no individual rows;
    suppressed figures are "< N" text, as on the page."""
    n = summary.min_group_size
    names = {row.path: row.name for row in summary.departments if row.path}

    def full_name(path: str, name: str) -> str:
        ids = [part for part in path.split("/") if part]
        chain = [names.get("/" + "/".join(ids[: i + 1]) + "/") for i in range(len(ids) - 1)]
        return " / ".join([*(c for c in chain if c), name])

    def cities(row: Any) -> str:
        if row.suppressed:
            return ""
        return "; ".join(f"{c.city or _('Other cities')} {c.people.display}" for c in row.cities)

    department_rows = [
        [
            full_name(row.path, row.name) if row.path else row.name,
            _cell(row.members),
            _cell(row.reported),
            _cell(row.not_reported),
            _cell(row.reports),
            _cell(row.unwell),
            cities(row),
        ]
        for row in [summary.total, *summary.departments]
    ]
    day_rows = [
        [day.date, _cell(day.members), _cell(day.reported), _cell(day.missing), _cell(day.unwell)]
        for day in summary.trend
    ]
    about: list[list[Any]] = [
        [_("From"), summary.date_from],
        [_("To"), summary.date_to],
        [_("Department"), summary.department.name if summary.department else _("Everyone in your scope")],
        [_("Minimum group size"), n],
        [
            _("Note"),
            _("A figure about fewer than %(n)d people is shown as “< %(n)d” and not broken down.") % {"n": n},
        ],
    ]
    return [
        (
            _("Departments"),
            [_("Department"), _("Members"), _("Reported"), _("Not reported"), _("Reports"), _("Unwell"), _("Cities")],
            department_rows,
        ),
        (_("Days"), [_("Date"), _("Members"), _("Reported"), _("Missing"), _("Unwell")], day_rows),
        (_("Filter"), [_("Setting"), _("Value")], about),
    ]


def health_export(
    *,
    enterprise: Enterprise,
    actor: Membership,
    scope: AdminScope,
    date_from: datetime.date,
    date_to: datetime.date,
    department: Department | None = None,
) -> tuple[str, list[Sheet]]:
    """The dashboard's figures for a range and a department subtree (fetched through the scope
    by the caller) as spreadsheet sheets, with the same minimum group size as the page (the
    figures come from `health_summary`), and its filename. Exporting is processing: one ledger
    entry (export, health) with the range, the department and N — no names, no rows of people
    (ENT-5, ENT-10)."""
    summary = health_summary(
        enterprise=enterprise, scope=scope, date_from=date_from, date_to=date_to, department=department
    )
    sheets = health_export_sheets(summary)
    with enterprise_schema(enterprise), transaction.atomic():
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.EXPORT,
            category=Category.HEALTH,
            obj=summary.department,
            details={
                "format": "xlsx",
                "date_from": summary.date_from.isoformat(),
                "date_to": summary.date_to.isoformat(),
                "department": summary.department.pk if summary.department else None,
                "min_group_size": summary.min_group_size,
                "departments": len(summary.departments),
            },
        )
    filename = f"health-{summary.date_from.isoformat()}-{summary.date_to.isoformat()}.xlsx"
    return filename, sheets
