"""Attendance (ENT-4): clock-in/out, geofences, the attendance policy, daily records.

Rules (docs/attendance.md):

- A clock event is *in range* when its coordinates are within the radius of an active geofence
  (great-circle distance, haversine), or its Wi-Fi BSSID is listed on an active geofence. Events
  from an attendance device count as in range (the device stands in the office).
- The event keeps a coarse location cell (coordinates rounded to 2 decimals, about 1 km); the raw
  coordinates are encrypted with the member's data key in ClockEventLocation, which has its own,
  shorter retention category ("location detail", RET-1, RET-6).
- The member's AttendanceDay for the event's local date (settings.TIME_ZONE, Asia/Shanghai) is
  updated in the same transaction by one upsert: first_in = earliest clock-in, last_out = latest
  clock-out, exceptions "late" and "out_of_range". `attendance_mark_missing` adds "missing_in"
  and "missing_out" for a past working day (China's public holidays and weekends are skipped).

A member's own clock-in is the member's own action, not an admin instruction, so it writes no
ledger entry; geofence and policy changes and revealing raw coordinates do (ENT-10)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.profile.services import image_content_type
from attendance.models import AttendanceDay, AttendancePolicy, ClockEvent, ClockEventLocation, ClockEventPhoto, Geofence
from attendance.selectors import (
    Granularity,
    MemberRow,
    MemberStatistics,
    PeriodRow,
    Statistics,
    StatisticsWindow,
    attendance_statistics,
    is_working_day,
    statistics_periods,
)
from biometrics.models import Device
from consent.consents.services import require_basis
from consent.minors.services import require_processable
from consent.models import ConsentPurpose, DevicePermission, SensitiveCategory
from consent.permissions.services import device_permission_require
from core.encryption import KeyUnavailable, decrypt_for_member, encrypt_for_member
from core.models import Membership
from core.scopes import AdminScope, admin_scope_for
from ledger.services import Action, ledger_record
from tenants.categories import Category
from tenants.context import enterprise_schema
from tenants.models import Enterprise

COORDINATES_FIELD = "clock_coordinates"  # the encryption context of ClockEventLocation
PHOTO_FIELD = "clock_photo"  # the encryption context of ClockEventPhoto
MAX_PHOTO_BYTES = 2 * 1024 * 1024
EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
CELL_DECIMALS = 2  # location cell: 0.01° ≈ 1.1 km north-south
MAX_FUTURE = timedelta(minutes=5)  # clock skew tolerated on occurred_at
MAX_PAST = timedelta(days=31)  # a device may post events it buffered while offline, not older
MAX_RADIUS_M = 100_000
MAX_ACCURACY_M = 1_000_000
MAX_BSSIDS = 100
BSSID_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")

EXCEPTION_LATE = "late"
EXCEPTION_MISSING_IN = "missing_in"
EXCEPTION_MISSING_OUT = "missing_out"
EXCEPTION_OUT_OF_RANGE = "out_of_range"
EXCEPTIONS = (EXCEPTION_LATE, EXCEPTION_MISSING_IN, EXCEPTION_MISSING_OUT, EXCEPTION_OUT_OF_RANGE)


# --- small pure helpers (unit-tested) ----------------------------------------------------------


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = math.radians(lat2 - lat1), math.radians(lng2 - lng1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def location_cell(latitude: float, longitude: float) -> str:
    """The coarse cell kept on the event: coordinates rounded to 2 decimals ("31.23,121.47")."""
    lat, lng = round(latitude, CELL_DECIMALS) + 0.0, round(longitude, CELL_DECIMALS) + 0.0  # no "-0.00"
    return f"{lat:.{CELL_DECIMALS}f},{lng:.{CELL_DECIMALS}f}"


def normalize_bssid(value: str) -> str:
    return (value or "").strip().lower().replace("-", ":")


@dataclass(frozen=True)
class Classification:
    within_geofence: bool
    geofence: Geofence | None


def classify(
    *,
    geofences: list[Geofence],
    latitude: float | None,
    longitude: float | None,
    wifi_bssid: str | None,
    from_device: bool = False,
) -> Classification:
    """In range when the BSSID is listed on an active geofence or the coordinates are within an
    active geofence's radius (the nearest such geofence is named); device events are in range."""
    active = [g for g in geofences if g.is_active]
    bssid = normalize_bssid(wifi_bssid or "")
    if bssid:
        for geofence in active:
            if bssid in {normalize_bssid(b) for b in geofence.wifi_bssids or []}:
                return Classification(True, geofence)
    if latitude is not None and longitude is not None:
        best: tuple[float, Geofence] | None = None
        for geofence in active:
            distance = haversine_m(latitude, longitude, float(geofence.latitude), float(geofence.longitude))
            if distance <= geofence.radius_m and (best is None or distance < best[0]):
                best = (distance, geofence)
        if best is not None:
            return Classification(True, best[1])
    return Classification(from_device, None)


