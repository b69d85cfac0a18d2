"""Attendance statistics (ENT-12, ENT-4, ENT-8, ENT-10): the figures of the page, the API and the
Excel export equal counts computed here from clock records seeded over ten days across a month
boundary, for the owner (whole enterprise) and for Sam (scoped to Sales: only Bob and himself);
weeks start on Monday and months on the 1st; the queries do not grow with the members or the
days; a member's month as a calendar; bad ranges are field errors. The clock is frozen at 20:00
local time three days into a month (after the working day), whatever the real time is."""

from __future__ import annotations

import datetime
import io
from collections import Counter

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from attendance.models import AttendanceDay
from attendance.selectors import Granularity, is_working_day, period_start, periods_between
from attendance.services import attendance_clock, geofence_create
from core.models import Department, Membership
from ledger.models import LedgerEntry
from tenants.context import enterprise_schema

OFFICE_BSSID = "00:11:22:aa:bb:cc"
ELSEWHERE_BSSID = "00:11:22:00:00:99"
SPAN_DAYS = 10
# what each seeded member does on a day, by (member index + day index) % 5
ON_TIME, LATE, STAY_AWAY, OUT_OF_RANGE, LATE_OUT_OF_RANGE = range(5)


def local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(
        datetime.datetime.combine(day, datetime.time(hour, minute)), timezone.get_default_timezone()
    )


def frozen_today() -> datetime.date:
    """The 3rd of the month after the real one: the ten seeded days cross a month boundary."""
    today = timezone.localdate()
    return (today.replace(day=28) + datetime.timedelta(days=4)).replace(day=3)


@pytest.fixture
def today():
    day = frozen_today()
    with time_machine.travel(local(day, 20), tick=False):
        yield day


@pytest.fixture
def seeded(world, today):
    """Bob, Sam, Erin and Dana clock in over the ten days up to today (Wi-Fi: the office's network
    is in range, another is out of range); every active member joined 60 days ago. Returns the
    seeded facts: {(member id, day): behaviour}."""
    first = today - datetime.timedelta(days=SPAN_DAYS - 1)
    with enterprise_schema(world.acme):
        Membership.objects.filter(status=Membership.Status.ACTIVE).update(
            joined_at=local(first, 9) - datetime.timedelta(days=60)
        )
    geofence_create(
        enterprise=world.acme, actor=None, name="HQ", latitude=31.2304, longitude=121.4737, wifi_bssids=[OFFICE_BSSID]
    )
    facts: dict[tuple[int, datetime.date], int] = {}
    for index, user in enumerate((world.bob, world.sam, world.erin, world.dana)):
        member = world.membership(world.acme, user)
        for offset in range(SPAN_DAYS):
            day = first + datetime.timedelta(days=offset)
            behaviour = (index + offset) % 5
            facts[(member.pk, day)] = behaviour
            if behaviour == STAY_AWAY:
                continue
            hour, minute = (9, 40) if behaviour in (LATE, LATE_OUT_OF_RANGE) else (8, 50)
            bssid = ELSEWHERE_BSSID if behaviour in (OUT_OF_RANGE, LATE_OUT_OF_RANGE) else OFFICE_BSSID
            for kind, when in (("in", local(day, hour, minute)), ("out", local(day, 18, 5))):
                attendance_clock(
                    enterprise=world.acme,
                    membership=member,
                    kind=kind,
                    source="wifi",
                    wifi_bssid=bssid,
                    occurred_at=when,
                )
    connection.set_schema_to_public()
    return facts


