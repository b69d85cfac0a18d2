"""Health reports in the console (category health, ENT-5, ENT-8) and on /me/health/."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.utils import timezone

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

CONSOLE_PAGES = ["/console/health/", "/console/health/reports/"]


# --- who may open the console pages ---------------------------------------------------------


@pytest.mark.parametrize("path", CONSOLE_PAGES)
@pytest.mark.parametrize("persona", ["alice", "sam"])
def test_health_admins_open_the_console_pages(world, client_for, path, persona):
    assert client_for("acme", getattr(world, persona)).get(path).status_code == 200


@pytest.mark.parametrize("path", CONSOLE_PAGES)
@pytest.mark.parametrize("persona", ["amy", "bob", "greg"])
def test_others_get_403(world, client_for, path, persona):
    """Amy is a full admin without the health category (least privilege, ENT-8); Bob is a member;
    Greg is globex's admin signed in on acme."""
    response = client_for("acme", getattr(world, persona)).get(path)
    assert response.status_code == 403


@pytest.mark.parametrize("path", CONSOLE_PAGES + ["/me/health/"])
def test_anonymous_is_sent_to_login(world, client_for, path):
    response = client_for("acme").get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_nav_link_shows_only_with_the_health_category(world, client_for):
    assert b'href="/console/health/"' in client_for("acme", world.sam).get("/console/").content
    assert b'href="/console/health/"' not in client_for("acme", world.amy).get("/console/").content


# --- the summary page -------------------------------------------------------------------------


# --- the named list ---------------------------------------------------------------------------


def test_named_list_shows_reports_in_scope_without_details(world, client_for):
    submit(world, world.bob, city="Shanghai", unwell=True, symptoms=SECRET_SYMPTOM, close_contacts="Neighbour Wang")
    submit(world, world.erin, city="Shenzhen")
    response = client_for("acme", world.sam).get("/console/health/reports/")
    content = response.content.decode()
    assert "Bob Member" in content and "Shanghai" in content
    assert "Erin Engineer" not in content and "Shenzhen" not in content
    assert SECRET_SYMPTOM not in content and "Neighbour Wang" not in content
    alice = client_for("acme", world.alice).get("/console/health/reports/").content.decode()
    assert "Bob Member" in alice and "Erin Engineer" in alice


def test_named_list_runs_a_constant_number_of_queries(world, client_for, django_assert_num_queries):
    client = client_for("acme", world.sam)
    add_sales_members(world, 5)
    # 1 SET search_path public, 2 domain -> enterprise, 3 SET search_path acme, 4 session,
    # 5 account, 6 acting membership, 7-9 Sam's scope (content type of Department: django-tenants
    # clears that cache on every schema switch; guardian grants; their departments),
    # 10 the day's reports in scope joined with members
    with django_assert_num_queries(12):  # +1: the app shell's header (UI-1)
        response = client.get("/console/health/reports/")
    assert len(response.context["reports"]) == 5
    add_sales_members(world, 45, prefix="+8613722")
    with django_assert_num_queries(12):  # +1: the app shell's header (UI-1)
        response = client.get("/console/health/reports/")
    assert len(response.context["reports"]) == 50


# --- show details (reveal) --------------------------------------------------------------------


def test_show_details_is_a_post_that_decrypts_and_records_the_reveal(world, client_for):
    report = submit(world, world.bob, unwell=True, symptoms=SECRET_SYMPTOM)
    client = client_for("acme", world.sam)
    url = f"/console/health/reports/{report.pk}/reveal/"
    before = ledger_count(world.acme)
    assert client.get(url).status_code == 405
    assert ledger_count(world.acme) == before
    response = client.post(url, {"purpose": "Outbreak tracing"})
    assert response.status_code == 200
    assert SECRET_SYMPTOM in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert ledger_count(world.acme) == before + 1
    with enterprise_schema(world.acme):
        entry = LedgerEntry.objects.order_by("-id").first()
    assert (entry.action, entry.category, entry.purpose) == ("reveal", "health", "Outbreak tracing")
    assert entry.subject_membership_id == report.membership_id


@pytest.mark.parametrize(("persona", "status"), [("amy", 403), ("bob", 403), ("greg", 403)])
def test_show_details_is_refused_without_the_health_category(world, client_for, persona, status):
    report = submit(world, world.bob, unwell=True, symptoms=SECRET_SYMPTOM)
    before = ledger_count(world.acme)
    response = client_for("acme", getattr(world, persona)).post(f"/console/health/reports/{report.pk}/reveal/")
    assert response.status_code == status
    assert SECRET_SYMPTOM not in response.content.decode()
    assert ledger_count(world.acme) == before