def _number(value: Any, field: str, errors: dict[str, list[str]]) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        errors.setdefault(field, []).append(_("Enter a number."))
        return None
    if not math.isfinite(number):
        errors.setdefault(field, []).append(_("Enter a number."))
        return None
    return number


def _check_coordinates(latitude: float | None, longitude: float | None, errors: dict[str, list[str]]) -> None:
    if latitude is not None and not -90 <= latitude <= 90:
        errors.setdefault("latitude", []).append(_("Latitude must be between -90 and 90."))
    if longitude is not None and not -180 <= longitude <= 180:
        errors.setdefault("longitude", []).append(_("Longitude must be between -180 and 180."))


# --- the attendance policy ----------------------------------------------------------------------


def _policy_defaults() -> AttendancePolicy:
    """An unsaved policy with the model's defaults (TimeField defaults are strings until saved)."""
    policy = AttendancePolicy(pk=1)
    for name in ("work_starts", "work_ends"):
        value = getattr(policy, name)
        if isinstance(value, str):
            setattr(policy, name, time.fromisoformat(value))
    return policy


def attendance_policy_get(*, enterprise: Enterprise) -> AttendancePolicy:
    """The enterprise's policy (pk=1), or the defaults (unsaved) when none was set."""
    with enterprise_schema(enterprise):
        return AttendancePolicy.objects.filter(pk=1).first() or _policy_defaults()


def late_threshold(policy: AttendancePolicy, day: date) -> datetime:
    """A first clock-in after this instant makes the day "late"."""
    starts = datetime.combine(day, policy.work_starts)
    return timezone.make_aware(starts, timezone.get_default_timezone()) + timedelta(minutes=policy.late_after_minutes)


def attendance_policy_update(
    *,
    enterprise: Enterprise,
    actor: Membership | None,
    work_starts: time,
    work_ends: time,
    late_after_minutes: int,
) -> AttendancePolicy:
    errors: dict[str, list[str]] = {}
    if not isinstance(work_starts, time):
        errors["work_starts"] = [_("Enter a time.")]
    if not isinstance(work_ends, time):
        errors["work_ends"] = [_("Enter a time.")]
    if not errors and work_ends <= work_starts:
        errors["work_ends"] = [_("The working day must end after it starts.")]
    if (
        not isinstance(late_after_minutes, int)
        or isinstance(late_after_minutes, bool)
        or not 0 <= late_after_minutes <= 720
    ):
        errors["late_after_minutes"] = [_("Enter a number of minutes between 0 and 720.")]
    if errors:
        raise ValidationError(errors)
    with enterprise_schema(enterprise), transaction.atomic():
        policy = AttendancePolicy.objects.select_for_update().filter(pk=1).first() or _policy_defaults()
        changed = [
            name
            for name, value in (
                ("work_starts", work_starts),
                ("work_ends", work_ends),
                ("late_after_minutes", late_after_minutes),
            )
            if getattr(policy, name) != value
        ]
        policy.work_starts, policy.work_ends, policy.late_after_minutes = work_starts, work_ends, late_after_minutes
        policy.save()
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.CHANGE,
            category=Category.ATTENDANCE,
            obj=policy,
            details={"fields": changed},
        )
    return policy


# --- clock-in / clock-out ----------------------------------------------------------------------

