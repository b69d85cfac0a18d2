"""Attendance pages (ENT-4): the console (daily overview, a member's 30 days, reveal, geofences,
policy) and the member's own clock-in on /me/. Who may open what, scope (Sam sees Bob, never
Erin), ledger entries exactly when something changes, constant query counts."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from attendance.models import AttendanceDay, AttendancePolicy, ClockEvent, Geofence
from attendance.services import attendance_clock, geofence_create
from core.models import Membership
from ledger.models import LedgerEntry
from tenants.context import enterprise_schema

OFFICE = (31.2304, 121.4737)
OFFICE_BSSID = "00:11:22:aa:bb:cc"

CONSOLE_PAGES = [
    "/console/attendance/",
    "/console/attendance/geofences/",
    "/console/attendance/policy/",
]


def ledger_count(enterprise) -> int:
    with enterprise_schema(enterprise):
        return LedgerEntry.objects.count()


def counts(enterprise) -> tuple[int, int, int, int]:
    with enterprise_schema(enterprise):
        return (
            LedgerEntry.objects.count(),
            Geofence.objects.count(),
            ClockEvent.objects.count(),
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
    """Bob and Erin clocked in today (Bob from the app with coordinates, out of range; Erin by Wi-Fi)."""
    bob = world.membership(world.acme, world.bob)
    erin = world.membership(world.acme, world.erin)
    now = timezone.now()
    bob_event = attendance_clock(
        enterprise=world.acme,
        membership=bob,
        kind="in",
        source="app",
        latitude=31.30,
        longitude=121.50,
        accuracy_m=15,
        occurred_at=now,
    )
    erin_event = attendance_clock(
        enterprise=world.acme, membership=erin, kind="in", source="wifi", wifi_bssid=OFFICE_BSSID, occurred_at=now
    )
    erin_app = attendance_clock(
        enterprise=world.acme,
        membership=erin,
        kind="out",
        source="app",
        latitude=31.2305,
        longitude=121.4738,
        occurred_at=now,
    )
    connection.set_schema_to_public()
    return {"bob": bob, "erin": erin, "bob_event": bob_event, "erin_event": erin_event, "erin_app": erin_app}


# --- who may open the console pages ---------------------------------------------------------------


@pytest.mark.parametrize("url", CONSOLE_PAGES)
@pytest.mark.parametrize("persona", ["alice", "amy", "sam"])
def test_attendance_admins_open_the_console_pages(world, client_for, url, persona):
    assert client_for("acme", getattr(world, persona)).get(url).status_code == 200


@pytest.mark.parametrize("url", CONSOLE_PAGES + ["/console/attendance/geofences/new/"])
@pytest.mark.parametrize("persona", ["bob", "erin", "greg", "oscar"])
def test_members_and_outsiders_are_refused(world, client_for, url, persona):
    assert client_for("acme", getattr(world, persona)).get(url).status_code == 403


def test_pages_render_in_chinese(world, client_for, clocked):
    """Every string is translatable; the pages render in the default language too."""
    admin = client_for("acme", world.alice)
    for url in CONSOLE_PAGES + [
        f"/console/attendance/members/{clocked['bob'].pk}/",
        "/console/attendance/geofences/new/",
    ]:
        assert admin.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").status_code == 200
    member = client_for("acme", world.bob)
    for url in ("/me/", "/me/attendance/"):
        assert member.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").status_code == 200


def test_anonymous_is_sent_to_login(client_for):
    response = client_for("acme").get("/console/attendance/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_nav_link_only_for_attendance_admins(world, client_for):
    assert b'href="/console/attendance/"' in client_for("acme", world.sam).get("/console/").content
    # greg (globex full admin) sees the link on his own host
    assert b'href="/console/attendance/"' in client_for("globex", world.greg).get("/console/").content


# --- the daily overview ----------------------------------------------------------------------------


def test_overview_shows_first_in_and_exceptions_of_the_day(world, client_for, clocked):
    response = client_for("acme", world.amy).get("/console/attendance/")
    assert response.status_code == 200
    names = [row.display_name for row in response.context["rows"]]
    assert "Bob Member" in names and "Erin Engineer" in names
    bob_row = next(row for row in response.context["rows"] if row.pk == clocked["bob"].pk)
    assert bob_row.first_in == clocked["bob_event"].occurred_at
    assert "out_of_range" in bob_row.exceptions
    assert b'data-exception="out_of_range"' in response.content


def test_overview_exceptions_only_and_another_date(world, client_for, clocked):
    client = client_for("acme", world.amy)
    response = client.get("/console/attendance/", {"exceptions_only": "on"})
    pks = {row.pk for row in response.context["rows"]}
    assert clocked["bob"].pk in pks  # out of range
    assert all(row.exceptions for row in response.context["rows"])
    yesterday = timezone.localdate() - timedelta(days=1)
    response = client.get("/console/attendance/", {"date": yesterday.isoformat()})
    assert response.context["day"] == yesterday
    assert all(row.first_in is None for row in response.context["rows"])
    assert client.get("/console/attendance/", {"date": "not-a-date"}).status_code == 200  # falls back to today


def test_scoped_admin_sees_bob_but_never_erin(world, client_for, clocked):
    client = client_for("acme", world.sam)
    response = client.get("/console/attendance/")
    names = [row.display_name for row in response.context["rows"]]
    assert "Bob Member" in names and "Erin Engineer" not in names
    assert response.context["page"].paginator.count == len(names)
    assert b"Erin Engineer" not in response.content
    exceptions = client.get("/console/attendance/", {"exceptions_only": "on"})
    assert b"Erin Engineer" not in exceptions.content
    assert client.get(f"/console/attendance/members/{clocked['bob'].pk}/").status_code == 200
    assert client.get(f"/console/attendance/members/{clocked['erin'].pk}/").status_code == 404
    assert client.get("/console/attendance/members/999999/").status_code == 404


def _add_members(world, count: int) -> None:
    """`count` more active members, each with a record today (rows of the overview)."""
    today = timezone.localdate()
    with enterprise_schema(world.acme):
        members = Membership.objects.bulk_create(
            [Membership(display_name=f"Extra {i:03d}", status=Membership.Status.ACTIVE) for i in range(count)]
        )
        AttendanceDay.objects.bulk_create(
            [AttendanceDay(membership=m, date=today, first_in=timezone.now(), exceptions=["late"]) for m in members]
        )
    connection.set_schema_to_public()


@pytest.mark.parametrize("rows", [5, 50])
def test_overview_runs_a_constant_number_of_queries(world, client_for, django_assert_num_queries, rows):
    _add_members(world, rows)
    client = client_for("acme", world.amy)
    client.get("/console/attendance/")  # the same connection state before the measured request
    # 1 SET search_path public, 2 domain -> enterprise, 3 SET search_path acme, 4 session, 5 account,
    # 6 acting membership, 7 Department's content type (django-tenants clears that cache on every
    # schema switch), 8 Amy's scope grants (guardian), 9 paginator count,
    # 10 the page of members joined with their day (FilteredRelation)
    with django_assert_num_queries(12):  # +1: the app shell's header (inbox bell and enterprise switcher, UI-1)
        response = client.get("/console/attendance/")
    assert len(response.context["rows"]) == min(rows + 6, 50)


# --- a member's attendance and the reveal --------------------------------------------------------


def test_member_page_lists_days_and_events_with_a_reveal_button(world, client_for, clocked):
    response = client_for("acme", world.amy).get(f"/console/attendance/members/{clocked['bob'].pk}/")
    assert response.status_code == 200
    assert len(response.context["days"]) == 1
    assert f"/console/attendance/events/{clocked['bob_event'].pk}/reveal/".encode() in response.content
    assert b"31.30,121.50" in response.content  # the cell, not the raw coordinates
    assert b"31.3," not in response.content


def test_member_page_constant_queries(world, client_for, clocked, django_assert_num_queries):
    client = client_for("acme", world.amy)
    client.get("/console/attendance/")  # the same connection state before the measured request
    # 1-8 as on the overview, 9 the member (scope), 10 days, 11 events with geofence and has_raw_location
    with django_assert_num_queries(13):  # +1: the app shell's header (inbox bell and enterprise switcher, UI-1)
        client.get(f"/console/attendance/members/{clocked['bob'].pk}/")


def test_reveal_shows_coordinates_and_writes_one_ledger_entry(world, client_for, clocked):
    client = client_for("acme", world.amy)
    before = ledger_count(world.acme)
    url = f"/console/attendance/events/{clocked['bob_event'].pk}/reveal/"
    assert client.get(url).status_code == 405  # POST only
    response = client.post(url, {"purpose": "Payroll dispute"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"31.3, 121.5" in response.content
    assert ledger_count(world.acme) == before + 1
    with enterprise_schema(world.acme):
        entry = LedgerEntry.objects.order_by("-id").first()
    assert (entry.action, entry.category, entry.subject_membership_id, entry.purpose) == (
        "reveal",
        "attendance",
        clocked["bob"].pk,
        "Payroll dispute",
    )
    page = client.post(url)  # without htmx: a full page
    assert page.status_code == 200 and b"31.3, 121.5" in page.content
    assert ledger_count(world.acme) == before + 2


def test_reveal_out_of_scope_or_without_coordinates(world, client_for, clocked):
    before = ledger_count(world.acme)
    sam = client_for("acme", world.sam)
    assert sam.post(f"/console/attendance/events/{clocked['erin_app'].pk}/reveal/").status_code == 404
    assert sam.post("/console/attendance/events/999999/reveal/").status_code == 404
    assert (
        client_for("acme", world.bob).post(f"/console/attendance/events/{clocked['bob_event'].pk}/reveal/").status_code
        == 403
    )
    wifi_only = client_for("acme", world.amy).post(f"/console/attendance/events/{clocked['erin_event'].pk}/reveal/")
    assert wifi_only.status_code == 400
    in_place = client_for("acme", world.amy).post(
        f"/console/attendance/events/{clocked['erin_event'].pk}/reveal/", HTTP_HX_REQUEST="true"
    )
    assert in_place.status_code == 200 and b"No raw coordinates" in in_place.content
    assert ledger_count(world.acme) == before
    assert sam.post(f"/console/attendance/events/{clocked['bob_event'].pk}/reveal/").status_code == 200
    assert ledger_count(world.acme) == before + 1


# --- geofences -------------------------------------------------------------------------------------

VALID_GEOFENCE = {
    "name": "Shanghai office",
    "latitude": "31.2304",
    "longitude": "121.4737",
    "radius_m": "250",
    "wifi_bssids": "00:11:22:aa:bb:cc\n00-11-22-AA-BB-CD",
    "is_active": "on",
}


def test_geofence_create_edit_delete_with_ledger_entries(world, client_for):
    client = client_for("acme", world.amy)
    before = ledger_count(world.acme)
    assert client.get("/console/attendance/geofences/new/").status_code == 200
    response = client.post("/console/attendance/geofences/new/", VALID_GEOFENCE)
    assert response.status_code == 302 and response["Location"] == "/console/attendance/geofences/"
    assert ledger_count(world.acme) == before + 1
    with enterprise_schema(world.acme):
        fence = Geofence.objects.get(name="Shanghai office")
    assert fence.wifi_bssids == ["00:11:22:aa:bb:cc", "00:11:22:aa:bb:cd"] and fence.radius_m == 250
    assert b"Shanghai office" in client.get("/console/attendance/geofences/").content
    edit = f"/console/attendance/geofences/{fence.pk}/"
    assert client.get(edit).status_code == 200
    assert client.post(edit, {**VALID_GEOFENCE, "radius_m": "500"}).status_code == 302
    assert ledger_count(world.acme) == before + 2
    assert client.get(f"{edit}delete/").status_code == 200
    assert client.post(f"{edit}delete/", {"confirmed": "yes"}).status_code == 302
    assert ledger_count(world.acme) == before + 3
    with enterprise_schema(world.acme):
        assert not Geofence.objects.filter(pk=fence.pk).exists()
    assert client.get(edit).status_code == 404


@pytest.mark.parametrize(
    "change",
    [{"name": ""}, {"latitude": "91"}, {"longitude": "west"}, {"radius_m": "0"}, {"wifi_bssids": "not-a-bssid"}],
)
def test_geofence_form_rejects_bad_input_and_writes_nothing(world, client_for, change):
    client = client_for("acme", world.amy)
    before = counts(world.acme)
    response = client.post("/console/attendance/geofences/new/", {**VALID_GEOFENCE, **change})
    assert response.status_code == 400
    field = next(iter(change))
    assert response.context["form"].errors[field]
    assert counts(world.acme) == before


def test_geofence_edit_rejects_bad_input_and_writes_nothing(world, client_for, office):
    client = client_for("acme", world.amy)
    before = counts(world.acme)
    response = client.post(f"/console/attendance/geofences/{office.pk}/", {**VALID_GEOFENCE, "latitude": "-100"})
    assert response.status_code == 400 and response.context["form"].errors["latitude"]
    assert counts(world.acme) == before
    with enterprise_schema(world.acme):
        assert Geofence.objects.get(pk=office.pk).name == "HQ"


def test_scoped_admin_reads_geofences_but_cannot_change_them(world, client_for, office):
    client = client_for("acme", world.sam)
    before = counts(world.acme)
    listing = client.get("/console/attendance/geofences/")
    assert listing.status_code == 200 and b"HQ" in listing.content
    assert b"/console/attendance/geofences/new/" not in listing.content
    assert client.get("/console/attendance/geofences/new/").status_code == 403
    assert client.post("/console/attendance/geofences/new/", VALID_GEOFENCE).status_code == 403
    assert client.post(f"/console/attendance/geofences/{office.pk}/", VALID_GEOFENCE).status_code == 403
    assert client.post(f"/console/attendance/geofences/{office.pk}/delete/", {"confirmed": "yes"}).status_code == 403
    assert (
        client.post(
            "/console/attendance/policy/", {"work_starts": "10:00", "work_ends": "19:00", "late_after_minutes": "5"}
        ).status_code
        == 403
    )
    assert counts(world.acme) == before


def test_geofence_list_constant_queries(world, client_for, django_assert_num_queries):
    client = client_for("acme", world.amy)
    client.get("/console/attendance/geofences/")  # the same connection state before the measured request
    for count in (5, 50):
        with enterprise_schema(world.acme):
            Geofence.objects.all().delete()
            Geofence.objects.bulk_create([Geofence(name=f"Site {i}", latitude=31, longitude=121) for i in range(count)])
        connection.set_schema_to_public()
        # 1-8 as on the overview, 9 the geofences
        with django_assert_num_queries(11):  # +1: the app shell's header (inbox bell and enterprise switcher, UI-1)
            response = client.get("/console/attendance/geofences/")
        assert len(response.context["geofences"]) == count


# --- the policy -----------------------------------------------------------------------------------


def test_policy_edit_with_a_ledger_entry_and_bad_input_writes_nothing(world, client_for):
    client = client_for("acme", world.amy)
    before = ledger_count(world.acme)
    bad = client.post(
        "/console/attendance/policy/", {"work_starts": "18:00", "work_ends": "09:00", "late_after_minutes": "5"}
    )
    assert bad.status_code == 400 and bad.context["form"].errors["work_ends"]
    assert (
        client.post(
            "/console/attendance/policy/", {"work_starts": "nine", "work_ends": "18:00", "late_after_minutes": "5"}
        ).status_code
        == 400
    )
    assert ledger_count(world.acme) == before
    response = client.post(
        "/console/attendance/policy/", {"work_starts": "09:30", "work_ends": "18:30", "late_after_minutes": "10"}
    )
    assert response.status_code == 302
    assert ledger_count(world.acme) == before + 1
    with enterprise_schema(world.acme):
        policy = AttendancePolicy.objects.get(pk=1)
    assert (policy.work_starts, policy.late_after_minutes) == (time(9, 30), 10)


# --- self-service on /me/ ---------------------------------------------------------------------------


def test_me_page_shows_the_clock_form_and_todays_record(world, client_for, office):
    client = client_for("acme", world.bob)
    page = client.get("/me/")
    assert page.status_code == 200
    assert b'action="/me/attendance/clock/"' in page.content
    assert b"navigator.geolocation" in page.content
    assert b"You have not clocked in today." in page.content
    before = ledger_count(world.acme)
    response = client.post(
        "/me/attendance/clock/",
        {"kind": "in", "latitude": "31.2305", "longitude": "121.4738", "accuracy_m": "20", "next": "/me/"},
    )
    assert response.status_code == 302 and response["Location"] == "/me/"
    assert ledger_count(world.acme) == before  # the member's own action: not an admin instruction
    page = client.get("/me/")
    assert b"You have not clocked in today." not in page.content
    assert b"Clocked in." in page.content


def test_clock_from_me_rejects_bad_input_and_writes_nothing(world, client_for, office):
    client = client_for("acme", world.bob)
    before = counts(world.acme)
    no_location = client.post("/me/attendance/clock/", {"kind": "in"})
    assert no_location.status_code == 400
    assert no_location.context["clock_form"].errors["latitude"]
    bad = client.post("/me/attendance/clock/", {"kind": "in", "latitude": "123", "longitude": "121"})
    assert bad.status_code == 400 and bad.context["clock_form"].errors["latitude"]
    assert (
        client.post("/me/attendance/clock/", {"kind": "sideways", "latitude": "31", "longitude": "121"}).status_code
        == 400
    )
    assert (
        client.post(
            "/me/attendance/clock/", {"kind": "in", "latitude": "31", "longitude": "121", "accuracy_m": "-3"}
        ).status_code
        == 400
    )
    assert counts(world.acme) == before
    assert client.get("/me/attendance/clock/").status_code == 302


def test_clock_redirect_stays_on_the_host(world, client_for, office):
    response = client_for("acme", world.bob).post(
        "/me/attendance/clock/",
        {"kind": "in", "latitude": "31.2305", "longitude": "121.4738", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/me/attendance/"


def test_my_attendance_lists_only_my_own_days(world, client_for, clocked, django_assert_num_queries):
    client = client_for("acme", world.bob)
    # 1 SET search_path public, 2 domain, 3 SET search_path acme, 4 session, 5 account, 6 membership,
    # 7 today's record, 8 the last 30 days
    with django_assert_num_queries(9):  # +1: the app shell's header (inbox bell and enterprise switcher, UI-1)
        response = client.get("/me/attendance/")
    assert response.status_code == 200
    assert [day.membership_id for day in response.context["days"]] == [clocked["bob"].pk]
    assert b'data-exception="out_of_range"' in response.content


@pytest.mark.parametrize("persona", ["greg", "oscar"])
def test_my_attendance_refuses_non_members(world, client_for, persona):
    client = client_for("acme", getattr(world, persona))
    assert client.get("/me/attendance/").status_code == 403
    assert client.post("/me/attendance/clock/", {"kind": "in", "latitude": "31", "longitude": "121"}).status_code == 403
