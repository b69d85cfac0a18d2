"""Attendance services (ENT-4): clock-in classification, the daily record, the late rule,
missing-day marking, encrypted raw coordinates."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from attendance.models import AttendanceDay, ClockEvent, ClockEventLocation, Geofence
from attendance.services import (
    COORDINATES_FIELD,
    attendance_clock,
    attendance_mark_missing,
    attendance_policy_get,
    attendance_policy_update,
    attendance_reveal_location,
    classify,
    geofence_create,
    geofence_delete,
    geofence_update,
    haversine_m,
    is_working_day,
    location_cell,
)
from attendance.tasks import attendance_mark_missing as attendance_mark_missing_task
from core.encryption import decrypt_for_member
from core.models import Membership
from ledger.models import LedgerEntry
from tenants.context import enterprise_schema
from tenants.tasks import PublicSchemaRefused

# The Acme office in these tests: People's Square, Shanghai, 200 m, one Wi-Fi network.
OFFICE = (31.2304, 121.4737)
OFFICE_BSSID = "00:11:22:aa:bb:cc"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)), timezone.get_default_timezone())


def recent_day(offset: int = 1) -> date:
    return timezone.localdate() - timedelta(days=offset)


@pytest.fixture
def office(world):
    with enterprise_schema(world.acme):
        return Geofence.objects.create(
            name="HQ", latitude=OFFICE[0], longitude=OFFICE[1], radius_m=200, wifi_bssids=[OFFICE_BSSID]
        )


@pytest.fixture
def bob(world):
    return world.membership(world.acme, world.bob)


def day_of(enterprise, membership, day):
    with enterprise_schema(enterprise):
        return AttendanceDay.objects.filter(membership=membership, date=day).first()


# --- pure helpers ------------------------------------------------------------------------------


def test_haversine_is_about_111_km_per_degree_of_latitude():
    assert 111_000 < haversine_m(31.0, 121.0, 32.0, 121.0) < 111_400
    assert haversine_m(*OFFICE, *OFFICE) == 0


def test_location_cell_rounds_to_two_decimals():
    assert location_cell(31.2304, 121.4737) == "31.23,121.47"
    assert location_cell(-0.001, 0.004) == "0.00,0.00"
    assert location_cell(-33.8688, 151.2093) == "-33.87,151.21"


def test_classification_inside_and_outside_the_radius():
    fence = Geofence(name="HQ", latitude=OFFICE[0], longitude=OFFICE[1], radius_m=200, wifi_bssids=[])
    inside = classify(geofences=[fence], latitude=31.2310, longitude=121.4740, wifi_bssid=None)  # ~70 m
    assert inside.within_geofence and inside.geofence is fence
    outside = classify(geofences=[fence], latitude=31.2330, longitude=121.4737, wifi_bssid=None)  # ~290 m
    assert not outside.within_geofence and outside.geofence is None


def test_classification_by_bssid_and_inactive_geofences_ignored():
    fence = Geofence(name="HQ", latitude=0, longitude=0, radius_m=10, wifi_bssids=["00:11:22:AA:BB:CC"])
    assert classify(geofences=[fence], latitude=None, longitude=None, wifi_bssid="00-11-22-aa-bb-cc").within_geofence
    other = classify(geofences=[fence], latitude=None, longitude=None, wifi_bssid="00:11:22:aa:bb:cd")
    assert not other.within_geofence
    fence.is_active = False
    assert not classify(geofences=[fence], latitude=0, longitude=0, wifi_bssid="00:11:22:aa:bb:cc").within_geofence


def test_device_events_count_as_in_range():
    assert classify(geofences=[], latitude=None, longitude=None, wifi_bssid=None, from_device=True).within_geofence


def test_working_days_skip_weekends_and_chinese_holidays():
    assert is_working_day(date(2026, 11, 24))  # a Tuesday
    assert not is_working_day(date(2026, 11, 28))  # Saturday
    assert not is_working_day(date(2026, 10, 1))  # National Day (a Thursday)
    assert not is_working_day(date(2026, 1, 1))  # New Year's Day


# --- attendance_clock --------------------------------------------------------------------------


def test_clock_in_inside_the_geofence_creates_event_location_and_day(world, office, bob):
    day = recent_day()
    with enterprise_schema(world.acme):
        ledger_before = LedgerEntry.objects.count()
    event = attendance_clock(
        enterprise=world.acme,
        membership=bob,
        kind="in",
        source="app",
        occurred_at=local(day, 8, 55),
        latitude=31.2310,
        longitude=121.4740,
        accuracy_m=12,
    )
    assert event.within_geofence and event.geofence == office
    assert event.location_cell == "31.23,121.47" and event.accuracy_m == 12
    with enterprise_schema(world.acme):
        blob = ClockEventLocation.objects.get(event=event).coordinates_encrypted
        assert LedgerEntry.objects.count() == ledger_before  # the member's own action: no ledger entry
    raw = json.loads(
        decrypt_for_member(enterprise=world.acme, membership_id=bob.pk, field=COORDINATES_FIELD, blob=bytes(blob))
    )
    assert raw == {"latitude": 31.231, "longitude": 121.474, "accuracy_m": 12.0}
    record = day_of(world.acme, bob, day)
    assert record.first_in == local(day, 8, 55) and record.last_out is None and record.exceptions == []


def test_day_keeps_the_earliest_in_and_latest_out_and_flags_late_and_out_of_range(world, office, bob):
    day = recent_day()
    clock = dict(enterprise=world.acme, membership=bob, source="wifi", wifi_bssid=OFFICE_BSSID)
    attendance_clock(kind="in", occurred_at=local(day, 9, 20), **clock)
    assert day_of(world.acme, bob, day).exceptions == ["late"]  # 09:00 + 5 minutes
    attendance_clock(kind="in", occurred_at=local(day, 9, 3), **clock)  # an earlier one arrives later
    record = day_of(world.acme, bob, day)
    assert record.first_in == local(day, 9, 3) and record.exceptions == []
    attendance_clock(kind="out", occurred_at=local(day, 17, 0), **clock)
    attendance_clock(
        kind="out",
        occurred_at=local(day, 18, 30),
        enterprise=world.acme,
        membership=bob,
        source="app",
        latitude=31.30,
        longitude=121.50,
    )  # far from the office
    attendance_clock(kind="out", occurred_at=local(day, 18, 0), **clock)
    record = day_of(world.acme, bob, day)
    assert record.first_in == local(day, 9, 3) and record.last_out == local(day, 18, 30)
    assert record.exceptions == ["out_of_range"]
    with enterprise_schema(world.acme):
        assert AttendanceDay.objects.filter(membership=bob).count() == 1
        assert ClockEvent.objects.filter(membership=bob).count() == 5


def test_the_day_is_the_local_date(world, office, bob):
    day = recent_day()
    late_evening_utc = local(day, 23, 30)  # 15:30 UTC of the same day, 23:30 in Shanghai
    attendance_clock(
        enterprise=world.acme,
        membership=bob,
        kind="out",
        source="wifi",
        wifi_bssid=OFFICE_BSSID,
        occurred_at=late_evening_utc,
    )
    assert day_of(world.acme, bob, day) is not None
    early_morning = local(day, 0, 30)  # 16:30 UTC of the day before
    attendance_clock(
        enterprise=world.acme,
        membership=bob,
        kind="in",
        source="wifi",
        wifi_bssid=OFFICE_BSSID,
        occurred_at=early_morning,
    )
    assert day_of(world.acme, bob, day).first_in == early_morning


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"kind": "sideways", "source": "app", "latitude": 31, "longitude": 121}, {"kind"}),
        ({"kind": "in", "source": "pigeon"}, {"source"}),
        ({"kind": "in", "source": "app", "latitude": 91, "longitude": 121}, {"latitude"}),
        ({"kind": "in", "source": "app", "latitude": 31, "longitude": -181}, {"longitude"}),
        ({"kind": "in", "source": "app", "latitude": 31, "longitude": 121, "accuracy_m": -1}, {"accuracy_m"}),
        ({"kind": "in", "source": "app", "latitude": 31, "longitude": 121, "accuracy_m": 1e12}, {"accuracy_m"}),
        ({"kind": "in", "source": "app", "latitude": "nan", "longitude": 121}, {"latitude"}),
        ({"kind": "in", "source": "app"}, {"latitude", "longitude"}),
        ({"kind": "in", "source": "app", "latitude": "north", "longitude": 121}, {"latitude"}),
        ({"kind": "in", "source": "wifi"}, {"wifi_bssid"}),
        ({"kind": "in", "source": "wifi", "wifi_bssid": "not-a-bssid"}, {"wifi_bssid"}),
        ({"kind": "in", "source": "device"}, {"device"}),
    ],
)
def test_clock_rejects_bad_input_with_field_errors_and_writes_nothing(world, bob, kwargs, fields):
    with enterprise_schema(world.acme):
        events, days = ClockEvent.objects.count(), AttendanceDay.objects.count()
    with pytest.raises(ValidationError) as error:
        attendance_clock(enterprise=world.acme, membership=bob, **kwargs)
    assert set(error.value.message_dict) == fields
    with enterprise_schema(world.acme):
        assert (ClockEvent.objects.count(), AttendanceDay.objects.count()) == (events, days)


def test_clock_refuses_future_times(world, office, bob):
    with pytest.raises(ValidationError) as error:
        attendance_clock(
            enterprise=world.acme,
            membership=bob,
            kind="in",
            source="wifi",
            wifi_bssid=OFFICE_BSSID,
            occurred_at=timezone.now() + timedelta(hours=1),
        )
    assert set(error.value.message_dict) == {"occurred_at"}


def test_raw_coordinates_are_not_stored_in_plaintext(world, office, bob):
    event = attendance_clock(
        enterprise=world.acme,
        membership=bob,
        kind="in",
        source="app",
        latitude=31.234567,
        longitude=121.476543,
        accuracy_m=8,
    )
    with enterprise_schema(world.acme), connection.cursor() as cursor:
        cursor.execute(
            "SELECT coordinates_encrypted FROM enterprise_data_clockeventlocation WHERE event_id = %s", [event.pk]
        )
        (blob,) = cursor.fetchone()
    stored = bytes(blob)
    for plaintext in (b"31.234567", b"121.476543", b"31.23", b"latitude"):
        assert plaintext not in stored


# --- geofences and the policy (ledger entries exactly when something changes) ----------------------


def ledger_count(enterprise) -> int:
    with enterprise_schema(enterprise):
        return LedgerEntry.objects.count()


def test_geofence_create_update_delete_write_one_ledger_entry_each(world):
    amy = world.membership(world.acme, world.amy)
    before = ledger_count(world.acme)
    fence = geofence_create(
        enterprise=world.acme,
        actor=amy,
        name=" HQ ",
        latitude="31.2304",
        longitude=121.4737,
        radius_m=150,
        wifi_bssids=["00-11-22-AA-BB-CC", "00:11:22:aa:bb:cc"],
    )
    assert fence.name == "HQ" and fence.wifi_bssids == ["00:11:22:aa:bb:cc"]
    assert ledger_count(world.acme) == before + 1
    geofence_update(enterprise=world.acme, actor=amy, geofence=fence, radius_m=300)
    geofence_update(enterprise=world.acme, actor=amy, geofence=fence, radius_m=300)  # no change: no entry
    assert ledger_count(world.acme) == before + 2
    with enterprise_schema(world.acme):
        entry = LedgerEntry.objects.order_by("-id").first()
        assert (entry.action, entry.category, entry.details) == ("change", "attendance", {"fields": ["radius_m"]})
    geofence_delete(enterprise=world.acme, actor=amy, geofence=fence)
    assert ledger_count(world.acme) == before + 3
    with enterprise_schema(world.acme):
        assert not Geofence.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"latitude": 95}, "latitude"),
        ({"longitude": "east"}, "longitude"),
        ({"radius_m": 0}, "radius_m"),
        ({"wifi_bssids": ["nope"]}, "wifi_bssids"),
    ],
)
def test_geofence_create_rejects_bad_input_and_writes_nothing(world, kwargs, field):
    before = ledger_count(world.acme)
    values = {"name": "HQ", "latitude": 31.2, "longitude": 121.4, **kwargs}
    with pytest.raises(ValidationError) as error:
        geofence_create(enterprise=world.acme, actor=None, **values)
    assert set(error.value.message_dict) == {field}
    assert ledger_count(world.acme) == before
    with enterprise_schema(world.acme):
        assert not Geofence.objects.exists()


def test_policy_update_is_validated_and_recorded_and_moves_the_late_threshold(world, office, bob):
    amy = world.membership(world.acme, world.amy)
    before = ledger_count(world.acme)
    with pytest.raises(ValidationError) as error:
        attendance_policy_update(
            enterprise=world.acme, actor=amy, work_starts=time(18), work_ends=time(9), late_after_minutes=5
        )
    assert set(error.value.message_dict) == {"work_ends"}
    assert ledger_count(world.acme) == before
    attendance_policy_update(
        enterprise=world.acme, actor=amy, work_starts=time(9, 30), work_ends=time(18), late_after_minutes=0
    )
    assert ledger_count(world.acme) == before + 1
    day = recent_day()
    attendance_clock(
        enterprise=world.acme,
        membership=bob,
        kind="in",
        source="wifi",
        wifi_bssid=OFFICE_BSSID,
        occurred_at=local(day, 9, 30),
    )
    assert day_of(world.acme, bob, day).exceptions == []  # exactly at the threshold: not late
    erin = world.membership(world.acme, world.erin)
    attendance_clock(
        enterprise=world.acme,
        membership=erin,
        kind="in",
        source="wifi",
        wifi_bssid=OFFICE_BSSID,
        occurred_at=local(day, 9, 31),
    )
    assert day_of(world.acme, erin, day).exceptions == ["late"]


def test_policy_defaults_without_a_row(world):
    policy = attendance_policy_get(enterprise=world.acme)
    assert (policy.work_starts, policy.work_ends, policy.late_after_minutes) == (time(9), time(18), 5)


# --- missing clock-ins and clock-outs ---------------------------------------------------------------


def last_working_day(before: date) -> date:
    day = before - timedelta(days=1)
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


def backdate_memberships(enterprise, days: int = 60) -> None:
    """The world's members joined when the session started; make them members of the past days."""
    with enterprise_schema(enterprise):
        Membership.objects.update(joined_at=timezone.now() - timedelta(days=days))


