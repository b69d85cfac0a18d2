"""Device permissions of an account (CON-5): camera, microphone, calendar and contacts are off
by default; each grant and revocation is recorded with its time and channel; the features that
need one check it with `device_permission_require` (contact matching, ENT-7).

The rows live in the public schema (DevicePermission = the current state, one per account and
kind, absent = off; DevicePermissionEvent = the history)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from consent.models.platform import DevicePermission, DevicePermissionEvent, PolicyAcceptance
from consent.permissions.selectors import device_permission_granted

Kind = DevicePermission.Kind
Channel = PolicyAcceptance.Channel

DEVICE_PERMISSION_REQUIRED = "device_permission_required"


class DevicePermissionRequired(PermissionDenied):
    """A feature needs a device permission the account has not granted (CON-5). APIs answer it
    403 with `code` = "device_permission_required" and the permission's `kind`."""

    code = DEVICE_PERMISSION_REQUIRED

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.message = _(
            "This feature needs the “%(permission)s” device permission. Grant it in your "
            "account's device permissions and try again."
        ) % {"permission": Kind(kind).label}
        super().__init__(self.message)


def _clean(kind: object, channel: object, granted: object) -> tuple[str, str, bool]:
    errors: dict[str, list[str]] = {}
    if kind not in Kind.values:
        errors["kind"] = [_("Choose a known device permission (camera, microphone, calendar or contacts).")]
    if channel not in Channel.values:
        errors["channel"] = [_("Choose a known channel (web, API or app).")]
    if not isinstance(granted, bool):
        errors["granted"] = [_("Say whether the permission is granted (true or false).")]
    if errors:
        raise ValidationError(errors)
    return str(kind), str(channel), bool(granted)


def device_permission_set(*, account: User, kind: str, granted: bool, channel: str) -> bool:
    """Grant or revoke `kind` for `account` (CON-5): the current state and one history event,
    in one transaction. Returns True when something changed; setting the state it already has
    records nothing. Unknown kind, channel or a non-boolean `granted` → ValidationError with
    field errors, nothing written. Takes effect at once: the next check reads the new row."""
    kind, channel, granted = _clean(kind, channel, granted)
    now = timezone.now()
    with transaction.atomic():
        row = DevicePermission.objects.select_for_update().filter(account=account, kind=kind).first()
        current = row.granted if row is not None else False
        if current == granted:
            return False
        if row is None:
            DevicePermission.objects.create(account=account, kind=kind, granted=granted, changed_at=now)
        else:
            row.granted = granted
            row.changed_at = now
            row.save(update_fields=["granted", "changed_at"])
        DevicePermissionEvent.objects.create(
            account=account,
            kind=kind,
            channel=channel,
            at=now,
            action=DevicePermissionEvent.Action.GRANT if granted else DevicePermissionEvent.Action.REVOKE,
        )
    return True


def device_permission_require(*, account: User, kind: str) -> None:
    """Raise DevicePermissionRequired unless `account` has granted `kind` (CON-5)."""
    if not device_permission_granted(account=account, kind=kind):
        raise DevicePermissionRequired(kind)
