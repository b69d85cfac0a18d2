"""Reads of the members' exports (DSR-2, DSR-7): how many a member made lately, and the state a
member sees (a finished export whose link was used or expired reads as expired)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from core.models import Membership
from requests.models import Export

LIMIT_DAYS = 30  # DSR-7: the window of the per-member export limit


def exports_recent_count(*, membership: Membership, now: dt.datetime | None = None) -> int:
    """Exports the member made in this enterprise over the last LIMIT_DAYS days (failed ones
    delivered nothing and are not counted)."""
    since = (now or timezone.now()) - dt.timedelta(days=LIMIT_DAYS)
    return (
        Export.objects.filter(membership=membership, created_at__gte=since).exclude(state=Export.State.FAILED).count()
    )


def export_effective_state(export: Export, *, now: dt.datetime | None = None) -> str:
    if export.state == Export.State.DONE and (
        export.downloaded_at is not None or export.expires_at <= (now or timezone.now())
    ):
        return Export.State.EXPIRED
    return export.state