def test_mark_missing_marks_missing_in_and_missing_out_set_based(world, office, bob, django_assert_max_num_queries):
    backdate_memberships(world.acme)
    day = last_working_day(timezone.localdate())
    erin = world.membership(world.acme, world.erin)
    clock = dict(enterprise=world.acme, source="wifi", wifi_bssid=OFFICE_BSSID)
    attendance_clock(membership=bob, kind="in", occurred_at=local(day, 8, 50), **clock)  # never clocks out
    attendance_clock(membership=erin, kind="in", occurred_at=local(day, 8, 50), **clock)
    attendance_clock(membership=erin, kind="out", occurred_at=local(day, 18, 5), **clock)
    with enterprise_schema(world.acme):
        active = Membership.objects.filter(status="active").count()
        with django_assert_max_num_queries(6):  # savepoint + 2 statements (+ schema switches)
            result = attendance_mark_missing(enterprise=world.acme, day=day)
    assert result.working_day and result.missing_in == active - 2 and result.missing_out == 1
    assert day_of(world.acme, bob, day).exceptions == ["missing_out"]
    assert day_of(world.acme, erin, day).exceptions == []
    dana = world.membership(world.acme, world.dana)
    assert day_of(world.acme, dana, day).exceptions == ["missing_in"]
    again = attendance_mark_missing(enterprise=world.acme, day=day)  # idempotent
    assert (again.missing_in, again.missing_out) == (0, 0)
    assert day_of(world.acme, dana, day).exceptions == ["missing_in"]
    # a late clock-out posted afterwards (a device's buffer) clears "missing_out"
    attendance_clock(membership=bob, kind="out", occurred_at=local(day, 18, 0), **clock)
    assert day_of(world.acme, bob, day).exceptions == []


