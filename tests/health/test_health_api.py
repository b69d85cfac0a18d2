"""Health reports API (ENT-5): member submit/list, admin summary/list/reveal (ENT-8, ENT-10)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from core.models import Membership
from health.models import HealthReport
from ledger.models import LedgerEntry
from tenants.context import enterprise_schema
from tests.health.test_health import (
    SECRET_SYMPTOM,
    add_sales_members,
    ledger_count,
    report_count,
    submit,
)

REPORTS = "/api/v1/health/reports/"
MINE = "/api/v1/health/reports/mine/"
SUMMARY = "/api/v1/health/summary/"


def reveal_url(pk):
    return f"/api/v1/health/reports/{pk}/reveal/"


# --- the member's own reports -----------------------------------------------------------------


def test_member_submits_todays_report_and_a_second_post_updates_it(world, client_for):
    client = client_for("acme", world.bob)
    before = ledger_count(world.acme)
    response = client.post(
        REPORTS, {"city": "Shanghai", "unwell": True, "symptoms": SECRET_SYMPTOM}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["city"], body["unwell"], body["symptoms"], body["date"]) == (
        "Shanghai",
        True,
        SECRET_SYMPTOM,
        timezone.localdate().isoformat(),
    )
    response = client.post(REPORTS, {"city": "Suzhou", "unwell": False}, content_type="application/json")
    assert response.json()["id"] == body["id"]
    with enterprise_schema(world.acme):
        assert list(HealthReport.objects.filter(membership__account=world.bob).values_list("city", "unwell")) == [
            ("Suzhou", False)
        ]
    assert ledger_count(world.acme) == before  # the member's own action


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"unwell": False}, "city"),
        ({"city": "", "unwell": False}, "city"),
        ({"city": "x" * 65, "unwell": False}, "city"),
        ({"city": "Shanghai"}, "unwell"),
        ({"city": "Shanghai", "unwell": True}, "symptoms"),
        ({"city": "Shanghai", "unwell": True, "symptoms": "x" * 1001}, "symptoms"),
        ({"city": "Shanghai", "unwell": False, "date": "2001-01-01"}, "date"),
        ({"city": "Shanghai", "unwell": False, "date": "tomorrow"}, "date"),
        ({"city": "Shanghai", "unwell": False, "date": "tomorrow (local)"}, "date"),
    ],
)
def test_invalid_submissions_are_400_with_field_errors_and_write_nothing(world, client_for, data, field):
    if data.get("date") == "tomorrow (local)":  # computed when the test runs, not when it is collected
        data = {**data, "date": (timezone.localdate() + datetime.timedelta(days=1)).isoformat()}
    before = report_count(world.acme), ledger_count(world.acme)
    response = client_for("acme", world.bob).post(REPORTS, data, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()
    assert (report_count(world.acme), ledger_count(world.acme)) == before


def test_admins_submit_their_own_report_too(world, client_for):
    """POST is self-service: even Amy (no health category) reports her own health."""
    response = client_for("acme", world.amy).post(
        REPORTS, {"city": "Xiamen", "unwell": False}, content_type="application/json"
    )
    assert response.status_code == 200


def test_outsiders_cannot_submit(world, client_for):
    before = report_count(world.acme)
    for client in (client_for("acme"), client_for("acme", world.greg), client_for("acme", world.oscar)):
        response = client.post(REPORTS, {"city": "Xiamen", "unwell": False}, content_type="application/json")
        assert response.status_code in (401, 403)
    assert report_count(world.acme) == before


def test_mine_lists_only_the_members_own_reports(world, client_for):
    submit(world, world.bob, city="Shanghai")
    submit(world, world.erin, city="Shenzhen")
    response = client_for("acme", world.bob).get(MINE)
    assert response.status_code == 200
    assert [(r["city"], r["unwell"]) for r in response.json()] == [("Shanghai", False)]
    assert "symptoms" not in response.json()[0]


@pytest.mark.parametrize("rows", [5, 50])
def test_mine_runs_a_constant_number_of_queries(world, client_for, django_assert_num_queries, rows):
    today = timezone.localdate()
    with enterprise_schema(world.acme):
        bob = Membership.objects.get(account=world.bob)
        HealthReport.objects.bulk_create(
            [
                HealthReport(
                    membership=bob,
                    date=today - datetime.timedelta(days=i),
                    city=f"City {i}",
                    unwell=False,
                    details_encrypted=b"placeholder",
                )
                for i in range(rows)
            ]
        )
    connection.set_schema_to_public()
    client = client_for("acme", world.bob)
    # 1 SET search_path public, 2 domain, 3 SET search_path acme, 4 session, 5 account,
    # 6 membership, 7 the last 14 reports
    with django_assert_num_queries(7):
        response = client.get(MINE)
    assert len(response.json()) == min(rows, 14)


# --- admin: the named list --------------------------------------------------------------------


def test_admin_list_is_scoped_and_omits_details(world, client_for):
    submit(world, world.bob, city="Shanghai", unwell=True, symptoms=SECRET_SYMPTOM)
    submit(world, world.erin, city="Shenzhen")
    response = client_for("acme", world.sam).get(REPORTS)
    assert response.status_code == 200
    body = response.json()
    assert [(r["name"], r["city"], r["unwell"]) for r in body] == [("Bob Member", "Shanghai", True)]
    assert set(body[0]) == {"id", "date", "member", "name", "city", "unwell"}
    assert SECRET_SYMPTOM not in response.content.decode()
    names = [r["name"] for r in client_for("acme", world.alice).get(REPORTS).json()]
    assert names == ["Bob Member", "Erin Engineer"]


@pytest.mark.parametrize("path", [REPORTS, SUMMARY])
@pytest.mark.parametrize("persona", ["amy", "bob", "greg", "oscar"])
def test_admin_endpoints_refuse_others(world, client_for, path, persona):
    assert client_for("acme", getattr(world, persona)).get(path).status_code == 403


@pytest.mark.parametrize("path", [REPORTS, SUMMARY, MINE])
def test_anonymous_is_refused(world, client_for, path):
    assert client_for("acme").get(path).status_code in (401, 403)


def test_admin_list_for_a_given_day_and_a_bad_date(world, client_for):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    submit(world, world.bob, date=yesterday, city="Wuxi")
    client = client_for("acme", world.sam)
    assert [r["city"] for r in client.get(REPORTS, {"date": yesterday.isoformat()}).json()] == ["Wuxi"]
    assert client.get(REPORTS).json() == []
    response = client.get(REPORTS, {"date": "yesterday"})
    assert response.status_code == 400 and "date" in response.json()


@pytest.mark.parametrize("rows", [5, 50])
def test_admin_list_runs_a_constant_number_of_queries(world, client_for, django_assert_num_queries, rows):
    add_sales_members(world, rows)
    client = client_for("acme", world.sam)
    # 1 SET search_path public, 2 domain, 3 SET search_path acme, 4 session, 5 account,
    # 6 membership, 7-9 Sam's scope (content type, guardian grants, departments),
    # 10 the day's reports in scope joined with members
    with django_assert_num_queries(11):
        response = client.get(REPORTS)
    assert len(response.json()) == rows


# --- admin: the summary -----------------------------------------------------------------------


# --- admin: reveal ----------------------------------------------------------------------------


def test_reveal_returns_details_and_records_one_ledger_entry(world, client_for):
    report = submit(world, world.bob, unwell=True, symptoms=SECRET_SYMPTOM, close_contacts="Wang")
    client = client_for("acme", world.sam)
    before = ledger_count(world.acme)
    response = client.post(reveal_url(report.pk), {"purpose": "Tracing"}, content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["symptoms"], body["close_contacts"]) == ("Bob Member", SECRET_SYMPTOM, "Wang")
    assert "no-store" in response["Cache-Control"]
    assert ledger_count(world.acme) == before + 1
    with enterprise_schema(world.acme):
        entry = LedgerEntry.objects.order_by("-id").first()
    assert (entry.action, entry.category, entry.purpose, entry.subject_membership_id) == (
        "reveal",
        "health",
        "Tracing",
        report.membership_id,
    )


def test_reveal_with_invalid_input_is_400_and_records_nothing(world, client_for):
    report = submit(world, world.bob, unwell=True, symptoms=SECRET_SYMPTOM)
    before = ledger_count(world.acme)
    response = client_for("acme", world.sam).post(
        reveal_url(report.pk), {"purpose": "x" * 201}, content_type="application/json"
    )
    assert response.status_code == 400 and "purpose" in response.json()
    assert SECRET_SYMPTOM not in response.content.decode()
    assert ledger_count(world.acme) == before


@pytest.mark.parametrize(
    ("persona", "owner", "status"),
    [
        ("sam", "erin", 404),  # outside Sam's scope: the same 404 as a missing report
        ("amy", "bob", 403),  # full admin without health
        ("bob", "bob", 403),  # a member, even for his own report
        ("greg", "bob", 403),  # globex's admin on acme
    ],
)
def test_reveal_is_refused_outside_scope(world, client_for, persona, owner, status):
    report = submit(world, getattr(world, owner), unwell=True, symptoms=SECRET_SYMPTOM)
    before = ledger_count(world.acme)
    response = client_for("acme", getattr(world, persona)).post(reveal_url(report.pk))
    assert response.status_code == status
    assert SECRET_SYMPTOM not in response.content.decode()
    assert ledger_count(world.acme) == before


def test_reveal_of_a_missing_report_is_404(world, client_for):
    assert client_for("acme", world.alice).post(reveal_url(999999)).status_code == 404


def test_reveal_after_crypto_shredding_is_410_and_records_nothing(world, client_for):
    from core.encryption import member_key_destroy

    report = submit(world, world.bob, unwell=True, symptoms=SECRET_SYMPTOM)
    member_key_destroy(enterprise=world.acme, membership_id=report.membership_id)
    before = ledger_count(world.acme)
    assert client_for("acme", world.alice).post(reveal_url(report.pk)).status_code == 410
    assert ledger_count(world.acme) == before


def test_openapi_schema_lists_the_health_endpoints(client_for):
    response = client_for("acme").get("/api/schema/")
    assert response.status_code == 200
    for path in (REPORTS, MINE, SUMMARY, "/api/v1/health/reports/{id}/reveal/"):
        assert path.encode() in response.content