def expected(world, facts, members, date_from, date_to, key=lambda day: None):
    """The figures computed here: {key(day): Counter}, over `members` (ids) and the range."""
    today = timezone.localdate()
    with enterprise_schema(world.acme):
        joined = {
            pk: timezone.localtime(when).date()
            for pk, when in Membership.objects.filter(pk__in=members).values_list("pk", "joined_at")
        }
    connection.set_schema_to_public()
    result: dict = {}
    day = date_from
    while day <= date_to:
        bucket = result.setdefault(key(day), Counter())
        for pk in members:
            behaviour = facts.get((pk, day), STAY_AWAY)
            clocked = behaviour != STAY_AWAY
            due = is_working_day(day) and day >= joined[pk] and day <= today  # today is over at 20:00
            bucket["clock_ins"] += clocked
            bucket["late"] += behaviour in (LATE, LATE_OUT_OF_RANGE)
            bucket["on_time"] += behaviour in (ON_TIME, OUT_OF_RANGE)
            bucket["out_of_range"] += behaviour in (OUT_OF_RANGE, LATE_OUT_OF_RANGE)
            bucket["due"] += due
            bucket["absent"] += due and not clocked
        day += datetime.timedelta(days=1)
    return result


def active_ids(world, *, sales_only: bool = False) -> list[int]:
    with enterprise_schema(world.acme):
        members = Membership.objects.filter(status=Membership.Status.ACTIVE)
        if sales_only:
            members = members.filter(departments__path__startswith=Department.objects.get(pk=world.sales.pk).path)
        ids = sorted(set(members.values_list("pk", flat=True)))
    connection.set_schema_to_public()
    return ids


def figures(data: dict) -> dict:
    return {name: data[name] for name in ("clock_ins", "on_time", "late", "absent", "out_of_range")} | {
        "due": data["working_days_due"]
    }


def as_expected(counter: Counter) -> dict:
    return {name: counter[name] for name in ("clock_ins", "on_time", "late", "absent", "out_of_range", "due")}


# --- pure helpers --------------------------------------------------------------------------------


def test_weeks_start_on_monday_and_months_on_the_first():
    """ENT-12: a period is named by its first day; the range's first week or month may begin before it."""
    wednesday = datetime.date(2030, 1, 2)  # a fixed calendar fact, not an aging date
    assert period_start(wednesday, Granularity.WEEK) == datetime.date(2029, 12, 31)
    assert period_start(wednesday, Granularity.MONTH) == datetime.date(2030, 1, 1)
    assert periods_between(datetime.date(2029, 12, 27), datetime.date(2030, 1, 8), Granularity.WEEK) == [
        datetime.date(2029, 12, 24),
        datetime.date(2029, 12, 31),
        datetime.date(2030, 1, 7),
    ]
    assert periods_between(datetime.date(2029, 12, 27), datetime.date(2030, 2, 1), Granularity.MONTH) == [
        datetime.date(2029, 12, 1),
        datetime.date(2030, 1, 1),
        datetime.date(2030, 2, 1),
    ]
    assert len(periods_between(datetime.date(2029, 12, 27), datetime.date(2030, 1, 2), Granularity.DAY)) == 7


# --- figures: page and API, owner and Sam --------------------------------------------------------


@pytest.mark.parametrize("persona", ["alice", "sam"])
def test_figures_equal_the_seeded_clock_records(world, client_for, seeded, today, persona):
    """ENT-12, ENT-8: totals, per member and per department equal the counts computed here; Sam
    sees Sales only (Bob and himself), never Erin or Dana."""
    date_from = today - datetime.timedelta(days=SPAN_DAYS - 1)
    members = active_ids(world, sales_only=persona == "sam")
    total = expected(world, seeded, members, date_from, today)[None]
    client = client_for("acme", getattr(world, persona))
    query = {"date_from": date_from.isoformat(), "date_to": today.isoformat()}

    data = client.get("/api/v1/attendance/statistics/", query).json()
    assert figures(data["totals"]) == as_expected(total)
    assert total["late"] and total["absent"] and total["out_of_range"]  # the seed exercises every figure

    rows = client.get("/api/v1/attendance/statistics/members/", {**query, "page_size": 200}).json()
    assert sorted(row["member_id"] for row in rows["results"]) == members
    for row in rows["results"]:
        mine = expected(world, seeded, [row["member_id"]], date_from, today)[None]
        assert figures(row["figures"]) == as_expected(mine), row["display_name"]

    by_department = {row["name"]: row for row in data["departments"]}
    sales = active_ids(world, sales_only=True)
    assert by_department["Sales"]["members"] == len(sales)
    assert figures(by_department["Sales"]["figures"]) == as_expected(
        expected(world, seeded, sales, date_from, today)[None]
    )
    if persona == "sam":
        assert set(by_department) == {"Sales", "Sales East"}
    else:
        assert {"Sales", "Sales East", "Engineering"} <= set(by_department)

    page = client.get("/console/attendance/statistics/", query)
    assert page.status_code == 200
    assert page.context["total"].late == total["late"]
    assert page.context["total"].absent == total["absent"]
    assert page.context["total"].out_of_range == total["out_of_range"]
    assert page.context["total"].clock_ins == total["clock_ins"]
    shown = {row.member_id for row in page.context["members"]}
    assert shown == set(members)
    erin = world.membership(world.acme, world.erin)
    assert (f'data-member="{erin.pk}"'.encode() in page.content) == (persona == "alice")


