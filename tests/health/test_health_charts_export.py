"""The health dashboard's charts and export (ENT-5, ENT-8, ENT-10; GB/T 35273 §6.2): the minimum
group size on every summary — the page's table, the chart specs in the page, the API and the
.xlsx export — with a department of 4 against one of 5 reporters; figures equal to counts the
test computes; a scoped admin's charts and export hold only their subtree; a constant number of
queries whatever the number of members and days; the export is a recorded POST; the date inputs
carry ISO values in both languages."""

from __future__ import annotations

import datetime
import io
import json
import re

import pytest
import time_machine
from django.utils import timezone
from openpyxl import load_workbook

from core.models import Membership
from health.models import HealthReport
from ledger.models import LedgerEntry
from tenants.categories import Category
from tenants.context import enterprise_schema
from tests.health.test_health import submit
from tests.health.test_health_dashboard import add_members, report

PAGE = "/console/health/"
EXPORT = "/console/health/export/"
API = "/api/v1/health/summary/"
SUPPRESSED = {"suppressed": True, "value": None, "display": "< 5"}


@pytest.fixture(autouse=True)
def _one_instant():
    """ "Today" is one day for the whole test, even when it starts at 23:59:58 local."""
    with time_machine.travel(timezone.now(), tick=False):
        yield


def chart_specs(content: str) -> list[dict]:
    """The JSON data blocks `{% chart %}` writes, in page order (trend, departments)."""
    return [
        json.loads(block)
        for block in re.findall(r'<script id="chart-\d+-data" type="application/json">(.*?)</script>', content, re.S)
    ]


def workbook(response) -> dict[str, list[tuple]]:
    """The sheets of an .xlsx response as lists of rows, by position: departments, days, filter."""
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return {
        key: list(sheet.iter_rows(values_only=True))
        for key, sheet in zip(("departments", "days", "filter"), book, strict=True)
    }


def engineering_of(world, size: int, *, unwell: int = 0):
    """Engineering with Erin and size-1 more members; everyone reports today (the first `unwell`
    of them unwell), nobody yesterday."""
    extra = add_members(world, size - 1, world.engineering, prefix=f"+861379{size}")
    with enterprise_schema(world.acme):
        erin = Membership.objects.get(account=world.erin)
    members = [erin, *extra]
    for i, member in enumerate(members):
        report(world, member, unwell=i < unwell)
    return members


def counts_per_day(world, member_ids, dates):
    with enterprise_schema(world.acme):
        rows = list(HealthReport.objects.filter(membership_id__in=member_ids).values_list("date", "unwell"))
    return {day: (sum(1 for d, _u in rows if d == day), sum(1 for d, u in rows if d == day and u)) for day in dates}


# --- the minimum group size on every summary: 4 reporters against 5 ------------------------------


def test_a_department_of_four_reporters_is_suppressed_on_page_charts_api_and_export(world, client_for):
    engineering_of(world, 4, unwell=1)
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    query = {"date_from": yesterday.isoformat(), "date_to": today.isoformat(), "department": world.engineering.pk}
    client = client_for("acme", world.alice)
    page = client.get(PAGE, query)
    assert page.status_code == 200
    content = page.content.decode()
    summary = page.context["summary"]
    assert summary.total.name == "Engineering" and summary.total.suppressed
    assert [row.name for row in summary.departments] == ["Engineering"]
    assert all(getattr(summary.total, f).display == "< 5" for f in ("members", "reported", "reports", "unwell"))
    trend, departments = chart_specs(content)
    assert trend["suppressed"] == departments["suppressed"] == "< 5"
    assert trend["x"] == [yesterday.strftime("%m-%d"), today.strftime("%m-%d")] or yesterday.year != today.year
    for series in trend["series"]:  # every day of a group of 4 is a gap, never 4, 1 or 0
        assert series["data"] == [None, None]
    assert departments["x"] == ["Engineering"]
    assert [s["data"] for s in departments["series"]] == [[None], [None]]
    assert "Hangzhou" not in content  # no city of a group under N
    body = client.get(API, query).json()
    assert body["department"] == world.engineering.pk and body["total"]["members"] == SUPPRESSED
    assert [row["name"] for row in body["departments"]] == ["Engineering"]
    for day in body["days"]:
        assert day["members"] == day["reported"] == day["missing"] == day["unwell"] == SUPPRESSED
    sheets = workbook(client.post(EXPORT, query))
    assert sheets["departments"][1][:6] == ("Engineering", "< 5", "< 5", "< 5", "< 5", "< 5")
    assert sheets["departments"][2][:6] == ("Engineering", "< 5", "< 5", "< 5", "< 5", "< 5")
    assert [row[1:] for row in sheets["days"][1:]] == [("< 5",) * 4, ("< 5",) * 4]


