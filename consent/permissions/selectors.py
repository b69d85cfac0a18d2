"""Reads of the device permissions an account granted (CON-5): the current state of each and the
history of changes, for the account's page and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from accounts.models import User
from consent.models.platform import DevicePermission, DevicePermissionEvent


@dataclass(frozen=True)
class PermissionState:
    kind: str
    label: str
    granted: bool
    changed_at: datetime | None


def device_permission_granted(*, account: User, kind: str) -> bool:
    """Whether `account` has granted `kind` now (CON-5): False unless a grant is recorded and not
    revoked since. One query."""
    if account is None or not getattr(account, "pk", None):
        return False
    return DevicePermission.objects.filter(account=account, kind=kind, granted=True).exists()


def device_permissions_for(*, account: User) -> list[PermissionState]:
    """Every device permission of `account`, in the fixed order camera, microphone, calendar,
    contacts; absent rows are off. One query."""
    rows = {row.kind: row for row in DevicePermission.objects.filter(account=account)}
    return [
        PermissionState(
            kind=kind.value,
            label=str(kind.label),
            granted=bool(rows[kind.value].granted) if kind.value in rows else False,
            changed_at=rows[kind.value].changed_at if kind.value in rows else None,
        )
        for kind in DevicePermission.Kind
    ]


def device_permission_history(*, account: User, limit: int = 100) -> list[DevicePermissionEvent]:
    """The newest `limit` grants and revocations of `account`, newest first. One query."""
    return list(DevicePermissionEvent.objects.filter(account=account).order_by("-at", "-id")[:limit])