# Citus refuses non-IMMUTABLE functions in DO UPDATE SET on a distributed table (each enterprise
# schema is one there; docs/scaling.md "Citus"): the time is a parameter, and the exceptions array is
# built from jsonb constants with `||` (immutable), not with to_jsonb (stable). The items keep their
# order: late, missing_in, missing_out, out_of_range.
_DAY_UPSERT = """
INSERT INTO {day} AS d (membership_id, date, first_in, last_out, exceptions, updated_at)
VALUES (%(membership)s, %(date)s, %(first_in)s, %(last_out)s,
        '[]'::jsonb
        || CASE WHEN %(first_in)s::timestamptz > %(late_at)s THEN '["late"]'::jsonb ELSE '[]'::jsonb END
        || CASE WHEN %(out_of_range)s THEN '["out_of_range"]'::jsonb ELSE '[]'::jsonb END,
        %(now)s)
ON CONFLICT (membership_id, date) DO UPDATE SET
    first_in = LEAST(d.first_in, EXCLUDED.first_in),
    last_out = GREATEST(d.last_out, EXCLUDED.last_out),
    exceptions = '[]'::jsonb
        || CASE WHEN LEAST(d.first_in, EXCLUDED.first_in) > %(late_at)s
                THEN '["late"]'::jsonb ELSE '[]'::jsonb END
        || CASE WHEN LEAST(d.first_in, EXCLUDED.first_in) IS NULL
                     AND d.exceptions @> '["missing_in"]'::jsonb
                THEN '["missing_in"]'::jsonb ELSE '[]'::jsonb END
        || CASE WHEN LEAST(d.first_in, EXCLUDED.first_in) IS NOT NULL
                     AND GREATEST(d.last_out, EXCLUDED.last_out) IS NULL
                     AND d.exceptions @> '["missing_out"]'::jsonb
                THEN '["missing_out"]'::jsonb ELSE '[]'::jsonb END
        || CASE WHEN d.exceptions @> '["out_of_range"]'::jsonb OR %(out_of_range)s
                THEN '["out_of_range"]'::jsonb ELSE '[]'::jsonb END,
    updated_at = EXCLUDED.updated_at
"""


def _day_upsert(*, event: ClockEvent, policy: AttendancePolicy) -> None:
    """One statement: insert the day or fold the event into it (safe under concurrent clocks,
    since ON CONFLICT DO UPDATE sees the latest committed row). `updated_at` is Django's clock,
    as `auto_now` writes it; the statement calls no stable function (Citus)."""
    day = timezone.localdate(event.occurred_at, timezone=timezone.get_default_timezone())
    params: dict[str, Any] = {
        "membership": event.membership_id,
        "date": day,
        "first_in": event.occurred_at if event.kind == ClockEvent.Kind.IN else None,
        "last_out": event.occurred_at if event.kind == ClockEvent.Kind.OUT else None,
        "late_at": late_threshold(policy, day),
        "out_of_range": not event.within_geofence,
        "now": timezone.now(),
    }
    with connection.cursor() as cursor:
        cursor.execute(_DAY_UPSERT.format(day=connection.ops.quote_name(AttendanceDay._meta.db_table)), params)