def test_a_department_of_five_reporters_shows_the_counts_on_page_charts_api_and_export(world, client_for):
    members = engineering_of(world, 5, unwell=1)
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    counted = counts_per_day(world, [m.pk for m in members], [yesterday, today])
    assert counted == {yesterday: (0, 0), today: (5, 1)}
    query = {"date_from": yesterday.isoformat(), "date_to": today.isoformat(), "department": world.engineering.pk}
    client = client_for("acme", world.alice)
    page = client.get(PAGE, query)
    summary = page.context["summary"]
    total = summary.total
    assert (total.members.value, total.reported.value, total.not_reported.value, total.reports.value) == (5, 5, 0, 5)
    assert total.unwell.display == "< 5"  # one person unwell
    trend, departments = chart_specs(page.content.decode())
    reported, missing, unwell = trend["series"]
    assert reported["data"] == [counted[yesterday][0], counted[today][0]] == [0, 5]
    assert missing["data"] == [5 - counted[yesterday][0], 5 - counted[today][0]] == [5, 0]
    assert unwell["data"] == [0, None]  # nobody yesterday (shown), one today (a gap)
    assert departments["x"] == ["Engineering"] and [s["data"] for s in departments["series"]] == [[5], [None]]
    body = client.get(API, query).json()
    assert body["total"]["reported"]["value"] == 5 and body["total"]["unwell"] == SUPPRESSED
    assert [(d["date"], d["reported"]["value"], d["missing"]["value"], d["unwell"]["value"]) for d in body["days"]] == [
        (yesterday.isoformat(), 0, 5, 0),
        (today.isoformat(), 5, 0, None),
    ]
    assert body["days"][1]["unwell"] == SUPPRESSED
    sheets = workbook(client.post(EXPORT, query))
    header, *rows = sheets["departments"]
    assert header[:6] == ("Department", "Members", "Reported", "Not reported", "Reports", "Unwell")
    assert rows[0][:6] == ("Engineering", 5, 5, 0, 5, "< 5")
    days = [(row[0].date(), *row[1:]) for row in sheets["days"][1:]]
    assert days == [(yesterday, 5, 0, 5, 0), (today, 5, 5, 0, "< 5")]


def test_the_owner_bar_chart_shows_top_level_departments_and_never_below_a_suppressed_one(world, client_for):
    engineering_of(world, 5)
    submit(world, world.bob, city="Hangzhou")
    page = client_for("acme", world.alice).get(PAGE)
    content = page.content.decode()
    _trend, departments = chart_specs(content)
    # the root's children (Sales: Sam and Bob, 2 people; Engineering: 5) and the members without a department
    bars = dict(zip(departments["x"], zip(*(s["data"] for s in departments["series"]), strict=True), strict=True))
    assert bars["Engineering"] == (5, 0) and bars["Sales"] == (None, None)
    assert "Sales East" not in departments["x"]
    # Sales (2 members) is suppressed: its sub-department is not shown on its own anywhere
    names = [row.name for row in page.context["summary"].departments]
    assert "Sales" in names and "Sales East" not in names
    table = content[content.index('data-table="departments"') :]
    assert "Sales East" not in table  # (the department filter above still offers it)
    body = client_for("acme", world.alice).get(API).json()
    assert "Sales East" not in [row["name"] for row in body["departments"]]
    sheets = workbook(client_for("acme", world.alice).post(EXPORT, {}))
    assert not any("Sales East" in str(cell) for row in sheets["departments"] for cell in row)