def test_the_page_defaults_to_this_month_so_far(world, client_for, seeded, today):
    """ENT-12: without filters, the 1st of this month to today, by day."""
    response = client_for("acme", world.alice).get("/console/attendance/statistics/")
    window = response.context["window"]
    assert (window.date_from, window.date_to, window.granularity) == (today.replace(day=1), today, "day")
    assert [row.start for label, row in response.context["periods"]] == [today.replace(day=d) for d in (1, 2, 3)]
    assert b"data-chart" in response.content


@pytest.mark.parametrize("granularity", ["week", "month"])
def test_weeks_and_months_bucket_across_the_month_boundary(world, client_for, seeded, today, granularity):
    """ENT-12: weeks start on Monday, months on the 1st (local dates); each period's figures are
    the sum of its days."""
    date_from = today - datetime.timedelta(days=SPAN_DAYS - 1)
    members = active_ids(world)
    buckets = expected(world, seeded, members, date_from, today, key=lambda day: period_start(day, granularity))
    data = (
        client_for("acme", world.alice)
        .get(
            "/api/v1/attendance/statistics/",
            {"date_from": date_from.isoformat(), "date_to": today.isoformat(), "granularity": granularity},
        )
        .json()
    )
    starts = [datetime.date.fromisoformat(row["start"]) for row in data["periods"]]
    assert starts == sorted(buckets)
    if granularity == "week":
        assert all(start.weekday() == 0 for start in starts)
    else:
        assert starts == [date_from.replace(day=1), today.replace(day=1)]  # the boundary is crossed
    for row in data["periods"]:
        assert figures(row["figures"]) == as_expected(buckets[datetime.date.fromisoformat(row["start"])]), row["start"]