def attendance_clock(
    *,
    enterprise: Enterprise,
    membership: Membership,
    kind: str,
    source: str,
    occurred_at: datetime | None = None,
    latitude: float | Decimal | str | None = None,
    longitude: float | Decimal | str | None = None,
    accuracy_m: float | int | Decimal | str | None = None,
    wifi_bssid: str | None = None,
    device: Device | None = None,
    photo: bytes | None = None,
) -> ClockEvent:
    """Record a clock-in or clock-out (ENT-4) and update the member's day, in one transaction.

    Raises ValidationError with field errors (nothing written) for bad input: latitude outside
    -90..90, longitude outside -180..180, negative accuracy, unknown kind/source, an app event
    without coordinates, a Wi-Fi event without a BSSID, a device event without a device, a photo
    that is not a JPEG or PNG of at most 2 MB.

    Raw coordinates need the member's precise-location consent (CON-4). A photo (the app's camera
    at clock-in) needs the account's camera device permission (CON-5, checked on every call, so a
    revocation is effective at once) and the member's biometrics consent for attendance. So does
    an event from an attendance device (source "device"): the device recognised the member by
    their template, so once the basis is gone (CON-6) a device still holding it is refused."""
    require_processable(membership.account if membership.account_id else None)  # ACC-4
    errors: dict[str, list[str]] = {}
    if kind not in ClockEvent.Kind.values:
        errors["kind"] = [_("Choose clock in or clock out.")]
    if source not in ClockEvent.Source.values:
        errors["source"] = [_("Choose a known source (app, Wi-Fi or device).")]
    lat = _number(latitude, "latitude", errors)
    lng = _number(longitude, "longitude", errors)
    accuracy = _number(accuracy_m, "accuracy_m", errors)
    _check_coordinates(lat, lng, errors)
    if accuracy is not None and not 0 <= accuracy <= MAX_ACCURACY_M:
        errors.setdefault("accuracy_m", []).append(
            _("Accuracy must be between 0 and %(max)s metres.") % {"max": MAX_ACCURACY_M}
        )
    if (lat is None) != (lng is None) and "latitude" not in errors and "longitude" not in errors:
        errors.setdefault("latitude" if lat is None else "longitude", []).append(
            _("Give both latitude and longitude, or neither.")
        )
    bssid = normalize_bssid(wifi_bssid or "")
    if bssid and not BSSID_RE.match(bssid):
        errors["wifi_bssid"] = [_("Enter a BSSID like 00:11:22:aa:bb:cc.")]
    if (
        source == ClockEvent.Source.APP
        and (lat is None or lng is None)
        and "latitude" not in errors
        and "longitude" not in errors
    ):
        errors.setdefault("latitude", []).append(_("A clock-in from the app needs your location."))
        errors.setdefault("longitude", []).append(_("A clock-in from the app needs your location."))
    if source == ClockEvent.Source.WIFI and not bssid:
        errors.setdefault("wifi_bssid", []).append(_("A Wi-Fi clock-in needs the network's BSSID."))
    if source == ClockEvent.Source.DEVICE and device is None:
        errors["device"] = [_("A device clock-in needs the device.")]
    if device is not None and device.revoked_at is not None:
        errors["device"] = [_("This device has been revoked.")]
    if not membership.is_active:
        errors["membership"] = [_("Only an active member can clock in or out.")]
    now = timezone.now()
    when = occurred_at or now
    if timezone.is_naive(when):
        when = timezone.make_aware(when, timezone.get_default_timezone())
    if when > now + MAX_FUTURE:
        errors["occurred_at"] = [_("The time cannot be in the future.")]
    elif when < now - MAX_PAST:
        errors["occurred_at"] = [_("The time is too far in the past.")]
    photo_type = None
    if photo is not None:
        photo_type = image_content_type(bytes(photo[:16]))
        if not photo or len(photo) > MAX_PHOTO_BYTES or photo_type is None:
            errors["photo"] = [_("Send a JPEG or PNG photo of at most 2 MB.")]
        elif source != ClockEvent.Source.APP:
            errors["photo"] = [_("Only the app takes a photo at clock-in.")]
    if errors:
        raise ValidationError(errors)
    if lat is not None and lng is not None:  # raw coordinates are precise location (CON-4)
        require_basis(
            enterprise=enterprise,
            membership=membership,
            category=SensitiveCategory.PRECISE_LOCATION,
            purpose=ConsentPurpose.ATTENDANCE,
        )
    if source == ClockEvent.Source.DEVICE:  # ENT-6: the device recognised the member by a template
        require_basis(
            enterprise=enterprise,
            membership=membership,
            category=SensitiveCategory.BIOMETRICS,
            purpose=ConsentPurpose.ATTENDANCE,
        )  # CON-6: a device that has not polled yet
    if photo is not None:  # CON-5 camera, then CON-4: a face photo is biometric
        if membership.account is None:
            raise ValidationError({"photo": [_("Only a member with an account can send a photo.")]})
        device_permission_require(account=membership.account, kind=DevicePermission.Kind.CAMERA)
        require_basis(
            enterprise=enterprise,
            membership=membership,
            category=SensitiveCategory.BIOMETRICS,
            purpose=ConsentPurpose.ATTENDANCE,
        )

    with enterprise_schema(enterprise), transaction.atomic():
        verdict = classify(
            geofences=list(Geofence.objects.filter(is_active=True)),
            latitude=lat,
            longitude=lng,
            wifi_bssid=bssid,
            from_device=source == ClockEvent.Source.DEVICE,
        )
        event = ClockEvent.objects.create(
            membership=membership,
            kind=kind,
            source=source,
            occurred_at=when,
            within_geofence=verdict.within_geofence,
            geofence=verdict.geofence,
            location_cell=location_cell(lat, lng) if lat is not None and lng is not None else "",
            accuracy_m=round(accuracy) if accuracy is not None else None,
            device=device,
        )
        if lat is not None and lng is not None:
            raw = json.dumps({"latitude": lat, "longitude": lng, "accuracy_m": accuracy}, separators=(",", ":"))
            ClockEventLocation.objects.create(
                event=event,
                coordinates_encrypted=encrypt_for_member(
                    enterprise=enterprise, membership_id=membership.pk, field=COORDINATES_FIELD, value=raw
                ),
            )
        if photo is not None and photo_type is not None:
            ClockEventPhoto.objects.create(
                event=event,
                content_type=photo_type,
                photo_encrypted=encrypt_for_member(
                    enterprise=enterprise, membership_id=membership.pk, field=PHOTO_FIELD, value=bytes(photo)
                ),
            )
        _day_upsert(event=event, policy=attendance_policy_get(enterprise=enterprise))
    return event