# --- a scoped admin ------------------------------------------------------------------------------


def test_scoped_admin_charts_and_export_hold_only_the_sales_subtree(world, client_for):
    engineering_of(world, 5, unwell=2)
    east = add_members(world, 4, world.sales_east, prefix="+8613791")
    for member in east:
        report(world, member, city="Suzhou")
    submit(world, world.bob, city="Suzhou")
    client = client_for("acme", world.sam)
    page = client.get(PAGE)
    content = page.content.decode()
    trend, departments = chart_specs(content)
    with enterprise_schema(world.acme):
        sales_ids = set(
            Membership.objects.filter(
                status=Membership.Status.ACTIVE, departments__path__startswith=world.sales.path
            ).values_list("pk", flat=True)
        )
    today = timezone.localdate()
    reported, _unwell = counts_per_day(world, sales_ids, [today])[today]
    assert (len(sales_ids), reported) == (6, 5)  # Sam, Bob and 4 more; all but Sam reported
    # the trend is over Sam's scope: 6 members, 5 reported, 1 missing (< 5: both hidden), 0 unwell
    assert [s["data"] for s in trend["series"]] == [[None], [None], [0]]
    assert departments["x"] == ["Sales East"] and [s["data"] for s in departments["series"]] == [[5], [0]]
    assert "Engineering" not in content and "Erin" not in content
    response = client.post(EXPORT, {"date_from": today.isoformat(), "date_to": today.isoformat()})
    assert response.status_code == 200
    sheets = workbook(response)
    cells = [str(cell) for sheet in sheets.values() for row in sheet for cell in row if cell is not None]
    assert not any("Engineering" in cell for cell in cells)
    assert [row[0] for row in sheets["departments"][1:]] == ["Everyone in your scope", "Sales", "Sales / Sales East"]
    # an out-of-scope department: the same refusal as a missing one, and nothing recorded
    before = ledger_exports(world)
    outside = client.post(EXPORT, {"department": world.engineering.pk})
    missing = client.post(EXPORT, {"department": 987654})
    assert outside.status_code == missing.status_code == 400
    errors = [r.context["form"].errors["department"][0] for r in (outside, missing)]
    assert errors[0].replace(str(world.engineering.pk), "N") == errors[1].replace("987654", "N")
    assert ledger_exports(world) == before
    api_outside = client.get(API, {"department": world.engineering.pk})
    api_missing = client.get(API, {"department": 987654})
    assert api_outside.status_code == api_missing.status_code == 400 and api_outside.json() == api_missing.json()


def ledger_exports(world):
    with enterprise_schema(world.acme):
        return list(LedgerEntry.objects.filter(action="export", category=Category.HEALTH).order_by("id"))


# --- the export: a recorded POST, names nobody ---------------------------------------------------