def test_a_department_filter_counts_its_subtree(world, client_for, seeded, today):
    """ENT-12: choosing Sales counts Sales and Sales East; Sam cannot choose Engineering."""
    date_from = today - datetime.timedelta(days=SPAN_DAYS - 1)
    query = {"date_from": date_from.isoformat(), "date_to": today.isoformat()}
    sales = active_ids(world, sales_only=True)
    data = (
        client_for("acme", world.alice)
        .get("/api/v1/attendance/statistics/", {**query, "department": world.sales.pk})
        .json()
    )
    assert figures(data["totals"]) == as_expected(expected(world, seeded, sales, date_from, today)[None])
    assert {row["name"] for row in data["departments"]} == {"Sales", "Sales East"}

    sam = client_for("acme", world.sam)
    refused = sam.get("/api/v1/attendance/statistics/", {**query, "department": world.engineering.pk})
    assert refused.status_code == 400 and "department" in refused.json()
    page = sam.get("/console/attendance/statistics/", {**query, "department": world.engineering.pk})
    assert page.status_code == 400 and page.context["form"].errors.get("department")
    options = page.context["form"].fields["department"].queryset
    assert {d.name for d in options} == {"Sales", "Sales East"}


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shift_from", "shift_to", "field"),
    [(0, -1, "date_to"), (-400, 0, "date_to"), (0, 1, "date_to"), (1, 1, "date_from")],
    ids=["reversed", "too-long", "future-end", "future-start"],
)
def test_bad_ranges_are_field_errors(world, client_for, today, shift_from, shift_to, field):
    """ENT-12, SEC-3: a reversed range, more than 366 days, or a date after today: a field error
    on the page (400, the form redrawn) and in the API (400 naming the field)."""
    client = client_for("acme", world.alice)
    query = {
        "date_from": (today + datetime.timedelta(days=shift_from)).isoformat(),
        "date_to": (today + datetime.timedelta(days=shift_to)).isoformat(),
    }
    page = client.get("/console/attendance/statistics/", query)
    assert page.status_code == 400
    assert page.context["form"].errors.get(field)
    api = client.get("/api/v1/attendance/statistics/", query)
    assert api.status_code == 400 and field in api.json()
    assert client.get("/api/v1/attendance/statistics/members/", query).status_code == 400
    assert client.get("/api/v1/attendance/statistics/", {"granularity": "year"}).status_code == 400
    assert client.get("/console/attendance/statistics/", {"date_from": "yesterday"}).status_code == 400


def test_a_year_is_the_longest_range(world, client_for, today):
    client = client_for("acme", world.alice)
    query = {"date_from": (today - datetime.timedelta(days=365)).isoformat(), "date_to": today.isoformat()}
    assert client.get("/console/attendance/statistics/", query).status_code == 200
    assert client.get("/api/v1/attendance/statistics/", {**query, "granularity": "month"}).status_code == 200


def test_members_without_attendance_may_not_see_statistics(world, client_for):
    """ENT-8: the attendance category is needed."""
    assert client_for("acme", world.bob).get("/console/attendance/statistics/").status_code == 403
    assert client_for("acme", world.bob).get("/api/v1/attendance/statistics/").status_code == 403


# --- constant queries ----------------------------------------------------------------------------


def _load(world, count: int, department: Department, first: datetime.date, days: int) -> None:
    with enterprise_schema(world.acme):
        members = Membership.objects.bulk_create(
            [Membership(display_name=f"Load {i:03d}", status=Membership.Status.ACTIVE) for i in range(count)]
        )
        Membership.departments.through.objects.bulk_create(
            [Membership.departments.through(membership_id=m.pk, department_id=department.pk) for m in members]
        )
        AttendanceDay.objects.bulk_create(
            [
                AttendanceDay(
                    membership=m,
                    date=first + datetime.timedelta(days=d),
                    first_in=local(first, 9, 30),
                    exceptions=["late"],
                )
                for m in members
                for d in range(days)
            ]
        )
    connection.set_schema_to_public()


def test_queries_do_not_grow_with_members_or_days(world, client_for, today):
    """PERF-3, ENT-12: the page, the API and the export run the same number of queries for 3
    members over 5 days as for 30 members over 30 days."""
    from directory.org import department_create

    load = department_create(enterprise=world.acme, actor=None, name="Load test")
    connection.set_schema_to_public()
    client = client_for("acme", world.alice)
    counts = []
    for members, days in ((3, 5), (27, 30)):
        first = today - datetime.timedelta(days=days - 1)
        _load(world, members, load, first, days)
        query = {"date_from": first.isoformat(), "date_to": today.isoformat(), "department": load.pk}
        client.get("/console/attendance/statistics/", query)  # the same connection state as measured
        measured = []
        for method, path in (
            ("get", "/console/attendance/statistics/"),
            ("get", "/api/v1/attendance/statistics/"),
            ("get", "/api/v1/attendance/statistics/members/"),
            ("post", "/console/attendance/statistics/export/"),
        ):
            with CaptureQueriesContext(connection) as queries:
                response = getattr(client, method)(path, query)
            assert response.status_code == 200, (path, response.content[:300])
            measured.append(len(queries.captured_queries))
        counts.append(measured)
        assert len(
            client.get("/api/v1/attendance/statistics/members/", {**query, "page_size": 200}).json()["results"]
        ) == (3 if members == 3 else 30)
    assert counts[0] == counts[1], counts
    assert counts[0][0] <= 20, counts


