"""Retention categories and the platform's defaults and bounds (RET-1).

Every enterprise keeps each category for a number of days of its choosing within [min, max];
unset categories use the default. The reasons (and their legal sources) are in docs/retention.md;
the purge that enforces them is retention.services.purge."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tenants.categories import Category


class RetentionCategory(models.TextChoices):
    ATTENDANCE = "attendance", _("Attendance records")
    RAW_COORDINATES = "raw_coordinates", _("Raw clock-in coordinates and photos")
    HEALTH_REPORTS = "health_reports", _("Health reports")
    BIOMETRIC_TEMPLATES = "biometric_templates", _("Withdrawn biometric templates")
    INVITATIONS = "invitations", _("Closed invitations")
    LEDGER = "ledger", _("Instruction ledger")
    DEPARTED_PROFILES = "departed_profiles", _("Profiles of departed members")
    EXPORTS = "exports", _("Data exports")


@dataclass(frozen=True)
class RetentionBounds:
    default: int
    min_days: int
    max_days: int
    # the administrator category (ENT-8) whose ledger entries record this category's purges
    admin_category: str
    description: Promise
    # False: declared for a later feature (nothing to purge yet)
    purged: bool = True


YEAR = 365

BOUNDS: dict[str, RetentionBounds] = {
    RetentionCategory.ATTENDANCE: RetentionBounds(
        2 * YEAR,
        2 * YEAR,
        5 * YEAR,
        Category.ATTENDANCE,
        _("Clock events and daily attendance records, counted from the day they record."),
    ),
    RetentionCategory.RAW_COORDINATES: RetentionBounds(
        30,
        1,
        90,
        Category.ATTENDANCE,
        _(
            "Latitude and longitude sent with a clock-in, counted from when they were received. The clock event "
            "itself stays under attendance records."
        ),
    ),
    RetentionCategory.HEALTH_REPORTS: RetentionBounds(
        30,
        1,
        180,
        Category.HEALTH,
        _("Daily health reports, counted from the day they report."),
    ),
    RetentionCategory.BIOMETRIC_TEMPLATES: RetentionBounds(
        30,
        1,
        180,
        Category.BIOMETRICS,
        _(
            "What remains of a withdrawn template, and any template still held for a member who left, counted "
            "from the withdrawal or departure. Active templates are kept while the member consents."
        ),
    ),
    RetentionCategory.INVITATIONS: RetentionBounds(
        90,
        1,
        YEAR,
        Category.DIRECTORY,
        _("Accepted, declined, withdrawn and expired invitations, counted from the answer or the expiry."),
    ),
    RetentionCategory.LEDGER: RetentionBounds(
        3 * YEAR,
        3 * YEAR,
        10 * YEAR,
        Category.LEDGER,
        _("Entries of the instruction ledger, counted from when they were written."),
    ),
    RetentionCategory.DEPARTED_PROFILES: RetentionBounds(
        30,
        1,
        90,
        Category.DIRECTORY,
        _(
            "The directory card of a member who left (or of an invitation never accepted) is anonymised after "
            "this many days."
        ),
    ),
    RetentionCategory.EXPORTS: RetentionBounds(
        7,
        1,
        30,
        Category.DIRECTORY,
        _("Files of data exports made for members, counted from when they were made."),
    ),
}

# The order a purge run takes: raw coordinates before the events they belong to, the ledger last
# (it receives the receipts of the others).
PURGE_ORDER: tuple[str, ...] = (
    RetentionCategory.RAW_COORDINATES,
    RetentionCategory.ATTENDANCE,
    RetentionCategory.HEALTH_REPORTS,
    RetentionCategory.BIOMETRIC_TEMPLATES,
    RetentionCategory.INVITATIONS,
    RetentionCategory.DEPARTED_PROFILES,
    RetentionCategory.EXPORTS,
    RetentionCategory.LEDGER,
)

assert set(BOUNDS) == set(RetentionCategory.values)
assert all(b.min_days <= b.default <= b.max_days for b in BOUNDS.values())
assert set(PURGE_ORDER) == {c for c, b in BOUNDS.items() if b.purged}
