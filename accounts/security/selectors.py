"""What the security pages show (issue 17 §2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from accounts.models import AccountEvent, AccountSession, User
from accounts.security.devices import coarse_address, device_label
from accounts.security.places import region

RECENT_EVENTS = 10


@dataclass(frozen=True)
class SessionRow:
    id: int
    device: str
    place: str  # the masked address
    region: str  # where it is (accounts.security.places), "" when unknown
    host: str
    signed_in: datetime
    last_seen: datetime
    current: bool


def sessions_for(*, account: User, current_id: int | None) -> list[SessionRow]:
    """The account's open sessions, this one first, then by last seen."""
    rows = AccountSession.objects.filter(account=account, ended_at__isnull=True).order_by("-last_seen", "-id")
    found = [
        SessionRow(
            id=row.pk,
            device=device_label(row.user_agent),
            place=coarse_address(row.ip),
            region=region(row.ip),
            host=row.host.rsplit(":", 1)[0] if row.host.count(":") == 1 else row.host,
            signed_in=row.created_at,
            last_seen=row.last_seen,
            current=row.pk == current_id,
        )
        for row in rows
    ]
    return sorted(found, key=lambda row: not row.current)


def events_for(*, account: User, limit: int = RECENT_EVENTS) -> QuerySet[AccountEvent]:
    return AccountEvent.objects.filter(account=account).order_by("-created_at", "-id")[:limit]


def other_session_exists(*, account: User, session_id: int, current_id: int | None) -> bool:
    """An open session of `account` other than the current one."""
    if session_id == current_id:
        return False
    return AccountSession.objects.filter(account=account, pk=session_id, ended_at__isnull=True).exists()