def test_mark_missing_skips_weekends_and_holidays_and_members_who_had_not_joined(world):
    backdate_memberships(world.acme, days=400)
    saturday = timezone.localdate() - timedelta(days=timezone.localdate().weekday() + 2)
    assert saturday.weekday() == 5
    national_day = date(timezone.localdate().year - 1, 10, 1)
    for day in (saturday, national_day):
        result = attendance_mark_missing(enterprise=world.acme, day=day)
        assert not result.working_day and result.missing_in == 0
        with enterprise_schema(world.acme):
            assert not AttendanceDay.objects.filter(date=day).exists()
    with enterprise_schema(world.acme):
        Membership.objects.update(joined_at=timezone.now())
    result = attendance_mark_missing(enterprise=world.acme, day=last_working_day(timezone.localdate()))
    assert result.missing_in == 0


def test_mark_missing_refuses_today(world):
    with pytest.raises(ValidationError):
        attendance_mark_missing(enterprise=world.acme, day=timezone.localdate())


def test_mark_missing_task_runs_in_the_enterprise_schema_only(world):
    backdate_memberships(world.acme)
    day = last_working_day(timezone.localdate())
    with enterprise_schema(world.acme):
        result = attendance_mark_missing_task(day=day.isoformat())
    assert result["schema"] == "acme" and result["missing_in"] >= 1
    connection.set_schema_to_public()
    with pytest.raises(PublicSchemaRefused):
        attendance_mark_missing_task()


