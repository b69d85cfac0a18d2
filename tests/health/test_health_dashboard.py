"""The health dashboard (ENT-5, GB/T 35273 §6.2): a date range, departments aggregating their
subtree, the minimum group size N (suppressed figures on the page and in the API), N as an
enterprise setting, and the daily reminder to those who have not reported (scope, once per
subtree per day, ledger)."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from accounts.models import User
from consent.models import Notification, NotificationDelivery
from core.models import EnterpriseSettings, Membership
from core.services import membership_create
from demo.seed import consent_everything
from health.models import HealthReport
from health.selectors import health_min_group_size, health_summary
from health.services import REMINDER_KIND, health_min_group_size_set, health_reminder_send, health_report_submit
from ledger.models import LedgerEntry
from tenants.categories import Category
from tenants.context import enterprise_schema
from tests.health.test_health import scope_of, submit

SUMMARY_PAGE = "/console/health/"
SUMMARY_API = "/api/v1/health/summary/"
SUPPRESSED = {"suppressed": True, "value": None, "display": "< 5"}


@pytest.fixture(autouse=True)
def _one_instant():
    """ "Today" is one day for the whole test, even when it starts at 23:59:58 local."""
    with time_machine.travel(timezone.now(), tick=False):
        yield


def add_members(world, n, department, *, prefix="+8613755", consent=True):
    """n active members in `department`, each with every consent (so they may be reminded)."""
    members = []
    for i in range(n):
        account = User.objects.create_user(f"{prefix}{i:06d}", "x-long-pass-1", nickname=f"Extra {prefix[-3:]} {i}")
        member = membership_create(enterprise=world.acme, account=account, role="member")
        with enterprise_schema(world.acme):
            member.departments.add(department)
        if consent:
            consent_everything(world.acme, member)
        members.append(member)
    connection.set_schema_to_public()
    return members


def report(world, member, *, day=None, city="Hangzhou", unwell=False):
    return health_report_submit(
        enterprise=world.acme,
        membership=member,
        date=day or timezone.localdate(),
        city=city,
        unwell=unwell,
        symptoms="Fever" if unwell else "",
    )


def rows_of(summary):
    return {row.name: row for row in summary.departments}


def four_and_six(world):
    """Sales East: Bob + 3 = 4 members; Sales: Sam + 1 direct + Sales East = 6 members."""
    east = add_members(world, 3, world.sales_east, prefix="+8613761")
    direct = add_members(world, 1, world.sales, prefix="+8613762")
    return east, direct


# --- suppression --------------------------------------------------------------------------------


def test_a_department_of_four_is_suppressed_and_its_parent_of_six_shows_numbers(world):
    east, direct = four_and_six(world)
    for member in [*east, *direct]:
        report(world, member)
    submit(world, world.bob, city="Shanghai", unwell=True, symptoms="Fever")
    summary = health_summary(enterprise=world.acme, scope=scope_of(world, world.sam))
    rows = rows_of(summary)
    assert summary.min_group_size == 5
    east_row = rows["Sales East"]
    assert east_row.suppressed and east_row.cities == []
    for name in ("members", "reported", "not_reported", "reports", "unwell"):
        figure = getattr(east_row, name)
        assert figure.suppressed and figure.display == "< 5" and figure.value is None
    sales = rows["Sales"]  # the parent aggregates its whole subtree (it showed 0 before)
    assert not sales.suppressed and sales.members.value == 6
    # 5 of 6 reported: the complement (1 not reported) is small, so both are hidden
    assert sales.reported.suppressed and sales.not_reported.suppressed
    assert sales.reports.value == 5  # about five reporters
    assert sales.unwell.display == "< 5"  # one person
    # Hangzhou has 4 people (< 5): pooled as "other cities" with Shanghai, 5 people in all
    assert [(c.city, c.people.display) for c in sales.cities] == [("", "5")]
    assert summary.total.members.value == 6


def test_a_department_of_six_with_everyone_reported_shows_every_figure(world):
    east = add_members(world, 5, world.sales_east, prefix="+8613763")
    for member in east:
        report(world, member, unwell=True)
    submit(world, world.bob, city="Hangzhou")
    rows = rows_of(health_summary(enterprise=world.acme, scope=scope_of(world, world.sam)))
    east_row = rows["Sales East"]
    assert (east_row.members.value, east_row.reported.value, east_row.not_reported.value) == (6, 6, 0)
    assert (east_row.reports.value, east_row.unwell.value) == (6, 5)
    assert [(c.city, c.people.value) for c in east_row.cities] == [("Hangzhou", 6)]


def test_range_counts_reports_over_several_days_and_refuses_more_than_31_days(world):
    east = add_members(world, 5, world.sales_east, prefix="+8613764")
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    for member in east:
        report(world, member, day=yesterday)
        report(world, member, day=today)
    scope = scope_of(world, world.sam)
    row = rows_of(health_summary(enterprise=world.acme, scope=scope, date_from=yesterday, date_to=today))["Sales East"]
    assert (row.members.value, row.reports.value) == (6, 10)
    row = rows_of(health_summary(enterprise=world.acme, scope=scope, date_from=today, date_to=today))["Sales East"]
    assert row.reports.value == 5
    with pytest.raises(ValidationError) as error:
        health_summary(enterprise=world.acme, scope=scope, date_from=today - datetime.timedelta(days=31), date_to=today)
    assert "date_to" in error.value.message_dict
    with pytest.raises(ValidationError):
        health_summary(enterprise=world.acme, scope=scope, date_from=today, date_to=yesterday)


def test_page_and_api_show_the_suppressed_figure(world, client_for):
    east, direct = four_and_six(world)
    for member in [*east, *direct]:
        report(world, member)
    submit(world, world.bob, city="Shanghai", unwell=True, symptoms="Fever")
    submit(world, world.sam, city="Shanghai")  # 6 of 6 reported
    page = client_for("acme", world.sam).get(SUMMARY_PAGE)
    assert page.status_code == 200
    content = page.content.decode()
    assert "&lt; 5" in content and "Shanghai" not in content and "Hangzhou" not in content
    body = client_for("acme", world.sam).get(SUMMARY_API).json()
    rows = {row["name"]: row for row in body["departments"]}
    assert body["min_group_size"] == 5
    assert rows["Sales East"]["suppressed"] is True and rows["Sales East"]["cities"] == []
    for name in ("members", "reported", "not_reported", "reports", "unwell"):
        assert rows["Sales East"][name] == SUPPRESSED
    assert rows["Sales"]["members"] == {"suppressed": False, "value": 6, "display": "6"}
    assert rows["Sales"]["reported"]["value"] == 6 and rows["Sales"]["not_reported"]["value"] == 0
    assert rows["Sales"]["unwell"] == SUPPRESSED
    assert body["total"]["members"]["value"] == 6


def test_api_refuses_a_range_longer_than_31_days(world, client_for):
    today = timezone.localdate()
    response = client_for("acme", world.alice).get(
        SUMMARY_API, {"date_from": (today - datetime.timedelta(days=40)).isoformat(), "date_to": today.isoformat()}
    )
    assert response.status_code == 400 and "date_to" in response.json()


def test_page_refuses_a_range_longer_than_31_days_with_a_field_error(world, client_for):
    today = timezone.localdate()
    response = client_for("acme", world.alice).get(
        SUMMARY_PAGE, {"date_from": (today - datetime.timedelta(days=40)).isoformat(), "date_to": today.isoformat()}
    )
    assert response.context["form"].errors["date_to"]
    assert response.context["summary"].date_from == today  # falls back to today


# --- the minimum group size setting -------------------------------------------------------------


def test_n_three_shows_a_department_of_four(world, client_for):
    east, _direct = four_and_six(world)
    for member in east:
        report(world, member)
    submit(world, world.bob, city="Hangzhou")
    alice = world.membership(world.acme, world.alice)
    assert (
        health_min_group_size_set(enterprise=world.acme, actor=alice, scope=scope_of(world, world.alice), value=3) == 3
    )
    assert health_min_group_size(enterprise=world.acme) == 3
    row = rows_of(health_summary(enterprise=world.acme, scope=scope_of(world, world.sam)))["Sales East"]
    assert (row.members.value, row.reported.value, row.not_reported.value) == (4, 4, 0)
    assert row.unwell.value == 0 and [(c.city, c.people.value) for c in row.cities] == [("Hangzhou", 4)]
    body = client_for("acme", world.sam).get(SUMMARY_API).json()
    east_row = {row["name"]: row for row in body["departments"]}["Sales East"]
    assert east_row["members"]["value"] == 4 and body["min_group_size"] == 3
    with enterprise_schema(world.acme):
        entry = LedgerEntry.objects.filter(category=Category.HEALTH, action="change").latest("id")
    assert entry.details == {"health_min_group_size": {"from": 5, "to": 3}}


@pytest.mark.parametrize("value", [2, 0, -1, 101])
def test_n_out_of_range_is_refused_with_a_field_error_on_page_and_api(world, client_for, value):
    client = client_for("acme", world.alice)
    response = client.post("/console/health/settings/", {"min_group_size": value})
    assert response.status_code == 400
    assert response.context["settings_form"].errors["min_group_size"]
    response = client.put("/api/v1/health/settings/", {"min_group_size": value}, content_type="application/json")
    assert response.status_code == 400 and "min_group_size" in response.json()
    assert health_min_group_size(enterprise=world.acme) == 5
    with enterprise_schema(world.acme):
        assert not EnterpriseSettings.objects.filter(health_min_group_size=value).exists()


def test_page_sets_n_and_a_scoped_admin_may_not(world, client_for):
    response = client_for("acme", world.alice).post("/console/health/settings/", {"min_group_size": 7})
    assert response.status_code == 302 and health_min_group_size(enterprise=world.acme) == 7
    assert client_for("acme", world.alice).get("/api/v1/health/settings/").json() == {"min_group_size": 7}
    sam = client_for("acme", world.sam)
    assert sam.post("/console/health/settings/", {"min_group_size": 3}).status_code == 403
    assert (
        sam.put("/api/v1/health/settings/", {"min_group_size": 3}, content_type="application/json").status_code == 403
    )
    assert health_min_group_size(enterprise=world.acme) == 7
    with pytest.raises(PermissionDenied):
        health_min_group_size_set(
            enterprise=world.acme,
            actor=world.membership(world.acme, world.sam),
            scope=scope_of(world, world.sam),
            value=3,
        )


# --- reminders ----------------------------------------------------------------------------------


def reminded_accounts():
    connection.set_schema_to_public()
    return set(Notification.objects.filter(kind=REMINDER_KIND).values_list("account_id", flat=True))


def test_reminder_reaches_only_those_in_scope_who_have_not_reported(world, client_for):
    east = add_members(world, 3, world.sales_east, prefix="+8613771")
    report(world, east[0])  # reported: not reminded
    no_consent = add_members(world, 1, world.sales_east, prefix="+8613772", consent=False)
    response = client_for("acme", world.sam).post("/console/health/remind/")
    assert response.status_code == 302
    with enterprise_schema(world.acme):
        expected = {world.bob.pk, *(m.account_id for m in east[1:])}
    # not Sam himself, not the one who reported, not Erin (Engineering), not Dana (no department),
    # not the member without a consent to health monitoring
    assert reminded_accounts() == expected
    assert no_consent[0].account_id not in expected
    sms = set(NotificationDelivery.objects.filter(kind=REMINDER_KIND, channel="sms").values_list("address", flat=True))
    assert sms == {str(u.mobile) for u in User.objects.filter(pk__in=expected)}
    with enterprise_schema(world.acme):
        entry = LedgerEntry.objects.filter(action="remind").get()
    sam = world.membership(world.acme, world.sam)
    assert entry.category == Category.HEALTH and entry.actor_membership_id == sam.pk
    assert entry.details["recipients"] == len(expected) and entry.details["date"] == timezone.localdate().isoformat()


def test_a_second_reminder_the_same_day_is_refused_and_sends_nothing(world, client_for):
    client = client_for("acme", world.sam)
    assert client.post("/console/health/remind/").status_code == 302
    before = len(reminded_accounts())
    response = client.post("/console/health/remind/", {"department": world.sales_east.pk})  # inside Sales
    assert response.status_code == 409
    assert "already reminded today" in response.content.decode()
    alice = client_for("acme", world.alice)
    assert alice.post("/console/health/remind/").status_code == 409  # the whole enterprise overlaps Sales
    assert len(reminded_accounts()) == before
    with enterprise_schema(world.acme):
        assert LedgerEntry.objects.filter(action="remind").count() == 1
    # another subtree is still free: Alice reminds Engineering (Erin)
    assert alice.post("/console/health/remind/", {"department": world.engineering.pk}).status_code == 302
    assert world.erin.pk in reminded_accounts()
    response = client_for("acme", world.alice).post(
        "/api/v1/health/remind/", {"department": world.engineering.pk}, content_type="application/json"
    )
    assert response.status_code == 400 and "department" in response.json()


def test_reminder_outside_scope_is_refused_like_a_missing_department(world, client_for):
    sam = client_for("acme", world.sam)
    assert sam.post("/console/health/remind/", {"department": world.engineering.pk}).status_code == 404
    # in the API the department is a body reference: the same 400 field error as a missing one
    # (ENT-8; the schema documents no 404 here — found by schemathesis)
    outside = sam.post("/api/v1/health/remind/", {"department": world.engineering.pk}, content_type="application/json")
    missing = sam.post("/api/v1/health/remind/", {"department": 0}, content_type="application/json")
    assert outside.status_code == missing.status_code == 400
    assert outside.json() == missing.json() and "department" in outside.json()
    assert client_for("acme", world.amy).post("/console/health/remind/").status_code == 403
    assert client_for("acme", world.bob).post("/api/v1/health/remind/").status_code == 403
    assert reminded_accounts() == set()


def test_whole_enterprise_reminder_by_api_includes_members_without_department(world, client_for):
    response = client_for("acme", world.alice).post("/api/v1/health/remind/", {}, content_type="application/json")
    assert response.status_code == 200
    with enterprise_schema(world.acme):
        expected = set(
            Membership.objects.filter(status=Membership.Status.ACTIVE, account__isnull=False)
            .exclude(account=world.alice)
            .values_list("account_id", flat=True)
        )
    assert world.dana.pk in expected and reminded_accounts() == expected
    assert response.json() == {"reminded": len(expected)}


def test_nobody_to_remind_records_nothing(world):
    alice = world.membership(world.acme, world.alice)
    scope = scope_of(world, world.alice)
    with enterprise_schema(world.acme):
        members = list(Membership.objects.filter(status=Membership.Status.ACTIVE, account__isnull=False))
    for member in members:
        report(world, member)
    assert health_reminder_send(enterprise=world.acme, actor=alice, scope=scope) == 0
    with enterprise_schema(world.acme):
        assert not LedgerEntry.objects.filter(action="remind").exists()


# --- scope, names, query counts -----------------------------------------------------------------


def test_summary_is_scoped_and_names_nobody(world, client_for):
    east = add_members(world, 5, world.sales_east, prefix="+8613781")
    for member in east:
        report(world, member, unwell=True)
    submit(world, world.bob, city="Shanghai", unwell=True, symptoms="persistent-cough-7731")
    submit(world, world.erin, city="Shenzhen", unwell=True, symptoms="Cough")
    summary = health_summary(enterprise=world.acme, scope=scope_of(world, world.sam))
    assert set(rows_of(summary)) == {"Sales", "Sales East"}
    assert summary.total.members.value == 7 and summary.total.unwell.value == 6
    for response in (client_for("acme", world.sam).get(SUMMARY_PAGE), client_for("acme", world.sam).get(SUMMARY_API)):
        text = response.content.decode()
        assert "Sales East" in text
        for absent in ("Bob Member", "Sam Scoped", "Erin Engineer", "Engineering", "Shenzhen", "persistent-cough"):
            assert absent not in text


def test_a_member_in_two_departments_counts_once_in_each_and_once_in_the_total(world):
    east = add_members(world, 5, world.sales_east, prefix="+8613782")
    with enterprise_schema(world.acme):
        for member in east:
            member.departments.add(world.engineering)
    for member in east:
        report(world, member)
    submit(world, world.erin, city="Hangzhou")
    summary = health_summary(enterprise=world.acme, scope=scope_of(world, world.alice))
    rows = rows_of(summary)
    assert (rows["Engineering"].members.value, rows["Engineering"].reported.value) == (6, 6)
    assert (rows["Sales East"].members.value, rows["Sales East"].reports.value) == (6, 5)
    assert rows["Sales East"].reported.suppressed  # Bob has not reported: 1 < 5, so 5 is hidden too
    root = summary.departments[0]  # the root department aggregates the whole tree, each member once
    assert root.depth == 0 and root.reports.value == 6
    with enterprise_schema(world.acme):
        active = Membership.objects.filter(status=Membership.Status.ACTIVE).count()
    assert summary.total.members.value == active


def test_whole_enterprise_scope_has_a_row_without_department(world):
    for member in add_members(world, 5, world.sales, prefix="+8613783"):
        with enterprise_schema(world.acme):
            member.departments.clear()
        report(world, member, city="Suzhou")
    rows = {
        row.department_id: row
        for row in health_summary(enterprise=world.acme, scope=scope_of(world, world.alice)).departments
    }
    assert rows[None].reports.value == 5 and [c.city for c in rows[None].cities] == ["Suzhou"]
    assert rows[None].members.value == rows[None].reports.value + 3  # Amy, Dana, the owner: not reported
    assert rows[None].reported.suppressed and rows[None].not_reported.suppressed
    sam_rows = {
        row.department_id for row in health_summary(enterprise=world.acme, scope=scope_of(world, world.sam)).departments
    }
    assert None not in sam_rows


def test_page_for_another_day(world, client_for):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    for member in add_members(world, 5, world.sales_east, prefix="+8613784"):
        report(world, member, day=yesterday, city="Wuxi")
    client = client_for("acme", world.alice)
    response = client.get(SUMMARY_PAGE, {"date": yesterday.isoformat()})
    assert response.context["summary"].date_from == yesterday and b"Wuxi" in response.content
    response = client.get(SUMMARY_PAGE, {"date": "not-a-date"})
    assert response.status_code == 200 and response.context["summary"].date_to == timezone.localdate()
    assert response.context["form"].errors


@pytest.mark.parametrize("size", [5, 40])
def test_selector_page_and_api_run_a_constant_number_of_queries(world, client_for, django_assert_num_queries, size):
    add_members(world, size, world.sales_east, prefix="+8613785", consent=False)
    with enterprise_schema(world.acme):
        members = list(Membership.objects.filter(departments=world.sales_east))
        HealthReport.objects.bulk_create(
            [
                HealthReport(
                    membership=m, date=timezone.localdate(), city="Hangzhou", unwell=False, details_encrypted=b"x"
                )
                for m in members
            ]
        )
    scope = scope_of(world, world.sam)
    # 1 SET search_path, 2 the minimum group size, 3 departments in scope, 4 members in scope
    # with their departments, 5 reports per member and city, 6 reports per day
    with enterprise_schema(world.acme), django_assert_num_queries(6):
        summary = health_summary(enterprise=world.acme, scope=scope)
    assert rows_of(summary)["Sales East"].reported.value == size + 1
    client = client_for("acme", world.sam)
    # 1-6 search paths, domain, session, account, membership; 7-9 Sam's scope; the summary's five;
    # the departments of the filter; the app shell's header (UI-1)
    with django_assert_num_queries(17):
        assert client.get(SUMMARY_PAGE).status_code == 200
    with django_assert_num_queries(15):
        assert client.get(SUMMARY_API).json()["total"]["members"]["value"] == size + 2


def test_openapi_documents_the_suppressed_figure(client_for):
    content = client_for("acme").get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "HealthFigure" in content and "/api/v1/health/remind/" in content and "/api/v1/health/settings/" in content
    assert "$ref" in content and "#/components/schemas/HealthFigure" in content