# --- a member's month -----------------------------------------------------------------------------


def test_a_members_month_as_a_calendar(world, client_for, seeded, today):
    """ENT-12: each day of the month marked by the same rules as the statistics, with the times;
    the month's figures equal the member's statistics; previous/next month navigation."""
    bob = world.membership(world.acme, world.bob)
    client = client_for("acme", world.alice)
    previous = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    response = client.get(f"/console/attendance/members/{bob.pk}/calendar/", {"month": previous.strftime("%Y-%m")})
    assert response.status_code == 200
    calendar = response.context["calendar"]
    assert calendar.month == previous and calendar.next == today.replace(day=1)
    cells = {cell.day: cell for week in calendar.weeks for cell in week if cell.in_month}
    assert all(len(week) == 7 and week[0].day.weekday() == 0 for week in calendar.weeks)
    marks = {ON_TIME: "on_time", LATE: "late", OUT_OF_RANGE: "on_time", LATE_OUT_OF_RANGE: "late"}
    for (pk, day), behaviour in seeded.items():
        if pk != bob.pk or day not in cells:
            continue
        cell = cells[day]
        if behaviour == STAY_AWAY:
            assert cell.status == ("absent" if is_working_day(day) else "off"), day
        else:
            assert cell.status == marks[behaviour], day
            assert cell.out_of_range == (behaviour in (OUT_OF_RANGE, LATE_OUT_OF_RANGE))
            assert timezone.localtime(cell.last_out).time() == datetime.time(18, 5)
    month = expected(world, seeded, [bob.pk], previous, today.replace(day=1) - datetime.timedelta(days=1))[None]
    mine = calendar.figures
    assert (mine.clock_ins, mine.late, mine.absent, mine.out_of_range, mine.due) == (
        month["clock_ins"],
        month["late"],
        month["absent"],
        month["out_of_range"],
        month["due"],
    )
    assert b"08:50" in response.content and b"18:05" in response.content
    this_month = client.get(f"/console/attendance/members/{bob.pk}/calendar/")
    assert this_month.context["calendar"].month == today.replace(day=1)
    assert this_month.context["calendar"].next is None
    # reached from the statistics table and from the member's attendance page
    assert (
        f"/console/attendance/members/{bob.pk}/calendar/".encode()
        in client.get("/console/attendance/statistics/").content
    )
    assert (
        f"/console/attendance/members/{bob.pk}/calendar/".encode()
        in client.get(f"/console/attendance/members/{bob.pk}/").content
    )


def test_a_calendar_out_of_scope_is_a_404_like_a_missing_one(world, client_for, today):
    """ENT-8: Sam sees Bob's month, never Erin's; an unknown id answers the same."""
    sam = client_for("acme", world.sam)
    bob = world.membership(world.acme, world.bob)
    erin = world.membership(world.acme, world.erin)
    assert sam.get(f"/console/attendance/members/{bob.pk}/calendar/").status_code == 200
    assert sam.get(f"/console/attendance/members/{erin.pk}/calendar/").status_code == 404
    assert sam.get("/console/attendance/members/999999/calendar/").status_code == 404
    assert sam.get(f"/console/attendance/members/{bob.pk}/calendar/", {"month": "garbage"}).status_code == 200


# --- export ---------------------------------------------------------------------------------------


def _entries(world):
    with enterprise_schema(world.acme):
        entries = list(LedgerEntry.objects.filter(action="export", category="attendance").order_by("pk"))
    connection.set_schema_to_public()
    return entries