def test_mark_missing_task_switches_to_the_schema_in_its_header(world):
    """What the dispatcher sends (tenants.tasks.dispatch_per_enterprise): the `_schema_name`
    header picks the enterprise, whatever schema the sender was in."""
    backdate_memberships(world.acme)
    day = last_working_day(timezone.localdate())
    connection.set_schema_to_public()
    result = attendance_mark_missing_task.apply(kwargs={"day": day.isoformat()}, headers={"_schema_name": "acme"})
    assert result.get()["schema"] == "acme"
    with enterprise_schema(world.acme):
        assert AttendanceDay.objects.filter(date=day, exceptions__contains=["missing_in"]).exists()
    connection.set_schema_to_public()
    refused = attendance_mark_missing_task.apply(kwargs={"day": day.isoformat()})
    with pytest.raises(PublicSchemaRefused):
        refused.get()


# --- revealing raw coordinates ----------------------------------------------------------------------


def test_reveal_returns_coordinates_and_writes_a_ledger_entry(world, office, bob):
    event = attendance_clock(
        enterprise=world.acme, membership=bob, kind="in", source="app", latitude=31.231, longitude=121.474, accuracy_m=9
    )
    amy = world.membership(world.acme, world.amy)
    before = ledger_count(world.acme)
    coordinates = attendance_reveal_location(enterprise=world.acme, actor=amy, event=event, purpose="Dispute")
    assert (coordinates.latitude, coordinates.longitude, coordinates.accuracy_m) == (31.231, 121.474, 9.0)
    assert ledger_count(world.acme) == before + 1
    with enterprise_schema(world.acme):
        entry = LedgerEntry.objects.order_by("-id").first()
    assert (entry.action, entry.category, entry.subject_membership_id, entry.purpose) == (
        "reveal",
        "attendance",
        bob.pk,
        "Dispute",
    )
    assert "31.231" not in json.dumps(entry.details)


def test_reveal_is_refused_outside_the_scope_and_for_members(world, office):
    erin = world.membership(world.acme, world.erin)
    event = attendance_clock(
        enterprise=world.acme, membership=erin, kind="in", source="app", latitude=31.231, longitude=121.474
    )
    before = ledger_count(world.acme)
    for persona in (world.sam, world.bob):
        with pytest.raises(PermissionDenied):
            attendance_reveal_location(enterprise=world.acme, actor=world.membership(world.acme, persona), event=event)
    assert ledger_count(world.acme) == before


def test_reveal_without_raw_coordinates_is_a_validation_error(world, office, bob):
    event = attendance_clock(enterprise=world.acme, membership=bob, kind="in", source="wifi", wifi_bssid=OFFICE_BSSID)
    before = ledger_count(world.acme)
    with pytest.raises(ValidationError):
        attendance_reveal_location(enterprise=world.acme, actor=world.membership(world.acme, world.alice), event=event)
    assert ledger_count(world.acme) == before
