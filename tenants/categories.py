"""Data categories (ENT-8): what a scoped administrator may be granted, per department subtree."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    DIRECTORY = "directory", _("Directory")
    ATTENDANCE = "attendance", _("Attendance")
    HEALTH = "health", _("Health")
    BIOMETRICS = "biometrics", _("Biometrics")
    LEDGER = "ledger", _("Instruction ledger")
    RETENTION = "retention", _("Retention settings")
    CONSENT = "consent", _("Notices and consents")


# Owners hold every category over the whole enterprise. Full administrators hold these; health
# and biometric data stay invisible to them unless granted explicitly (least privilege, ENT-8).
FULL_ADMIN_CATEGORIES = frozenset(
    {
        Category.DIRECTORY,
        Category.ATTENDANCE,
        Category.LEDGER,
        Category.RETENTION,
        Category.CONSENT,
    }
)
# Categories that are not about members of a department: granted on the root department only.
ENTERPRISE_WIDE_CATEGORIES = frozenset({Category.LEDGER, Category.RETENTION, Category.CONSENT})


def scope_permission(category: str) -> str:
    """The django-guardian permission codename on Department for a category."""
    return f"scope_{category}"


# Declared by console pages and API views that any administrator may open (e.g. the console home).
ANY_CATEGORY = "any"
