"""Health reports (ENT-5): the member's upsert, validation, encryption at rest, the aggregate
summary (no names) and the scope of the named list and of reveals (ENT-8, ENT-10)."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from core.encryption import KeyUnavailable, member_key_destroy
from core.models import Membership
from core.scopes import admin_scope_for
from core.services import membership_create
from health.models import HealthReport
from health.selectors import health_report_for_admin, health_reports_for_admin, health_reports_of_member, health_summary
from health.services import health_report_details, health_report_reveal, health_report_submit
from ledger.models import LedgerEntry
from tenants.categories import Category
from tenants.context import enterprise_schema

SECRET_SYMPTOM = "persistent-cough-and-fever-7731"


def submit(world, user, *, enterprise=None, **fields):
    enterprise = enterprise or world.acme
    values = {"city": "Shanghai", "unwell": False, **fields}
    return health_report_submit(enterprise=enterprise, membership=world.membership(enterprise, user), **values)


def scope_of(world, user, enterprise=None):
    enterprise = enterprise or world.acme
    with enterprise_schema(enterprise):
        return admin_scope_for(world.membership(enterprise, user))


def ledger_count(enterprise):
    with enterprise_schema(enterprise):
        return LedgerEntry.objects.count()


def report_count(enterprise):
    with enterprise_schema(enterprise):
        return HealthReport.objects.count()


def add_sales_members(world, n, *, report=True, unwell_every=3, prefix="+8613711"):
    """n new active members in Sales East, each (optionally) with today's report. Reports are
    bulk-created with a placeholder ciphertext: list queries never load it."""
    today = timezone.localdate()
    memberships = []
    for i in range(n):
        account = User.objects.create_user(f"{prefix}{i:06d}", "x-long-pass-1", nickname=f"Extra Sales {i}")
        memberships.append(membership_create(enterprise=world.acme, account=account, role="member"))
    with enterprise_schema(world.acme):
        for membership in memberships:
            membership.departments.add(world.sales_east)
        if report:
            HealthReport.objects.bulk_create(
                [
                    HealthReport(
                        membership=m,
                        date=today,
                        city="Hangzhou",
                        unwell=i % unwell_every == 0,
                        details_encrypted=b"placeholder",
                    )
                    for i, m in enumerate(memberships)
                ]
            )
    connection.set_schema_to_public()
    return memberships


# --- submitting ---------------------------------------------------------------------------------


def test_submit_creates_one_report_per_day_and_a_second_submission_updates_it(world):
    before = ledger_count(world.acme)
    first = submit(world, world.bob, city="Shanghai", unwell=False)
    second = submit(world, world.bob, city="Beijing", unwell=True, symptoms="Fever")
    assert first.pk == second.pk
    with enterprise_schema(world.acme):
        reports = list(HealthReport.objects.filter(membership__account=world.bob))
    assert len(reports) == 1
    assert (reports[0].city, reports[0].unwell, reports[0].date) == ("Beijing", True, timezone.localdate())
    assert health_report_details(enterprise=world.acme, report=reports[0]).symptoms == "Fever"
    assert ledger_count(world.acme) == before  # the member's own action: no ledger entry


def test_a_past_day_within_a_week_is_a_separate_report(world):
    today = timezone.localdate()
    submit(world, world.bob)
    submit(world, world.bob, date=today - datetime.timedelta(days=7))
    with enterprise_schema(world.acme):
        assert HealthReport.objects.filter(membership__account=world.bob).count() == 2


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"city": ""}, "city"),
        ({"city": "   "}, "city"),
        ({"city": "x" * 65}, "city"),
        ({"unwell": True, "symptoms": ""}, "symptoms"),
        ({"unwell": True, "symptoms": "x" * 1001}, "symptoms"),
        ({"close_contacts": "x" * 1001}, "close_contacts"),
        ({"special_circumstances": "x" * 1001}, "special_circumstances"),
        ({"days_from_today": 1}, "date"),  # (the date is computed when the test runs, not when collected)
        ({"days_from_today": -8}, "date"),
    ],
)
def test_invalid_reports_give_field_errors_and_write_nothing(world, fields, error_field):
    if "days_from_today" in fields:
        fields = {"date": timezone.localdate() + datetime.timedelta(days=fields["days_from_today"])}
    before = report_count(world.acme), ledger_count(world.acme)
    with pytest.raises(ValidationError) as caught:
        submit(world, world.bob, **fields)
    assert error_field in caught.value.message_dict
    assert (report_count(world.acme), ledger_count(world.acme)) == before


def test_an_invalid_resubmission_leaves_the_days_report_unchanged(world):
    submit(world, world.bob, city="Shanghai")
    with pytest.raises(ValidationError):
        submit(world, world.bob, city="")
    with enterprise_schema(world.acme):
        assert HealthReport.objects.get(membership__account=world.bob).city == "Shanghai"


def test_a_member_who_left_cannot_submit(world):
    bob = world.membership(world.acme, world.bob)
    bob.status = Membership.Status.LEFT
    with pytest.raises(ValidationError) as caught:
        health_report_submit(enterprise=world.acme, membership=bob, city="Shanghai", unwell=False)
    assert "membership" in caught.value.message_dict


def test_details_are_encrypted_at_rest_city_and_unwell_are_not(world):
    """A raw read of the table: the symptom text appears nowhere; city and unwell are in clear
    (they feed the aggregates)."""
    report = submit(
        world,
        world.bob,
        city="Chengdu",
        unwell=True,
        symptoms=SECRET_SYMPTOM,
        close_contacts="Neighbour Wang",
        special_circumstances="Travelled to Wuhan",
    )
    with enterprise_schema(world.acme), connection.cursor() as cursor:
        cursor.execute(
            "SELECT city, unwell, details_encrypted FROM enterprise_data_healthreport WHERE id = %s", [report.pk]
        )
        city, unwell, blob = cursor.fetchone()
        cursor.execute("SELECT t::text FROM enterprise_data_healthreport t")
        whole_table = " ".join(row[0] for row in cursor.fetchall())
    assert (city, unwell) == ("Chengdu", True)
    for secret in (SECRET_SYMPTOM, "Neighbour Wang", "Travelled to Wuhan"):
        assert secret.encode() not in bytes(blob)
        assert secret not in whole_table
    assert SECRET_SYMPTOM.encode().hex() not in whole_table


def test_crypto_shredding_makes_details_unreadable(world):
    report = submit(world, world.bob, unwell=True, symptoms=SECRET_SYMPTOM)
    member_key_destroy(enterprise=world.acme, membership_id=report.membership_id)
    with pytest.raises(KeyUnavailable):
        health_report_details(enterprise=world.acme, report=report)
    before = ledger_count(world.acme)
    with pytest.raises(KeyUnavailable):
        health_report_reveal(enterprise=world.acme, actor=world.membership(world.acme, world.alice), report=report)
    assert ledger_count(world.acme) == before  # nothing was revealed, nothing recorded


# --- the summary ----------------------------------------------------------------------------


def test_summary_and_list_refuse_admins_without_the_health_category(world):
    amy = scope_of(world, world.amy)  # full admin: no health unless granted (ENT-8)
    with pytest.raises(PermissionDenied):
        health_summary(enterprise=world.acme, scope=amy, day=timezone.localdate())
    with pytest.raises(PermissionDenied):
        health_reports_for_admin(enterprise=world.acme, scope=amy, day=timezone.localdate())


# --- the named list and reveals -------------------------------------------------------------


def test_named_list_is_scoped(world):
    today = timezone.localdate()
    submit(world, world.bob)
    submit(world, world.erin)
    sam = [
        r.membership.display_name
        for r in health_reports_for_admin(enterprise=world.acme, scope=scope_of(world, world.sam), day=today)
    ]
    assert sam == ["Bob Member"]
    alice = [
        r.membership.display_name
        for r in health_reports_for_admin(enterprise=world.acme, scope=scope_of(world, world.alice), day=today)
    ]
    assert alice == ["Bob Member", "Erin Engineer"]


def test_fetch_and_authorize_gives_the_same_404_for_missing_and_out_of_scope(world):
    erin_report = submit(world, world.erin)
    with pytest.raises(Http404):
        health_report_for_admin(enterprise=world.acme, scope=scope_of(world, world.sam), pk=erin_report.pk)
    with pytest.raises(Http404):
        health_report_for_admin(enterprise=world.acme, scope=scope_of(world, world.sam), pk=999999)


def test_reveal_decrypts_and_writes_exactly_one_ledger_entry(world):
    report = submit(world, world.bob, unwell=True, symptoms=SECRET_SYMPTOM, close_contacts="Wang")
    sam = world.membership(world.acme, world.sam)
    before = ledger_count(world.acme)
    details = health_report_reveal(enterprise=world.acme, actor=sam, report=report, purpose="Outbreak check")
    assert (details.symptoms, details.close_contacts) == (SECRET_SYMPTOM, "Wang")
    assert ledger_count(world.acme) == before + 1
    with enterprise_schema(world.acme):
        entry = LedgerEntry.objects.order_by("-id").first()
    assert (entry.action, entry.category, entry.actor_membership_id, entry.subject_membership_id) == (
        "reveal",
        Category.HEALTH,
        sam.pk,
        report.membership_id,
    )
    assert entry.purpose == "Outbreak check"
    assert SECRET_SYMPTOM not in str(entry.details)


def test_members_own_reports_newest_first_at_most_14(world):
    bob = world.membership(world.acme, world.bob)
    today = timezone.localdate()
    with enterprise_schema(world.acme):
        HealthReport.objects.bulk_create(
            [
                HealthReport(
                    membership=bob,
                    date=today - datetime.timedelta(days=i),
                    city=f"City {i}",
                    unwell=False,
                    details_encrypted=b"placeholder",
                )
                for i in range(20)
            ]
        )
    reports = health_reports_of_member(enterprise=world.acme, membership=bob)
    assert [r.date for r in reports] == [today - datetime.timedelta(days=i) for i in range(14)]