@pytest.mark.parametrize("persona", ["alice", "sam"])
def test_the_export_is_an_xlsx_of_the_figures_and_is_recorded(world, client_for, seeded, today, persona):
    """ENT-12, ENT-10: the workbook holds per department, per member and per day the figures
    computed here (in scope only), and one ledger entry (export, attendance, the filters) exists."""
    date_from = today - datetime.timedelta(days=SPAN_DAYS - 1)
    client = client_for("acme", getattr(world, persona))
    before = len(_entries(world))
    response = client.post(
        "/console/attendance/statistics/export/",
        {"date_from": date_from.isoformat(), "date_to": today.isoformat(), "granularity": "week"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    assert workbook.sheetnames == ["By department", "By member", "By day", "By week"]
    members = active_ids(world, sales_only=persona == "sam")
    with enterprise_schema(world.acme):
        names = dict(Membership.objects.filter(pk__in=members).values_list("display_name", "pk"))
    connection.set_schema_to_public()
    rows = list(workbook["By member"].iter_rows(values_only=True))
    assert rows[0][:6] == ("Name", "Clock-ins", "On time", "Late", "Absent", "Out of range")
    assert {row[0] for row in rows[1:]} == set(names)
    for row in rows[1:]:
        mine = expected(world, seeded, [names[row[0]]], date_from, today)[None]
        assert row[1:6] == (mine["clock_ins"], mine["on_time"], mine["late"], mine["absent"], mine["out_of_range"])
    days = list(workbook["By day"].iter_rows(values_only=True))[1:]
    per_day = expected(world, seeded, members, date_from, today, key=lambda day: day)
    assert len(days) == SPAN_DAYS
    for row in days:
        counter = per_day[row[0].date()]
        assert row[1:6] == (
            counter["clock_ins"],
            counter["on_time"],
            counter["late"],
            counter["absent"],
            counter["out_of_range"],
        )
    departments = {
        row[0].strip("\u3000"): row for row in list(workbook["By department"].iter_rows(values_only=True))[1:]
    }
    assert ("Engineering" in departments) == (persona == "alice")
    entries = _entries(world)
    assert len(entries) == before + 1
    entry = entries[-1]
    assert entry.actor_membership_id == world.membership(world.acme, getattr(world, persona)).pk
    assert entry.details["filters"] == {
        "date_from": date_from.isoformat(),
        "date_to": today.isoformat(),
        "granularity": "week",
        "department": None,
    }


def test_the_export_headers_are_translated(world, client_for, seeded, today):
    """UI-3: the workbook speaks the reader's language."""
    client = client_for("acme", world.alice)
    response = client.post(
        "/console/attendance/statistics/export/", {"date_to": today.isoformat()}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    assert "By member" not in workbook.sheetnames
    header = next(workbook.worksheets[1].iter_rows(values_only=True))
    assert all(not str(cell).isascii() for cell in header), header


def test_a_get_of_the_export_does_nothing(world, client_for, seeded, today):
    """ENT-10: only a POST exports; a GET is refused and records nothing; bad filters export nothing."""
    client = client_for("acme", world.alice)
    before = len(_entries(world))
    assert client.get("/console/attendance/statistics/export/").status_code == 405
    bad = client.post(
        "/console/attendance/statistics/export/", {"date_from": today.isoformat(), "date_to": "2000-01-01"}
    )
    assert bad.status_code == 400
    assert len(_entries(world)) == before


def test_the_api_is_documented(world, client_for):
    """SEC-3: both endpoints, their filters and the 400 of bad input are in the OpenAPI schema."""
    doc = client_for("acme", world.alice).get("/api/schema/?format=json").json()
    for path in ("/api/v1/attendance/statistics/", "/api/v1/attendance/statistics/members/"):
        operation = doc["paths"][path]["get"]
        names = {parameter["name"] for parameter in operation["parameters"]}
        assert {"granularity", "date_from", "date_to", "department"} <= names, path
        assert "200" in operation["responses"]
    totals = doc["components"]["schemas"]["StatisticsOutput"]["properties"]
    assert {"totals", "periods", "departments"} <= set(totals)
