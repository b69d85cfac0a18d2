"""The console home dashboard (ENT-12, ENT-8): every figure equals a count computed here from
the database, for the owner (whole enterprise) and for Sam (scoped to Sales: directory, health,
attendance); figures of categories an admin does not hold are not shown; the page runs a bounded
number of queries whatever the number of members. Time is frozen at a working day's local
morning (and evening), so "today", "late" and "absent" are deterministic."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from attendance.models import AttendanceDay, Geofence
from attendance.services import attendance_clock, geofence_create, is_working_day
from biometrics.models import Device
from core.models import Department, Membership
from core.services import membership_create
from health.services import health_min_group_size_set, health_report_submit
from invitations.models import Invitation
from invitations.services import invitation_create_by_mobile
from requests.models import Request, RequestKind
from tenants.categories import Category
from tenants.context import enterprise_schema
from tests.health.test_health import scope_of

OFFICE = (31.2304, 121.4737)
OFFICE_BSSID = "aa:bb:cc:dd:ee:01"
ZONE = "Asia/Shanghai"


def working_day_after_today() -> datetime.date:
    day = timezone.localdate() + datetime.timedelta(days=1)
    while not is_working_day(day):
        day += datetime.timedelta(days=1)
    return day


def local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(
        datetime.datetime.combine(day, datetime.time(hour, minute)), timezone.get_default_timezone()
    )


@pytest.fixture
def day():
    return working_day_after_today()


@pytest.fixture
def morning(day):
    with time_machine.travel(local(day, 10, 30), tick=False):
        yield day


def build(world, day):
    """Clock-ins (Bob on time in range, Erin late by Wi-Fi, Sam late and out of range), health
    reports (Bob, Erin, Dana; N=3), two invitations (Sales East, Engineering), three requests,
    Dana not having acknowledged the current notice."""
    acme = world.acme
    members = {name: world.membership(acme, getattr(world, name)) for name in ("bob", "erin", "sam", "dana", "alice")}
    geofence_create(
        enterprise=acme,
        actor=None,
        name="HQ",
        latitude=OFFICE[0],
        longitude=OFFICE[1],
        radius_m=200,
        wifi_bssids=[OFFICE_BSSID],
    )
    attendance_clock(
        enterprise=acme,
        membership=members["bob"],
        kind="in",
        source="wifi",
        wifi_bssid=OFFICE_BSSID,
        occurred_at=local(day, 8, 50),
    )
    attendance_clock(
        enterprise=acme,
        membership=members["erin"],
        kind="in",
        source="wifi",
        wifi_bssid=OFFICE_BSSID,
        occurred_at=local(day, 9, 40),
    )
    attendance_clock(
        enterprise=acme,
        membership=members["sam"],
        kind="in",
        source="app",
        latitude=31.30,
        longitude=121.50,
        accuracy_m=15,
        occurred_at=local(day, 9, 45),
    )
    for name in ("bob", "erin", "dana"):
        health_report_submit(enterprise=acme, membership=members[name], date=day, city="Shanghai", unwell=False)
    health_min_group_size_set(enterprise=acme, actor=members["alice"], scope=scope_of(world, world.alice), value=3)
    east = invitation_create_by_mobile(enterprise=acme, actor=None, mobile="+8613800138001", display_name="Ivy East")
    eng = invitation_create_by_mobile(enterprise=acme, actor=None, mobile="+8613800138002", display_name="Ian Eng")
    with enterprise_schema(acme):
        east.membership.departments.add(world.sales_east)
        eng.membership.departments.add(world.engineering)
        Request.objects.create(
            kind=RequestKind.ACCESS,
            status=Request.Status.IN_REVIEW,
            account=world.bob,
            membership=members["bob"],
            category=Category.HEALTH,
            due_on=day - datetime.timedelta(days=2),  # overdue
        )
        Request.objects.create(
            kind=RequestKind.CORRECTION,
            status=Request.Status.IN_REVIEW,
            account=world.erin,
            membership=members["erin"],
            category=Category.DIRECTORY,
            due_on=day + datetime.timedelta(days=8),
        )
        Request.objects.create(
            kind=RequestKind.ACCESS,
            status=Request.Status.COMPLETED,
            account=world.bob,
            membership=members["bob"],
            category=Category.ATTENDANCE,
            due_on=day - datetime.timedelta(days=5),
        )
        Membership.objects.filter(pk=members["dana"].pk).update(notice_acknowledged=0)
    connection.set_schema_to_public()


def expected(world, day, *, sales_only: bool) -> dict:
    """The figures computed directly from the tables."""
    with enterprise_schema(world.acme):
        active = Membership.objects.filter(status=Membership.Status.ACTIVE)
        if sales_only:
            active = active.filter(departments__path__startswith=world.sales.path)
        ids = set(active.values_list("pk", flat=True))
        days = AttendanceDay.objects.filter(date=day, membership_id__in=ids)
        clocked = days.filter(first_in__isnull=False)
        late = days.filter(exceptions__contains=["late"]).count()
        invitations = Invitation.objects.filter(status=Invitation.Status.PENDING, expires_at__gte=timezone.now())
        if sales_only:
            invitations = invitations.filter(membership__departments__path__startswith=world.sales.path)
        requests = Request.objects.filter(status__in=Request.OPEN_STATUSES, membership__isnull=False)
        if sales_only:  # Sam holds directory, health, attendance over Sales
            requests = requests.filter(
                Q(category__in=[Category.DIRECTORY, Category.HEALTH, Category.ATTENDANCE]), membership_id__in=ids
            )
        reported = HealthReportCount(ids, day)
        return {
            "members": len(ids),
            "clocked": clocked.count(),
            "late": late,
            "on_time": clocked.count() - late,
            "out_of_range": days.filter(exceptions__contains=["out_of_range"]).count(),
            "not_clocked_in": len(ids) - clocked.count(),
            "reported": reported,
            "missing": len(ids) - reported,
            "invitations": invitations.count(),
            "pending": requests.count(),
            "overdue": requests.filter(status__in=Request.RUNNING_STATUSES, due_on__lt=day).count(),
            "acknowledged": active.filter(notice_acknowledged__gte=world.acme.notice_version).count(),
        }


def HealthReportCount(ids, day):  # noqa: N802
    from health.models import HealthReport

    return HealthReport.objects.filter(membership_id__in=ids, date=day).count()


def figure(content: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}"[^>]*>([^<]+)<', content)
    assert match, name
    return match.group(1).strip()


def test_owner_sees_every_figure_equal_to_the_database(world, client_for, morning):
    day = morning
    build(world, day)
    want = expected(world, day, sales_only=False)
    response = client_for("acme", world.alice).get("/console/")
    assert response.status_code == 200
    board = response.context["dashboard"]
    assert board.today == day
    a = board.attendance
    assert a.working_day and not a.day_over
    assert (a.members, a.on_time, a.late, a.out_of_range) == (
        want["members"],
        want["on_time"],
        want["late"],
        want["out_of_range"],
    )
    assert (a.on_time, a.late, a.out_of_range) == (1, 2, 1)  # the scenario, not only the same sum
    assert a.not_yet == want["not_clocked_in"] and a.absent == 0
    assert board.health.reported.value == want["reported"] == 3
    assert board.health.not_reported.value == want["missing"]
    assert board.invitations_pending == want["invitations"] == 2
    assert (board.requests.pending, board.requests.overdue) == (want["pending"], want["overdue"]) == (2, 1)
    assert board.requests.nearest_days_left < 0  # the overdue one is the nearest deadline
    assert board.notice.acknowledged == want["acknowledged"] and board.notice.members == want["members"]
    assert board.notice.rate == round(100 * want["acknowledged"] / want["members"])
    content = response.content.decode()
    assert figure(content, "late") == str(want["late"])
    assert figure(content, "not_yet") == str(want["not_clocked_in"])
    assert figure(content, "health_reported") == "3"
    assert figure(content, "invitations_pending") == "2"
    assert f'href="/console/attendance/?date={day:%Y-%m-%d}&amp;status=late"' in content
    assert 'data-figure="purge_last_run"' not in content and "Retention purge" in content  # shown, no run yet
    # the setup checklist: every item the owner holds, done as the tables say
    with enterprise_schema(world.acme):
        done = {
            "departments": Department.objects.filter(parent__isnull=False).exists(),
            "invite": Invitation.objects.exists(),
            "geofence": Geofence.objects.exists(),
            "device": Device.objects.exists(),
        }
    items = {item.key: item.done for item in board.checklist}
    assert items == {"notice": world.acme.notice_version > 0, **done}
    assert items["device"] is False and board.checklist_open
    assert 'data-item="device" data-done="false"' in content


def test_the_attendance_list_behind_each_figure_holds_those_members(world, client_for, morning):
    day = morning
    build(world, day)
    client = client_for("acme", world.alice)
    board = client.get("/console/").context["dashboard"]
    for status, count in (
        ("on_time", board.attendance.on_time),
        ("late", board.attendance.late),
        ("out_of_range", board.attendance.out_of_range),
        ("not_clocked_in", board.attendance.not_yet),
    ):
        response = client.get("/console/attendance/", {"date": day.isoformat(), "status": status})
        assert response.status_code == 200 and len(response.context["rows"]) == count, status


def test_after_the_working_day_the_not_clocked_in_are_absent(world, client_for, day):
    with time_machine.travel(local(day, 10, 30), tick=False):
        build(world, day)
    with time_machine.travel(local(day, 19, 0), tick=False):
        want = expected(world, day, sales_only=False)
        board = client_for("acme", world.alice).get("/console/").context["dashboard"]
    assert board.attendance.day_over and board.attendance.not_yet == 0
    assert board.attendance.absent == want["not_clocked_in"] > 0


def test_scoped_admin_sees_only_figures_of_their_categories_and_departments(world, client_for, morning):
    day = morning
    build(world, day)
    want = expected(world, day, sales_only=True)
    response = client_for("acme", world.sam).get("/console/")
    assert response.status_code == 200
    board = response.context["dashboard"]
    a = board.attendance
    assert (a.members, a.on_time, a.late, a.out_of_range, a.not_yet) == (
        want["members"],
        want["on_time"],
        want["late"],
        want["out_of_range"],
        want["not_clocked_in"],
    )
    assert (a.members, a.on_time, a.late) == (2, 1, 1)  # Sam and Bob; Erin (Engineering) is not counted
    assert want["members"] < 3 and board.health.members.display == "< 3"  # a group under N is not shown
    assert board.invitations_pending == want["invitations"] == 1
    assert (board.requests.pending, board.requests.overdue) == (want["pending"], want["overdue"]) == (1, 1)
    # no consent, retention or biometrics category: those figures are not on the page at all
    assert board.notice is None and not board.purge_shown
    assert {item.key for item in board.checklist} == {"departments", "invite", "geofence"}
    content = response.content.decode()
    for absent in ('data-figure="notice_rate"', "Retention purge", 'href="/console/notices/"', "biometrics/devices"):
        assert absent not in content


def test_admin_without_attendance_or_health_sees_no_such_figure(world, client_for, morning):
    build(world, morning)
    board = client_for("acme", world.amy).get("/console/").context["dashboard"]  # full admin: no health
    assert board.health is None and board.attendance is not None
    content = client_for("acme", world.amy).get("/console/").content.decode()
    assert 'data-figure="health_reported"' not in content


@pytest.mark.parametrize("persona", ["alice", "sam"])
def test_the_trend_shows_each_of_the_last_two_weeks_exceptions(world, client_for, morning, persona):
    """ENT-12, UI-1: the home's attendance trend has one point per day of the last 14, today
    last; its late and out-of-range counts are the day rows of the members in scope, and the chart
    drawn from it carries the same numbers."""
    day = morning
    build(world, day)
    response = client_for("acme", getattr(world, persona)).get("/console/")
    trend = response.context["dashboard"].attendance_trend
    assert [d for d, _ in trend.days] == [day - datetime.timedelta(days=13 - i) for i in range(14)]
    want = expected(world, day, sales_only=persona == "sam")
    with enterprise_schema(world.acme):
        active = Membership.objects.filter(status=Membership.Status.ACTIVE)
        if persona == "sam":
            active = active.filter(departments__path__startswith=world.sales.path)
        rows = AttendanceDay.objects.filter(membership_id__in=active.values("pk"))
        for d, figures in trend.days:
            assert figures.late == rows.filter(date=d, exceptions__contains=["late"]).count(), d
            assert figures.out_of_range == rows.filter(date=d, exceptions__contains=["out_of_range"]).count(), d
    assert trend.days[-1][1].late == want["late"] > 0
    chart = response.context["attendance_chart"]
    assert chart["series"][0]["data"] == [figures.late for _, figures in trend.days]
    assert 'id="chart-1-data"' in response.content.decode()


@pytest.mark.parametrize("persona", ["alice", "sam"])
def test_queries_do_not_grow_with_the_members(world, client_for, django_assert_max_num_queries, morning, persona):
    build(world, morning)
    client = client_for("acme", getattr(world, persona))
    client.get("/console/")  # warm the per-process caches (content types)
    limit = 40
    with django_assert_max_num_queries(limit) as small:
        assert client.get("/console/").status_code == 200
    for i in range(30):
        account = User.objects.create_user(f"+86137990{i:05d}", "x-long-pass-1", nickname=f"Many {i}")
        member = membership_create(enterprise=world.acme, account=account, role="member")
        with enterprise_schema(world.acme):
            member.departments.add(world.sales_east)
        attendance_clock(
            enterprise=world.acme,
            membership=member,
            kind="in",
            source="wifi",
            wifi_bssid=OFFICE_BSSID,
            occurred_at=local(morning, 9, 50),
        )
    connection.set_schema_to_public()
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get("/console/")
    assert response.context["dashboard"].attendance.members >= 32


def test_the_checklist_says_done_not_deleted_in_chinese(world, client_for):
    """UI-3: the checklist's "Done" is a message of its own (context "setup checklist"), not the
    erasure status "Done" (已删除) it once shared with consent records and purge runs."""
    with enterprise_schema(world.acme):
        has_departments = Department.objects.filter(parent__isnull=False).exists()
    assert has_departments  # the world has departments: that item is done
    content = client_for("acme", world.alice).get("/console/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'data-item="departments" data-done="true"' in content
    item = re.search(r'data-item="departments" data-done="true">(.*?)</li>', content, re.S)
    assert item is not None and "已完成" in item.group(1) and "已删除" not in item.group(1)
