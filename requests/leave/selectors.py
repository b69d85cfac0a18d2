"""Reads of leaving an enterprise (DSR-5): whether the member is its only owner, and what leaving
means for them now (counts of what is deleted at once, the grace period before the card is
anonymised)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from attendance.models import AttendanceDay, ClockEvent
from core.models import Membership
from ledger.models import LedgerEntry
from retention.bounds import RetentionCategory
from retention.selectors import retention_days_for
from retention.services.erasure import (
    DEPARTURE_NOW_PLAN,
    erasure_plan_counts,
)
from tenants.context import enterprise_schema
from tenants.models import Enterprise


@dataclass(frozen=True)
class LeavePlan:
    """What leaving means for this member, with counts as of now (DSR-5)."""

    templates: int
    health_reports: int
    grace_days: int
    anonymise_at: datetime
    raw_locations: int
    id_numbers: int
    attendance_events: int
    attendance_days: int
    attendance_retention_days: int
    ledger_entries: int
    ledger_retention_days: int
    sole_owner: bool

    @property
    def can_leave(self) -> bool:
        return not self.sole_owner


def is_sole_owner(membership: Membership) -> bool:
    """In the current schema: `membership` is an active owner and no other active owner exists."""
    if membership.role != Membership.Role.OWNER:
        return False
    return (
        not Membership.objects.filter(role=Membership.Role.OWNER, status=Membership.Status.ACTIVE)
        .exclude(pk=membership.pk)
        .exists()
    )


def leave_plan(*, enterprise: Enterprise, membership: Membership, now: datetime | None = None) -> LeavePlan:
    """The plan shown before confirming: counts per kind of data and the dates that apply."""
    now = now or timezone.now()
    days = retention_days_for(enterprise)
    grace = days[RetentionCategory.DEPARTED_PROFILES]
    now_counts = erasure_plan_counts(enterprise=enterprise, membership_id=membership.pk, plan=DEPARTURE_NOW_PLAN)
    later = erasure_plan_counts(
        enterprise=enterprise,
        membership_id=membership.pk,
        plan={
            "steps": [
                {"category": "raw_coordinates", "action": "delete"},
                {"category": "id_documents", "action": "delete"},
            ]
        },
    )
    with enterprise_schema(enterprise):
        attendance_events = ClockEvent.objects.filter(membership_id=membership.pk).count()
        attendance_days = AttendanceDay.objects.filter(membership_id=membership.pk).count()
        ledger_entries = LedgerEntry.objects.filter(subject_membership_id=membership.pk).count()
        sole_owner = is_sole_owner(membership)
    return LeavePlan(
        templates=now_counts["biometric_templates:delete"]["templates"],
        health_reports=now_counts["health_reports:delete"]["health_reports"],
        grace_days=grace,
        anonymise_at=now + timedelta(days=grace),
        raw_locations=later["raw_coordinates:delete"].get("raw_locations", 0),
        id_numbers=later["id_documents:delete"].get("id_numbers", 0),
        attendance_events=attendance_events,
        attendance_days=attendance_days,
        attendance_retention_days=days[RetentionCategory.ATTENDANCE],
        ledger_entries=ledger_entries,
        ledger_retention_days=days[RetentionCategory.LEDGER],
        sole_owner=sole_owner,
    )