# --- geofences ---------------------------------------------------------------------------------


def _clean_geofence(
    *,
    name: str | None,
    latitude: Any,
    longitude: Any,
    radius_m: Any,
    wifi_bssids: Any,
    is_active: Any,
    errors: dict[str, list[str]],
) -> dict[str, Any]:
    """Validated values of the fields given (None = not given)."""
    values: dict[str, Any] = {}
    if name is not None:
        cleaned = (name or "").strip()
        if not cleaned:
            errors["name"] = [_("Enter a name.")]
        elif len(cleaned) > 100:
            errors["name"] = [_("At most 100 characters.")]
        values["name"] = cleaned
    for field, value, bound in (("latitude", latitude, 90), ("longitude", longitude, 180)):
        if value is None:
            continue
        number = _number(value, field, errors)
        if number is None:
            errors.setdefault(field, [_("Enter a number.")])
        elif not -bound <= number <= bound:
            errors[field] = [
                _("Latitude must be between -90 and 90.")
                if field == "latitude"
                else _("Longitude must be between -180 and 180.")
            ]
        else:
            values[field] = Decimal(str(number)).quantize(Decimal("0.000001"))
    if radius_m is not None:
        if isinstance(radius_m, bool) or not isinstance(radius_m, int) or not 1 <= radius_m <= MAX_RADIUS_M:
            errors["radius_m"] = [_("Enter a radius between 1 and %(max)s metres.") % {"max": MAX_RADIUS_M}]
        else:
            values["radius_m"] = radius_m
    if wifi_bssids is not None:
        if isinstance(wifi_bssids, str) or not isinstance(wifi_bssids, list | tuple):
            errors["wifi_bssids"] = [_("Give a list of BSSIDs.")]
        else:
            bssids: list[str] = []
            for raw in wifi_bssids:
                bssid = normalize_bssid(raw) if isinstance(raw, str) else ""
                if not BSSID_RE.match(bssid):
                    errors["wifi_bssids"] = [_("Enter BSSIDs like 00:11:22:aa:bb:cc.")]
                    break
                if bssid not in bssids:
                    bssids.append(bssid)
            if len(bssids) > MAX_BSSIDS:
                errors["wifi_bssids"] = [_("At most %(max)s BSSIDs.") % {"max": MAX_BSSIDS}]
            values["wifi_bssids"] = bssids
    if is_active is not None:
        if not isinstance(is_active, bool):
            errors["is_active"] = [_("Choose yes or no.")]
        values["is_active"] = is_active
    return values


def geofence_create(
    *,
    enterprise: Enterprise,
    actor: Membership | None,
    name: str,
    latitude: float | Decimal | str,
    longitude: float | Decimal | str,
    radius_m: int = 200,
    wifi_bssids: list[str] | None = None,
    is_active: bool = True,
) -> Geofence:
    """An office: a circle and the Wi-Fi networks inside it (ledger: create, attendance)."""
    errors: dict[str, list[str]] = {}
    for field, value in (("latitude", latitude), ("longitude", longitude)):
        if value is None or value == "":
            errors[field] = [_("This field is required.")]
    values = _clean_geofence(
        name=name or "",
        latitude=latitude if "latitude" not in errors else None,
        longitude=longitude if "longitude" not in errors else None,
        radius_m=radius_m,
        wifi_bssids=wifi_bssids or [],
        is_active=is_active,
        errors=errors,
    )
    if errors:
        raise ValidationError(errors)
    with enterprise_schema(enterprise), transaction.atomic():
        geofence = Geofence.objects.create(**values)
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.CREATE,
            category=Category.ATTENDANCE,
            obj=geofence,
            details={"fields": sorted(values)},
        )
    return geofence


