"""Withdrawing a consent stops processing at once (CON-6), admins' reveals included: between the
withdrawal and the erasure task (which may not have run yet, or whose worker may be down), an
administrator can no longer read the member's health details, raw coordinates or ID number.
No Celery worker runs in these tests: the data is still there, only the basis is gone."""

from __future__ import annotations

import pytest
from django.db import connection

from attendance.models import ClockEvent
from attendance.services import attendance_clock
from consent.consents.services import legal_basis_record
from consent.models import ConsentPurpose, SensitiveCategory
from core.scopes import dangerously_whole_enterprise
from directory.services import member_card_update
from health.models import HealthReport
from health.services import health_report_submit
from ledger.models import LedgerEntry
from tenants.context import enterprise_schema
from tests.consent.test_consents import withdraw

VALID_ID = "11010519491231002X"


@pytest.fixture
def bob_data(world):
    acme, bob = world.acme, world.membership(world.acme, world.bob)
    health_report_submit(enterprise=acme, membership=bob, city="Beijing", unwell=True, symptoms="BOB-SYMPTOMS")
    attendance_clock(
        enterprise=acme,
        membership=bob,
        kind="in",
        source="app",
        latitude="31.2305",
        longitude="121.4737",
        accuracy_m=10,
    )
    member_card_update(
        enterprise=acme, actor=None, scope=dangerously_whole_enterprise(), membership=bob, data={"id_number": VALID_ID}
    )
    with enterprise_schema(acme):
        report = HealthReport.objects.filter(membership=bob).latest("id")
        event = ClockEvent.objects.filter(membership=bob).latest("id")
    connection.set_schema_to_public()
    return {"bob": bob, "report": report, "event": event}


def _ledger_count(world) -> int:
    with enterprise_schema(world.acme):
        return LedgerEntry.objects.count()


def test_health_details_cannot_be_revealed_once_the_consent_is_withdrawn(world, client_for, bob_data):
    alice = client_for("acme", world.alice)
    url = f"/api/v1/health/reports/{bob_data['report'].pk}/reveal/"
    withdraw(world, world.acme, world.bob, SensitiveCategory.HEALTH, ConsentPurpose.HEALTH_MONITORING)
    before = _ledger_count(world)
    api = alice.post(url, {}, content_type="application/json")
    assert api.status_code == 403 and api.json()["code"] == "consent_required"
    page = alice.post(f"/console/health/reports/{bob_data['report'].pk}/reveal/")
    assert page.status_code == 403 and b"BOB-SYMPTOMS" not in page.content
    assert b"separate consent" in page.content
    assert _ledger_count(world) == before  # nothing read, nothing recorded
    # a legal basis the enterprise records is a basis again
    legal_basis_record(
        enterprise=world.acme,
        actor=world.membership(world.acme, world.alice),
        member_id=bob_data["bob"].pk,
        category="health",
        purpose="health_monitoring",
        basis="emergency",
        reason="Municipal epidemic-prevention order",
    )
    connection.set_schema_to_public()
    assert alice.post(url, {}, content_type="application/json").json()["symptoms"] == "BOB-SYMPTOMS"


def test_raw_coordinates_cannot_be_revealed_once_the_location_consent_is_withdrawn(world, client_for, bob_data):
    alice = client_for("acme", world.alice)
    url = f"/console/attendance/events/{bob_data['event'].pk}/reveal/"
    withdraw(world, world.acme, world.bob, SensitiveCategory.PRECISE_LOCATION, ConsentPurpose.ATTENDANCE)
    before = _ledger_count(world)
    response = alice.post(url)
    assert response.status_code == 400 and b"31.2305" not in response.content
    assert b"separate consent" in response.content
    in_place = alice.post(url, HTTP_HX_REQUEST="true")
    assert in_place.status_code == 200 and b"31.2305" not in in_place.content
    assert _ledger_count(world) == before


def test_the_id_number_cannot_be_revealed_once_the_consent_is_withdrawn(world, client_for, bob_data):
    alice = client_for("acme", world.alice)
    url = f"/api/v1/members/{bob_data['bob'].pk}/reveal/"
    withdraw(world, world.acme, world.bob, SensitiveCategory.ID_DOCUMENTS, ConsentPurpose.HR_RECORDS)
    before = _ledger_count(world)
    api = alice.post(url, {"field": "id_number"}, content_type="application/json")
    assert api.status_code == 403 and api.json()["code"] == "consent_required"
    page = alice.post(f"/console/members/{bob_data['bob'].pk}/reveal/id_number/")
    assert page.status_code == 403 and VALID_ID.encode() not in page.content
    in_place = alice.post(f"/console/members/{bob_data['bob'].pk}/reveal/id_number/", HTTP_HX_REQUEST="true")
    assert in_place.status_code == 200 and VALID_ID.encode() not in in_place.content
    assert _ledger_count(world) == before
    # other fields need no separate consent
    assert alice.post(url, {"field": "mobile"}, content_type="application/json").status_code == 200
