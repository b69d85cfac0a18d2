"""Attendance API (ENT-4, `/api/v1/`): members clock in and read their days; admins list the day
for the members in their scope and manage geofences. Field errors with nothing written, ledger
entries exactly when something changes, scope (Sam sees Bob, never Erin), isolation, constant
query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from attendance.models import AttendanceDay, ClockEvent, ClockEventLocation, Geofence
from attendance.services import attendance_clock, geofence_create
from core.models import Membership
from ledger.models import LedgerEntry
from tenants.context import enterprise_schema

OFFICE = (31.2304, 121.4737)
OFFICE_BSSID = "00:11:22:aa:bb:cc"


def counts(enterprise) -> tuple[int, int, int, int, int]:
    with enterprise_schema(enterprise):
        return (
            LedgerEntry.objects.count(),
            Geofence.objects.count(),
            ClockEvent.objects.count(),
            ClockEventLocation.objects.count(),
            AttendanceDay.objects.count(),
        )


@pytest.fixture
def office(world):
    fence = geofence_create(
        enterprise=world.acme,
        actor=None,
        name="HQ",
        latitude=OFFICE[0],
        longitude=OFFICE[1],
        radius_m=200,
        wifi_bssids=[OFFICE_BSSID],
    )
    connection.set_schema_to_public()
    return fence


@pytest.fixture
def clocked(world, office):
    bob = world.membership(world.acme, world.bob)
    erin = world.membership(world.acme, world.erin)
    for member in (bob, erin):
        attendance_clock(
            enterprise=world.acme, membership=member, kind="in", source="app", latitude=31.40, longitude=121.60
        )
    connection.set_schema_to_public()
    return {"bob": bob, "erin": erin}


# --- POST attendance/clock/ ---------------------------------------------------------------------------


def test_member_clocks_in_from_the_app(world, client_for, office):
    client = client_for("acme", world.bob)
    before = counts(world.acme)
    response = client.post(
        "/api/v1/attendance/clock/",
        {"kind": "in", "source": "app", "latitude": 31.2310, "longitude": 121.4740, "accuracy_m": 12.4},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["within_geofence"] is True and body["geofence"] == "HQ"
    assert body["location_cell"] == "31.23,121.47" and body["accuracy_m"] == 12
    assert "latitude" not in body
    ledger, fences, events, locations, days = counts(world.acme)
    assert (ledger, events, locations, days) == (before[0], before[2] + 1, before[3] + 1, before[4] + 1)


def test_member_clocks_out_by_wifi(world, client_for, office):
    response = client_for("acme", world.bob).post(
        "/api/v1/attendance/clock/",
        {"kind": "out", "source": "wifi", "wifi_bssid": "00-11-22-AA-BB-CC"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["within_geofence"] is True and response.json()["location_cell"] == ""


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"kind": "in", "source": "app"}, {"latitude", "longitude"}),
        ({"kind": "in", "source": "app", "latitude": 91, "longitude": 121}, {"latitude"}),
        ({"kind": "in", "source": "app", "latitude": 31, "longitude": 200}, {"longitude"}),
        ({"kind": "in", "source": "app", "latitude": 31, "longitude": 121, "accuracy_m": -1}, {"accuracy_m"}),
        ({"kind": "up", "source": "app", "latitude": 31, "longitude": 121}, {"kind"}),
        ({"kind": "in", "source": "device"}, {"source"}),  # devices use the device API
        ({"kind": "in", "source": "wifi"}, {"wifi_bssid"}),
        ({"kind": "in", "source": "wifi", "wifi_bssid": "zz"}, {"wifi_bssid"}),
        ({"kind": "in", "source": "app", "latitude": "north", "longitude": 121}, {"latitude"}),
    ],
)
def test_clock_rejects_bad_input_with_field_errors_and_writes_nothing(world, client_for, office, payload, fields):
    before = counts(world.acme)
    response = client_for("acme", world.bob).post("/api/v1/attendance/clock/", payload, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) == fields
    assert counts(world.acme) == before


def test_clock_ignores_a_client_supplied_time(world, client_for, office):
    response = client_for("acme", world.bob).post(
        "/api/v1/attendance/clock/",
        {"kind": "in", "source": "wifi", "wifi_bssid": OFFICE_BSSID, "occurred_at": "2020-01-01T08:00:00+08:00"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert abs(timezone.now() - timezone.datetime.fromisoformat(response.json()["occurred_at"])) < timedelta(minutes=1)


@pytest.mark.parametrize("persona", ["greg", "oscar", None])
def test_clock_refuses_non_members(world, client_for, persona):
    client = client_for("acme", getattr(world, persona) if persona else None)
    before = counts(world.acme)
    response = client.post(
        "/api/v1/attendance/clock/",
        {"kind": "in", "source": "wifi", "wifi_bssid": OFFICE_BSSID},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert counts(world.acme) == before


# --- GET attendance/me/ ---------------------------------------------------------------------------------


def test_my_days_are_my_own(world, client_for, clocked):
    response = client_for("acme", world.bob).get("/api/v1/attendance/me/")
    assert response.status_code == 200
    days = response.json()
    assert len(days) == 1 and days[0]["date"] == timezone.localdate().isoformat()
    assert "out_of_range" in days[0]["exceptions"]
    assert client_for("acme", world.dana).get("/api/v1/attendance/me/").json() == []
    assert client_for("acme", world.greg).get("/api/v1/attendance/me/").status_code == 403


def test_my_days_constant_queries(world, client_for, django_assert_num_queries):
    bob = world.membership(world.acme, world.bob)
    client = client_for("acme", world.bob)
    today = timezone.localdate()
    for count in (5, 25):
        with enterprise_schema(world.acme):
            AttendanceDay.objects.filter(membership=bob).delete()
            AttendanceDay.objects.bulk_create(
                [AttendanceDay(membership=bob, date=today - timedelta(days=i)) for i in range(count)]
            )
        connection.set_schema_to_public()
        client.get("/api/v1/attendance/me/")
        # 1 SET search_path public, 2 domain, 3 SET search_path acme, 4 session, 5 account,
        # 6 membership, 7 the days
        with django_assert_num_queries(7):
            response = client.get("/api/v1/attendance/me/")
        assert len(response.json()) == count


# --- GET attendance/days/ -------------------------------------------------------------------------------


def test_admin_lists_the_day_for_everyone_in_scope(world, client_for, clocked):
    response = client_for("acme", world.amy).get("/api/v1/attendance/days/", {"date": timezone.localdate().isoformat()})
    assert response.status_code == 200
    body = response.json()
    by_name = {row["display_name"]: row for row in body["results"]}
    assert body["count"] == 6 and {"Bob Member", "Erin Engineer", "Dana Dual"} <= set(by_name)
    assert by_name["Bob Member"]["first_in"] is not None and "out_of_range" in by_name["Bob Member"]["exceptions"]
    assert by_name["Dana Dual"]["first_in"] is None and by_name["Dana Dual"]["exceptions"] == []


def test_scoped_admin_sees_bob_but_never_erin(world, client_for, clocked):
    client = client_for("acme", world.sam)
    body = client.get("/api/v1/attendance/days/").json()
    names = {row["display_name"] for row in body["results"]}
    assert "Bob Member" in names and "Erin Engineer" not in names
    assert body["count"] == len(names)
    exceptions = client.get("/api/v1/attendance/days/", {"exceptions_only": "true"}).json()
    assert {row["display_name"] for row in exceptions["results"]} == {"Bob Member"}
    assert exceptions["count"] == 1


def test_days_for_another_date_and_bad_input(world, client_for, clocked):
    client = client_for("acme", world.amy)
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    body = client.get("/api/v1/attendance/days/", {"date": yesterday}).json()
    assert all(row["first_in"] is None and row["date"] == yesterday for row in body["results"])
    bad = client.get("/api/v1/attendance/days/", {"date": "2026-13-40"})
    assert bad.status_code == 400 and "date" in bad.json()
    assert client.get("/api/v1/attendance/days/", {"page": 99}).status_code == 404


@pytest.mark.parametrize("persona", ["bob", "erin", "greg", "oscar"])
def test_days_refuse_members_and_outsiders(world, client_for, persona):
    assert client_for("acme", getattr(world, persona)).get("/api/v1/attendance/days/").status_code == 403


@pytest.mark.parametrize("rows", [5, 50])
def test_days_constant_queries(world, client_for, django_assert_num_queries, rows):
    today = timezone.localdate()
    with enterprise_schema(world.acme):
        members = Membership.objects.bulk_create(
            [Membership(display_name=f"Extra {i:03d}", status=Membership.Status.ACTIVE) for i in range(rows)]
        )
        AttendanceDay.objects.bulk_create(
            [AttendanceDay(membership=m, date=today, first_in=timezone.now(), exceptions=["late"]) for m in members]
        )
    connection.set_schema_to_public()
    client = client_for("acme", world.amy)
    client.get("/api/v1/attendance/days/")  # the same connection state before the measured request
    # 1 SET search_path public, 2 domain, 3 SET search_path acme, 4 session, 5 account, 6 membership,
    # 7 Department's content type (cleared by django-tenants on every schema switch), 8 Amy's scope
    # grants, 9 count, 10 the page of members joined with their day
    with django_assert_num_queries(11):
        response = client.get("/api/v1/attendance/days/")
    assert len(response.json()["results"]) == min(rows + 6, 50)


# --- geofences ----------------------------------------------------------------------------------------

GEOFENCE = {
    "name": "Beijing office",
    "latitude": 39.9087,
    "longitude": 116.3975,
    "radius_m": 300,
    "wifi_bssids": ["AA:BB:CC:00:11:22"],
}


def test_geofence_lifecycle_with_ledger_entries(world, client_for):
    client = client_for("acme", world.amy)
    ledger = counts(world.acme)[0]
    created = client.post("/api/v1/geofences/", GEOFENCE, content_type="application/json")
    assert created.status_code == 201, created.content
    fence = created.json()
    assert fence["wifi_bssids"] == ["aa:bb:cc:00:11:22"] and fence["is_active"] is True
    assert counts(world.acme)[0] == ledger + 1
    assert [g["name"] for g in client.get("/api/v1/geofences/").json()] == ["Beijing office"]
    url = f"/api/v1/geofences/{fence['id']}/"
    assert client.get(url).json()["radius_m"] == 300
    patched = client.patch(url, {"radius_m": 500, "is_active": False}, content_type="application/json")
    assert patched.status_code == 200 and patched.json()["radius_m"] == 500 and patched.json()["is_active"] is False
    assert counts(world.acme)[0] == ledger + 2
    assert client.delete(url).status_code == 204
    assert counts(world.acme)[0] == ledger + 3
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**GEOFENCE, "name": ""}, "name"),
        ({**GEOFENCE, "latitude": 100}, "latitude"),
        ({**GEOFENCE, "longitude": "far"}, "longitude"),
        ({**GEOFENCE, "radius_m": 0}, "radius_m"),
        ({**GEOFENCE, "wifi_bssids": ["nope"]}, "wifi_bssids"),
        ({key: value for key, value in GEOFENCE.items() if key != "latitude"}, "latitude"),
    ],
)
def test_geofence_create_rejects_bad_input_and_writes_nothing(world, client_for, payload, field):
    before = counts(world.acme)
    response = client_for("acme", world.amy).post("/api/v1/geofences/", payload, content_type="application/json")
    assert response.status_code == 400 and field in response.json()
    assert counts(world.acme) == before


def test_geofence_patch_rejects_bad_input_and_writes_nothing(world, client_for, office):
    client = client_for("acme", world.amy)
    before = counts(world.acme)
    for payload in ({"latitude": -91}, {"wifi_bssids": ["12:34"]}, {"radius_m": -5}):
        response = client.patch(f"/api/v1/geofences/{office.pk}/", payload, content_type="application/json")
        assert response.status_code == 400 and set(response.json()) == set(payload)
    assert counts(world.acme) == before


def test_scoped_admin_reads_geofences_but_cannot_change_them(world, client_for, office):
    client = client_for("acme", world.sam)
    before = counts(world.acme)
    assert client.get("/api/v1/geofences/").status_code == 200
    assert client.get(f"/api/v1/geofences/{office.pk}/").status_code == 200
    assert client.post("/api/v1/geofences/", GEOFENCE, content_type="application/json").status_code == 403
    assert (
        client.patch(f"/api/v1/geofences/{office.pk}/", {"radius_m": 1}, content_type="application/json").status_code
        == 403
    )
    assert client.delete(f"/api/v1/geofences/{office.pk}/").status_code == 403
    assert counts(world.acme) == before


@pytest.mark.parametrize("persona", ["bob", "greg", "oscar"])
def test_geofences_refuse_members_and_outsiders(world, client_for, office, persona):
    client = client_for("acme", getattr(world, persona))
    assert client.get("/api/v1/geofences/").status_code == 403
    assert client.get(f"/api/v1/geofences/{office.pk}/").status_code == 403
    assert client.post("/api/v1/geofences/", GEOFENCE, content_type="application/json").status_code == 403


def test_another_enterprises_geofence_is_not_found(world, client_for):
    theirs = geofence_create(enterprise=world.globex, actor=None, name="Globex HQ", latitude=22.5, longitude=114.0)
    connection.set_schema_to_public()
    client = client_for("acme", world.amy)
    assert client.get(f"/api/v1/geofences/{theirs.pk}/").status_code == 404
    assert client.delete(f"/api/v1/geofences/{theirs.pk}/").status_code == 404
    assert b"Globex HQ" not in client.get("/api/v1/geofences/").content
    with enterprise_schema(world.globex):
        assert Geofence.objects.filter(pk=theirs.pk).exists()


def test_geofence_list_constant_queries(world, client_for, django_assert_num_queries):
    client = client_for("acme", world.amy)
    for count in (5, 50):
        with enterprise_schema(world.acme):
            Geofence.objects.all().delete()
            Geofence.objects.bulk_create([Geofence(name=f"Site {i}", latitude=31, longitude=121) for i in range(count)])
        connection.set_schema_to_public()
        client.get("/api/v1/geofences/")
        # 1 SET search_path public, 2 domain, 3 SET search_path acme, 4 session, 5 account,
        # 6 membership, 7 content type, 8 scope grants, 9 the geofences
        with django_assert_num_queries(10):
            response = client.get("/api/v1/geofences/")
        assert len(response.json()) == count


def test_schema_documents_the_attendance_endpoints(client_for):
    schema = client_for("acme").get("/api/schema/").content
    for path in (
        b"/api/v1/attendance/clock/",
        b"/api/v1/attendance/me/",
        b"/api/v1/attendance/days/",
        b"/api/v1/geofences/",
        b"/api/v1/geofences/{id}/",
    ):
        assert path in schema