def test_show_details_out_of_scope_or_missing_is_404(world, client_for):
    erin_report = submit(world, world.erin, unwell=True, symptoms=SECRET_SYMPTOM)
    client = client_for("acme", world.sam)
    before = ledger_count(world.acme)
    assert client.post(f"/console/health/reports/{erin_report.pk}/reveal/").status_code == 404
    assert client.post("/console/health/reports/999999/reveal/").status_code == 404
    assert ledger_count(world.acme) == before


def test_a_globex_report_id_is_not_found_on_acme(world, client_for):
    """Ids collide across enterprises: a globex report id resolves only to acme's own rows."""
    gus_report = submit(world, world.gus, enterprise=world.globex, unwell=True, symptoms=SECRET_SYMPTOM)
    response = client_for("acme", world.alice).post(f"/console/health/reports/{gus_report.pk}/reveal/")
    assert response.status_code == 404
    assert SECRET_SYMPTOM not in response.content.decode()


# --- the member's own page --------------------------------------------------------------------


def test_me_section_shows_todays_status(world, client_for):
    client = client_for("acme", world.bob)
    response = client.get("/me/", HTTP_ACCEPT_LANGUAGE="en")
    assert b"You have not reported today." in response.content
    assert b'href="/me/health/"' in response.content
    submit(world, world.bob, city="Nanjing")
    assert b"Reported today from Nanjing." in client.get("/me/", HTTP_ACCEPT_LANGUAGE="en").content


def test_me_health_form_submits_and_is_prefilled(world, client_for):
    client = client_for("acme", world.bob)
    assert client.get("/me/health/").status_code == 200
    response = client.post("/me/health/", {"city": "Hangzhou", "unwell": "on", "symptoms": SECRET_SYMPTOM})
    assert response.status_code == 302 and response["Location"] == "/me/health/"
    response = client.get("/me/health/")
    form = response.context["form"]
    assert (form.initial["city"], form.initial["unwell"], form.initial["symptoms"]) == (
        "Hangzhou",
        True,
        SECRET_SYMPTOM,
    )
    assert [r.city for r in response.context["recent"]] == ["Hangzhou"]
    client.post("/me/health/", {"city": "Ningbo"})  # the same day again: an update
    with enterprise_schema(world.acme):
        assert list(HealthReport.objects.filter(membership__account=world.bob).values_list("city", flat=True)) == [
            "Ningbo"
        ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"city": ""}, "city"),
        ({"city": "Hangzhou", "unwell": "on"}, "symptoms"),
        ({"city": "Hangzhou", "date": "2000-01-01"}, "date"),
        ({"city": "Hangzhou", "symptoms": "x" * 1001}, "symptoms"),
    ],
)
def test_me_health_form_errors_write_nothing(world, client_for, data, field):
    before = report_count(world.acme), ledger_count(world.acme)
    response = client_for("acme", world.bob).post("/me/health/", data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert (report_count(world.acme), ledger_count(world.acme)) == before


def test_me_health_shows_only_the_members_own_last_14(world, client_for, django_assert_num_queries):
    submit(world, world.erin, city="Shenzhen")
    client = client_for("acme", world.bob)
    with enterprise_schema(world.acme):
        from core.models import Membership

        bob = Membership.objects.get(account=world.bob)
        today = timezone.localdate()
        HealthReport.objects.bulk_create(
            [
                HealthReport(
                    membership=bob,
                    date=today - datetime.timedelta(days=i),
                    city=f"City {i}",
                    unwell=False,
                    details_encrypted=b"placeholder",
                )
                for i in range(1, 6)
            ]
        )
    connection.set_schema_to_public()
    # 1 SET search_path public, 2 domain, 3 SET search_path acme, 4 session, 5 account,
    # 6 membership, 7 today's report (none), 8 the last 14 reports
    with django_assert_num_queries(9):  # +1: the app shell's header (UI-1)
        response = client.get("/me/health/")
    assert [r.city for r in response.context["recent"]] == [f"City {i}" for i in range(1, 6)]
    assert b"Shenzhen" not in response.content
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
                for i in range(6, 51)
            ]
        )
    connection.set_schema_to_public()
    with django_assert_num_queries(9):  # +1: the app shell's header (UI-1)
        response = client.get("/me/health/")
    assert len(response.context["recent"]) == 14


def test_show_details_after_crypto_shredding_says_so_and_records_nothing(world, client_for):
    from core.encryption import member_key_destroy

    report = submit(world, world.bob, unwell=True, symptoms=SECRET_SYMPTOM)
    member_key_destroy(enterprise=world.acme, membership_id=report.membership_id)
    before = ledger_count(world.acme)
    response = client_for("acme", world.alice).post(f"/console/health/reports/{report.pk}/reveal/")
    assert response.status_code == 410
    assert response.context["details"] is None
    assert ledger_count(world.acme) == before