def geofence_update(
    *,
    enterprise: Enterprise,
    actor: Membership | None,
    geofence: Geofence,
    name: str | None = None,
    latitude: float | Decimal | str | None = None,
    longitude: float | Decimal | str | None = None,
    radius_m: int | None = None,
    wifi_bssids: list[str] | None = None,
    is_active: bool | None = None,
) -> Geofence:
    """Change the given fields (None = unchanged). One ledger entry naming the changed fields;
    none when nothing changed."""
    errors: dict[str, list[str]] = {}
    values = _clean_geofence(
        name=name,
        latitude=latitude,
        longitude=longitude,
        radius_m=radius_m,
        wifi_bssids=wifi_bssids,
        is_active=is_active,
        errors=errors,
    )
    if errors:
        raise ValidationError(errors)
    with enterprise_schema(enterprise), transaction.atomic():
        changed = sorted(field for field, value in values.items() if getattr(geofence, field) != value)
        if not changed:
            return geofence
        for field in changed:
            setattr(geofence, field, values[field])
        geofence.save(update_fields=changed)
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.CHANGE,
            category=Category.ATTENDANCE,
            obj=geofence,
            details={"fields": changed},
        )
    return geofence


def geofence_delete(*, enterprise: Enterprise, actor: Membership | None, geofence: Geofence) -> None:
    """Past events keep their in-range flag; their link to the geofence is cleared."""
    with enterprise_schema(enterprise), transaction.atomic():
        pk = geofence.pk
        geofence.delete()
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.DELETE,
            category=Category.ATTENDANCE,
            object_id=pk,
            details={"object_type": "enterprise_data.geofence"},
        )


# --- missing clock-ins and clock-outs ------------------------------------------------------------

_MISSING_IN = """
INSERT INTO {day} AS d (membership_id, date, first_in, last_out, exceptions, updated_at)
SELECT m.id, %(date)s, NULL, NULL, '["missing_in"]'::jsonb, %(now)s
FROM {membership} AS m
WHERE m.status IN ('active', 'left')
  AND COALESCE(m.joined_at, m.created_at) < %(end)s
  AND (m.left_at >= %(start)s OR (m.status = 'active' AND m.left_at IS NULL))
ON CONFLICT (membership_id, date) DO UPDATE
    SET exceptions = d.exceptions || '["missing_in"]'::jsonb, updated_at = EXCLUDED.updated_at
    WHERE d.first_in IS NULL AND NOT d.exceptions @> '["missing_in"]'::jsonb
RETURNING 1
"""

_MISSING_OUT = """
UPDATE {day} AS d SET exceptions = d.exceptions || '["missing_out"]'::jsonb, updated_at = %(now)s
WHERE d.date = %(date)s AND d.first_in IS NOT NULL AND d.last_out IS NULL
  AND NOT d.exceptions @> '["missing_out"]'::jsonb
"""


@dataclass(frozen=True)
class MissingMarked:
    day: date
    working_day: bool
    missing_in: int = 0
    missing_out: int = 0


def attendance_mark_missing(*, enterprise: Enterprise, day: date) -> MissingMarked:
    """For a past working day: members active that day without a clock-in get "missing_in"
    (a day row is created when none exists), days with a first clock-in but no clock-out get
    "missing_out". Two set-based statements; running it twice changes nothing more."""
    if day >= timezone.localdate(timezone=timezone.get_default_timezone()):
        raise ValidationError({"day": _("Missing clock-ins can be marked only for a past day.")})
    if not is_working_day(day):
        return MissingMarked(day=day, working_day=False)
    zone = timezone.get_default_timezone()
    start = timezone.make_aware(datetime.combine(day, time.min), zone)
    # `updated_at` from Django's clock, as `auto_now` and the clock-in upsert: Citus refuses a
    # stable function such as now() in an upsert's DO UPDATE SET on a distributed table
    params: dict[str, Any] = {"date": day, "start": start, "end": start + timedelta(days=1), "now": timezone.now()}
    names = {
        "day": connection.ops.quote_name(AttendanceDay._meta.db_table),
        "membership": connection.ops.quote_name(Membership._meta.db_table),
    }
    with enterprise_schema(enterprise), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_MISSING_IN.format(**names), params)
        # the rows it returns, not `rowcount`: on Citus an INSERT … SELECT counts the conflicting
        # rows its WHERE left alone too
        missing_in = len(cursor.fetchall())
        cursor.execute(_MISSING_OUT.format(**names), params)
        missing_out = cursor.rowcount
    return MissingMarked(day=day, working_day=True, missing_in=missing_in, missing_out=missing_out)


