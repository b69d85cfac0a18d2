"""Rows of every retention category, dated on either side of a cut-off (tests of RET-2..RET-5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from attendance.models import AttendanceDay, ClockEvent, ClockEventLocation
from biometrics.models import BiometricTemplate
from core.models import Membership
from health.models import HealthReport
from invitations.models import Invitation
from retention.bounds import BOUNDS, RetentionCategory
from tenants.context import enterprise_schema
from tenants.models import Enterprise, InvitationIndex


@dataclass
class Dated:
    """Ids created per category: `due` ones are past the default cut-off, `kept` ones inside."""

    due: dict[str, list[int]] = field(default_factory=dict)
    kept: dict[str, list[int]] = field(default_factory=dict)


def _ago(now: datetime, category: str, days_offset: float) -> datetime:
    """`days_offset` days past (positive) or inside (negative) the category's default cut-off."""
    return now - timedelta(days=BOUNDS[category].default + days_offset)


def seed(enterprise: Enterprise, member: Membership, *, now: datetime | None = None, per_side: int = 3) -> Dated:
    """`per_side` due and kept rows of each category for `member` (plus departed cards)."""
    now = now or timezone.now()
    dated = Dated()

    def put(category: str, due: bool, pk: int) -> None:
        (dated.due if due else dated.kept).setdefault(category, []).append(pk)

    with enterprise_schema(enterprise):
        for due in (True, False):
            offset = 2 if due else -2
            for i in range(per_side):
                # attendance: an event and a day
                moment = _ago(now, RetentionCategory.ATTENDANCE, offset) + timedelta(minutes=i)
                event = ClockEvent.objects.create(
                    membership=member, kind="in", source="app", occurred_at=moment, within_geofence=True
                )
                put("clock_events", due, event.pk)
                # (the day from the cut-off moment itself: `moment` is i minutes later, which at 23:59
                # local is the next day and would give two rows the same date)
                day = AttendanceDay.objects.create(
                    membership=member,
                    date=timezone.localdate(_ago(now, RetentionCategory.ATTENDANCE, offset))
                    - timedelta(days=i * (1 if due else -1)),
                )
                put("attendance_days", due, day.pk)
                # raw coordinates of a recent event
                recent = ClockEvent.objects.create(
                    membership=member, kind="out", source="app", occurred_at=now, within_geofence=True
                )
                location = ClockEventLocation.objects.create(event=recent, coordinates_encrypted=b"secret")
                ClockEventLocation.objects.filter(pk=location.pk).update(
                    created_at=_ago(now, RetentionCategory.RAW_COORDINATES, offset)
                )
                put(RetentionCategory.RAW_COORDINATES, due, location.pk)
                # health reports
                report = HealthReport.objects.create(
                    membership=member,
                    date=timezone.localdate(_ago(now, RetentionCategory.HEALTH_REPORTS, offset))
                    - timedelta(days=i * (1 if due else -1)),
                    city="Shanghai",
                    unwell=False,
                    details_encrypted=b"secret",
                )
                put(RetentionCategory.HEALTH_REPORTS, due, report.pk)
                # withdrawn templates
                template = BiometricTemplate.objects.create(
                    membership=member,
                    modality="face",
                    purpose="attendance",
                    template_encrypted=b"",
                    revoked_at=_ago(now, RetentionCategory.BIOMETRIC_TEMPLATES, offset),
                )
                put(RetentionCategory.BIOMETRIC_TEMPLATES, due, template.pk)
                # closed invitations (with a stale public index row)
                answered = _ago(now, RetentionCategory.INVITATIONS, offset)
                invitation = Invitation.objects.create(
                    kind="mobile",
                    mobile="+8613700000000",
                    status=Invitation.Status.DECLINED,
                    expires_at=answered + timedelta(days=7),
                    responded_at=answered,
                )
                InvitationIndex.objects.create(
                    enterprise=enterprise,
                    invitation_id=invitation.pk,
                    mobile="+8613700000000",
                    expires_at=invitation.expires_at,
                )
                put(RetentionCategory.INVITATIONS, due, invitation.pk)
                # departed members' cards
                left = Membership.objects.create(
                    display_name=f"Leaver {i} {due}",
                    status=Membership.Status.LEFT,
                    mobile="+8613700000001",
                    email="leaver@example.com",
                    title="Engineer",
                    external_fields=["mobile"],
                    left_at=_ago(now, RetentionCategory.DEPARTED_PROFILES, offset),
                )
                put(RetentionCategory.DEPARTED_PROFILES, due, left.pk)
    return dated


def existing(enterprise: Enterprise, dated_ids: dict[str, list[int]]) -> dict[str, list[int]]:
    """Which of the given ids still exist (departed cards: still not anonymised)."""
    models = {
        "clock_events": ClockEvent.objects,
        "attendance_days": AttendanceDay.objects,
        RetentionCategory.RAW_COORDINATES: ClockEventLocation.objects,
        RetentionCategory.HEALTH_REPORTS: HealthReport.objects,
        RetentionCategory.BIOMETRIC_TEMPLATES: BiometricTemplate.objects,
        RetentionCategory.INVITATIONS: Invitation.objects,
        RetentionCategory.DEPARTED_PROFILES: Membership.objects.filter(anonymised_at__isnull=True),
    }
    with enterprise_schema(enterprise):
        return {
            key: sorted(models[key].filter(pk__in=ids).values_list("pk", flat=True)) for key, ids in dated_ids.items()
        }