def test_export_is_recorded_in_the_ledger_and_names_nobody(world, client_for):
    members = engineering_of(world, 6, unwell=5)
    today = timezone.localdate()
    date_from = today - datetime.timedelta(days=6)
    client = client_for("acme", world.alice)
    response = client.post(
        EXPORT, {"date_from": date_from.isoformat(), "date_to": today.isoformat(), "department": world.engineering.pk}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert response["Content-Disposition"] == f'attachment; filename="health-{date_from}-{today}.xlsx"'
    sheets = workbook(response)
    assert len(sheets["days"]) == 1 + 7  # a header and every day of the range
    names = {m.display_name for m in members} | {"Erin Engineer"}
    cells = [str(cell) for sheet in sheets.values() for row in sheet for cell in row if cell is not None]
    assert not any(name in cell for name in names for cell in cells)
    (entry,) = ledger_exports(world)
    alice = world.membership(world.acme, world.alice)
    assert entry.actor_membership_id == alice.pk and entry.subject_membership_id is None
    assert entry.object_id == str(world.engineering.pk)
    assert entry.details == {
        "format": "xlsx",
        "date_from": date_from.isoformat(),
        "date_to": today.isoformat(),
        "department": world.engineering.pk,
        "min_group_size": 5,
        "departments": 1,
    }


def test_get_on_the_export_does_nothing(world, client_for):
    engineering_of(world, 5)
    for user in (world.alice, world.sam):
        response = client_for("acme", user).get(EXPORT, {"department": world.engineering.pk})
        assert response.status_code == 405 and not response.get("Content-Disposition")
    assert ledger_exports(world) == []


def test_export_needs_health_and_refuses_a_bad_range(world, client_for):
    assert client_for("acme", world.amy).post(EXPORT).status_code == 403  # a full admin without health
    assert client_for("acme", world.bob).post(EXPORT).status_code == 403
    today = timezone.localdate()
    response = client_for("acme", world.alice).post(
        EXPORT, {"date_from": (today - datetime.timedelta(days=40)).isoformat(), "date_to": today.isoformat()}
    )
    assert response.status_code == 400 and response.context["form"].errors["date_to"]
    assert ledger_exports(world) == []


# --- query counts: few or many members and days --------------------------------------------------


@pytest.mark.parametrize(("size", "days"), [(3, 1), (40, 31)])
def test_page_api_and_export_run_a_constant_number_of_queries(world, client_for, django_assert_num_queries, size, days):
    extra = add_members(world, size, world.sales_east, prefix="+8613795", consent=False)
    today = timezone.localdate()
    dates = [today - datetime.timedelta(days=i) for i in range(days)]
    with enterprise_schema(world.acme):
        HealthReport.objects.bulk_create(
            HealthReport(membership=m, date=d, city="Hangzhou", unwell=i % 3 == 0, details_encrypted=b"x")
            for i, m in enumerate(extra)
            for d in dates
        )
    query = {"date_from": dates[-1].isoformat(), "date_to": today.isoformat(), "department": world.sales.pk}
    client = client_for("acme", world.sam)
    # 1-6 search paths, domain, session, account, membership; 7-9 Sam's scope; the shell's header;
    # the departments of the filter; the summary's five (N, departments, members, reports per
    # member and city, reports per day)
    with django_assert_num_queries(17):
        page = client.get(PAGE, query)
    assert page.context["summary"].total.members.value == size + 2
    assert len(chart_specs(page.content.decode())[0]["x"]) == days
    with django_assert_num_queries(16):  # the department through the scope instead of the list
        assert len(client.get(API, query).json()["days"]) == days
    # the filter's departments, the summary's five, the ledger entry (its chain head and insert)
    # and the schema switches around them
    with django_assert_num_queries(23):
        assert client.post(EXPORT, query).status_code == 200


# --- ISO dates in both languages -----------------------------------------------------------------


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_date_inputs_carry_iso_values_in_both_languages(world, client_for, language):
    today = timezone.localdate().isoformat()
    alice = client_for("acme", world.alice)
    pages = [
        (alice, PAGE, ("date_from", "date_to")),
        (alice, "/console/health/reports/", ("date",)),
        (client_for("acme", world.bob), "/me/health/", ("date",)),
    ]
    for client, url, names in pages:
        content = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        for name in names:
            (tag,) = re.findall(rf'<input type="date" name="{name}"[^>]*>', content)
            assert f'value="{today}"' in tag, (url, tag)
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    content = alice.get(PAGE, {"date_from": yesterday, "date_to": today}, HTTP_ACCEPT_LANGUAGE=language)
    assert f'value="{yesterday}"' in content.content.decode()