# --- revealing raw coordinates -----------------------------------------------------------------


@dataclass(frozen=True)
class RawCoordinates:
    latitude: float
    longitude: float
    accuracy_m: float | None


def attendance_reveal_location(
    *,
    enterprise: Enterprise,
    actor: Membership,
    event: ClockEvent,
    purpose: str = "",
) -> RawCoordinates:
    """The raw coordinates of `event` for an admin whose attendance scope covers its member;
    recorded in the ledger (action reveal, ENT-9, ENT-10). PermissionDenied otherwise; refused
    (ConsentRequired) once the member has no consent or legal basis for precise location left,
    even while the erasure task has not run (CON-6)."""
    with enterprise_schema(enterprise), transaction.atomic():
        scope = admin_scope_for(actor)
        if scope is None or not scope.members(Category.ATTENDANCE).filter(pk=event.membership_id).exists():
            raise PermissionDenied(_("Your administrator scope does not include this member's attendance."))
        require_basis(
            enterprise=enterprise,
            membership=event.membership,
            category=SensitiveCategory.PRECISE_LOCATION,
            purpose=ConsentPurpose.ATTENDANCE,
        )
        location = ClockEventLocation.objects.filter(event_id=event.pk).first()
        if location is None:
            raise ValidationError(
                {
                    "event": _(
                        "No raw coordinates are kept for this event (none were sent, "
                        "or they have been deleted after their retention period)."
                    )
                }
            )
        try:
            raw = json.loads(
                decrypt_for_member(
                    enterprise=enterprise,
                    membership_id=event.membership_id,
                    field=COORDINATES_FIELD,
                    blob=bytes(location.coordinates_encrypted),
                )
            )
        except KeyUnavailable as error:
            raise ValidationError(
                {"event": _("These coordinates can no longer be read: the member's data key has been destroyed.")}
            ) from error
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.REVEAL,
            category=Category.ATTENDANCE,
            subject=event.membership_id,
            obj=event,
            purpose=purpose,
            details={"fields": ["coordinates"]},
        )
    return RawCoordinates(latitude=raw["latitude"], longitude=raw["longitude"], accuracy_m=raw.get("accuracy_m"))


# --- exporting the statistics (ENT-12) --------------------------------------------------------------


@dataclass(frozen=True)
class StatisticsExport:
    """What an export of the statistics holds: the page's figures, every member, every day."""

    statistics: Statistics
    members: list[MemberRow]
    days: list[PeriodRow]


def attendance_statistics_export(
    *, enterprise: Enterprise, actor: Membership, scope: AdminScope, window: StatisticsWindow
) -> StatisticsExport:
    """Read the statistics of `window` for an export and record it in the ledger (action export,
    category attendance, the filters), in one transaction: the entry exists exactly when the
    figures were read for a download (ENT-10). A fixed number of queries."""
    with enterprise_schema(enterprise), transaction.atomic():
        statistics = attendance_statistics(scope=scope, window=window)
        members = MemberStatistics(scope=scope, window=window).rows()
        days = (
            statistics.periods
            if window.granularity == Granularity.DAY
            else statistics_periods(scope=scope, window=window, granularity=Granularity.DAY)
        )
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.EXPORT,
            category=Category.ATTENDANCE,
            details={
                "format": "xlsx",
                "filters": {
                    "date_from": window.date_from.isoformat(),
                    "date_to": window.date_to.isoformat(),
                    "granularity": window.granularity,
                    "department": window.department.pk if window.department is not None else None,
                },
                "members": len(members),
            },
        )
    return StatisticsExport(statistics=statistics, members=members, days=days)
