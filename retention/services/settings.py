"""Retention settings (RET-1): an enterprise's period per data category, within the platform's
bounds (retention.bounds.BOUNDS). Every change is a ledger entry (ENT-10)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.models import Membership
from ledger.services import Action, ledger_record
from retention.bounds import BOUNDS
from retention.models import RetentionSetting
from tenants.categories import Category
from tenants.context import enterprise_schema
from tenants.models import Enterprise


def _clean_days(category: str, days: Any) -> int:
    """Field errors keyed by the category's code."""
    bounds = BOUNDS.get(category)
    if bounds is None:
        raise ValidationError({"category": _("Choose a known retention category.")}, code="invalid")
    if isinstance(days, bool) or not isinstance(days, int):
        raise ValidationError({category: _("Enter a whole number of days.")}, code="invalid")
    if not bounds.min_days <= days <= bounds.max_days:
        raise ValidationError(
            {
                category: _("Enter a number of days between %(min)d and %(max)d.")
                % {"min": bounds.min_days, "max": bounds.max_days}
            },
            code="out_of_bounds",
        )
    return days


def _update(*, enterprise: Enterprise, actor: Membership | None, category: str, days: int) -> bool:
    """Write one setting inside the caller's transaction; False when nothing changed."""
    setting = RetentionSetting.objects.select_for_update().filter(category=category).first()
    before = setting.days if setting is not None else BOUNDS[category].default
    if days == before:  # unchanged (an unset category keeping its default stays unset)
        return False
    if setting is None:
        setting = RetentionSetting(category=category)
    setting.days = days
    setting.updated_by = actor
    setting.save()
    ledger_record(
        enterprise=enterprise,
        actor=actor,
        action=Action.RETENTION_CHANGE,
        category=Category.RETENTION,
        obj=setting,
        details={"retention_category": category, "from_days": before, "to_days": days},
    )
    return True


def retention_setting_update(
    *, enterprise: Enterprise, actor: Membership | None, category: str, days: int
) -> RetentionSetting:
    """Set the enterprise's retention period for `category` (RET-1): refused with a field error
    outside the platform's bounds; one ledger entry (retention_change) when it changes."""
    days = _clean_days(category, days)
    with enterprise_schema(enterprise), transaction.atomic():
        _update(enterprise=enterprise, actor=actor, category=category, days=days)
        return RetentionSetting.objects.get(category=category)


def retention_settings_update(
    *, enterprise: Enterprise, actor: Membership | None, days: Mapping[str, int]
) -> list[str]:
    """Several categories at once (the console form, the API's PATCH): every value is checked
    first (all field errors together, nothing written), then all are written in one transaction.
    Returns the categories that changed."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, int] = {}
    for category, value in days.items():
        try:
            cleaned[category] = _clean_days(category, value)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    with enterprise_schema(enterprise), transaction.atomic():
        return [
            category
            for category, value in cleaned.items()
            if _update(enterprise=enterprise, actor=actor, category=category, days=value)
        ]
