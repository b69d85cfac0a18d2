"""Separate consent (CON-4) and withdrawal (CON-6) through the collecting features.

For every sensitive category: without a basis collection is refused (API 403 with code
"consent_required", console 400 with the message) and nothing is written; with a consent it works;
after withdrawal it is refused again at once, and the scheduled deletion removes exactly that
member's data of that category in that enterprise."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Q

from attendance.models import ClockEvent, ClockEventLocation, ClockEventPhoto
from attendance.services import attendance_clock
from biometrics.models import BiometricTemplate
from biometrics.services import template_enroll
from consent.consents.selectors import withdrawal_preview
from consent.consents.services import CONSENT_REQUIRED, consent_give, consent_withdraw, legal_basis_record
from consent.models import ConsentRecord, EnterpriseNotice
from consent.notices.services import DEFAULT_ITEMS, notice_draft_save, notice_publish
from consent.permissions.services import device_permission_set
from core.scopes import dangerously_whole_enterprise
from directory.services import member_card_update
from health.models import HealthReport
from health.services import health_report_submit
from ledger.models import LedgerEntry
from retention.tasks import consent_withdrawal_erase
from tenants.context import enterprise_schema

VALID_ID = "11010519491231002X"
TEMPLATE = b"\x10\x20\x30 secret template"
PHOTO = b"\x89PNG\r\n\x1a\n" + b"a face" * 20


def record_of(world, enterprise, user, category: str, purpose: str) -> ConsentRecord:
    member = world.membership(enterprise, user)
    with enterprise_schema(enterprise):
        return ConsentRecord.objects.get(
            membership=member,
            category=category,
            purpose=purpose,
            basis=ConsentRecord.Basis.CONSENT,
            withdrawn_at__isnull=True,
        )


def withdraw(world, enterprise, user, category: str, purpose: str) -> ConsentRecord:
    record = record_of(world, enterprise, user, category, purpose)
    return consent_withdraw(enterprise=enterprise, membership=world.membership(enterprise, user), record_id=record.pk)


def give(world, enterprise, user, category: str, purpose: str) -> ConsentRecord:
    return consent_give(
        enterprise=enterprise,
        membership=world.membership(enterprise, user),
        category=category,
        purpose=purpose,
        notice_version=enterprise.notice_version,
    )


def run_erasure(enterprise, record: ConsentRecord) -> dict:
    """The task as the worker runs it: in the enterprise's schema (the `_schema_name` header)."""
    return consent_withdrawal_erase.apply(
        kwargs={"record_id": record.pk}, headers={"_schema_name": enterprise.schema_name}
    ).get()


# --- collecting each category through the API and the console ----------------------------------------


@dataclass(frozen=True)
class Collector:
    category: str
    purpose: str
    api: Callable  # (client_for, world) -> response
    console: Callable | None  # (client_for, world) -> response
    held: Callable  # (world) -> int: how much of bob's data of this category exists


def _bob(world):
    return world.membership(world.acme, world.bob)


def _count(enterprise, queryset_factory) -> int:
    with enterprise_schema(enterprise):
        return queryset_factory().count()


CLOCK = {"kind": "in", "source": "app", "latitude": 31.2305, "longitude": 121.4738, "accuracy_m": 15}

COLLECTORS = [
    Collector(
        "precise_location",
        "attendance",
        api=lambda client_for, world: client_for("acme", world.bob).post(
            "/api/v1/attendance/clock/", CLOCK, content_type="application/json"
        ),
        console=lambda client_for, world: client_for("acme", world.bob).post(
            "/me/attendance/clock/", {"kind": "in", "latitude": "31.2305", "longitude": "121.4738"}
        ),
        held=lambda world: _count(world.acme, lambda: ClockEventLocation.objects.filter(event__membership=_bob(world))),
    ),
    Collector(
        "health",
        "health_monitoring",
        api=lambda client_for, world: client_for("acme", world.bob).post(
            "/api/v1/health/reports/", {"city": "Shanghai", "unwell": False}, content_type="application/json"
        ),
        console=lambda client_for, world: client_for("acme", world.bob).post(
            "/me/health/", {"city": "Shanghai", "unwell": ""}
        ),
        held=lambda world: _count(world.acme, lambda: HealthReport.objects.filter(membership=_bob(world))),
    ),
    Collector(
        "biometrics",
        "attendance",
        api=lambda client_for, world: client_for("acme", world.alice).post(
            f"/api/v1/members/{_bob(world).pk}/biometrics/",
            {"modality": "face", "purpose": "attendance", "template": base64.b64encode(TEMPLATE).decode()},
            content_type="application/json",
        ),
        console=lambda client_for, world: client_for("acme", world.alice).post(
            f"/console/biometrics/members/{_bob(world).pk}/",
            {"modality": "face", "purpose": "attendance", "template": SimpleUploadedFile("t.bin", TEMPLATE)},
        ),
        held=lambda world: _count(
            world.acme, lambda: BiometricTemplate.objects.filter(membership=_bob(world), purpose="attendance")
        ),
    ),
    Collector(
        "id_documents",
        "hr_records",
        api=lambda client_for, world: client_for("acme", world.alice).patch(
            f"/api/v1/members/{_bob(world).pk}/", {"id_number": VALID_ID}, content_type="application/json"
        ),
        console=lambda client_for, world: client_for("acme", world.alice).post(
            f"/console/members/{_bob(world).pk}/edit/",
            {"display_name": "Bob Member", "id_number": VALID_ID, "departments": [world.sales_east.pk]},
        ),
        held=lambda world: _count(
            world.acme, lambda: type(_bob(world)).objects.filter(pk=_bob(world).pk, id_number_encrypted__isnull=False)
        ),
    ),
    Collector(
        "contacts",
        "contact_matching",
        api=lambda client_for, world: client_for("acme", world.bob).post(
            "/api/v1/contacts/match/", {"hashes": ["0" * 64]}, content_type="application/json"
        ),
        console=None,  # matching exists only in the app (API); nothing is kept
        held=lambda world: 0,
    ),
]


@pytest.fixture
def contacts_permission(world):
    from consent.models.platform import DevicePermission
    from consent.permissions.services import device_permission_set

    device_permission_set(account=world.bob, kind=DevicePermission.Kind.CONTACTS, granted=True, channel="web")


def _console_refused(response) -> bool:
    errors = response.context["form"].non_field_errors() if "form" in response.context else []
    if not errors:  # the clock form on the attendance page
        errors = response.context["clock_form"].non_field_errors()
    return response.status_code == 400 and any("separate consent" in str(e) for e in errors)


@pytest.mark.parametrize("collector", COLLECTORS, ids=lambda c: c.category)
def test_collection_is_refused_without_consent_works_with_it_and_stops_at_withdrawal(
    world, client_for, contacts_permission, collector
):
    withdraw(world, world.acme, world.bob, collector.category, collector.purpose)
    held = collector.held(world)
    refused = collector.api(client_for, world)
    assert refused.status_code == 403, refused.content
    body = refused.json()
    assert (body["code"], body["category"], body["purpose"]) == (
        CONSENT_REQUIRED,
        collector.category,
        collector.purpose,
    )
    if collector.console is not None:
        assert _console_refused(collector.console(client_for, world))
    assert collector.held(world) == held  # nothing written

    give(world, world.acme, world.bob, collector.category, collector.purpose)
    assert collector.api(client_for, world).status_code in (200, 201)
    if collector.console is not None:
        assert collector.console(client_for, world).status_code == 302
    if collector.category not in ("contacts", "id_documents"):
        assert collector.held(world) > held

    withdraw(world, world.acme, world.bob, collector.category, collector.purpose)  # effective at once
    assert collector.api(client_for, world).status_code == 403


def test_wifi_clock_in_needs_no_location_consent(world, client_for):
    withdraw(world, world.acme, world.bob, "precise_location", "attendance")
    response = client_for("acme", world.bob).post(
        "/api/v1/attendance/clock/",
        {"kind": "in", "source": "wifi", "wifi_bssid": "00:11:22:aa:bb:cc"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


def test_biometric_consent_is_per_purpose(world):
    bob = _bob(world)
    withdraw(world, world.acme, world.bob, "biometrics", "door_access")
    with pytest.raises(ValidationError) as caught:
        template_enroll(
            enterprise=world.acme, actor=None, membership=bob, modality="face", purpose="door_access", template=TEMPLATE
        )
    assert caught.value.error_dict["consent"][0].code == CONSENT_REQUIRED
    template_enroll(
        enterprise=world.acme, actor=None, membership=bob, modality="face", purpose="attendance", template=TEMPLATE
    )


def test_a_recorded_legal_basis_allows_collection_and_survives_withdrawal(world):
    bob = _bob(world)
    legal_basis_record(
        enterprise=world.acme,
        actor=world.membership(world.acme, world.alice),
        member_id=bob.pk,
        category="health",
        purpose="health_monitoring",
        basis="emergency",
        reason="Municipal epidemic-prevention order",
    )
    record = withdraw(world, world.acme, world.bob, "health", "health_monitoring")
    assert record.erasure == ConsentRecord.Erasure.NOT_NEEDED  # the enterprise relies on the other basis
    health_report_submit(enterprise=world.acme, membership=bob, city="Shanghai", unwell=False)


# --- the scheduled deletion: exactly that member, category and enterprise ----------------------------


def _seed(world) -> None:
    """Data of every category for bob and erin (acme) and for dana in globex."""
    for enterprise, user in ((world.acme, world.bob), (world.acme, world.erin), (world.globex, world.dana)):
        member = world.membership(enterprise, user)
        attendance_clock(
            enterprise=enterprise,
            membership=member,
            kind="in",
            source="app",
            latitude=31.2305,
            longitude=121.4738,
            accuracy_m=10,
        )
        health_report_submit(enterprise=enterprise, membership=member, city="Shanghai", unwell=True, symptoms="cough")
        for purpose in ("attendance", "door_access"):
            template_enroll(
                enterprise=enterprise,
                actor=None,
                membership=member,
                modality="face",
                purpose=purpose,
                template=TEMPLATE,
            )
        member_card_update(
            scope=dangerously_whole_enterprise(),
            enterprise=enterprise,
            actor=None,
            membership=member,
            data={"id_number": VALID_ID},
        )
        device_permission_set(account=user, kind="camera", granted=True, channel="web")
        attendance_clock(
            enterprise=enterprise,
            membership=member,
            kind="out",
            source="app",
            latitude=31.2305,
            longitude=121.4738,
            photo=PHOTO,
        )


def _snapshot(world) -> dict:
    rows = {}
    for enterprise in (world.acme, world.globex):
        with enterprise_schema(enterprise):
            members = type(world.membership(enterprise, world.dana)).objects.filter(account__isnull=False)
            for member in members:
                key = (enterprise.schema_name, member.account_id)
                rows[key] = {
                    "health_reports": HealthReport.objects.filter(membership=member).count(),
                    "raw_locations": ClockEventLocation.objects.filter(event__membership=member).count(),
                    "location_cells": ClockEvent.objects.filter(membership=member).exclude(location_cell="").count(),
                    "events": ClockEvent.objects.filter(membership=member).count(),
                    "templates_attendance": BiometricTemplate.objects.filter(
                        membership=member, purpose="attendance"
                    ).count(),
                    "templates_door_access": BiometricTemplate.objects.filter(
                        membership=member, purpose="door_access"
                    ).count(),
                    "id_numbers": int(member.id_number_encrypted is not None),
                    "clock_photos": ClockEventPhoto.objects.filter(event__membership=member).count(),
                }
    return rows


# what each withdrawal removes: {count in the task's result: the snapshot's column}
REMOVED = {
    ("health", "health_monitoring"): {"health_reports": "health_reports"},
    ("precise_location", "attendance"): {"raw_locations": "raw_locations", "location_cells": "location_cells"},
    ("biometrics", "attendance"): {"templates": "templates_attendance", "clock_photos": "clock_photos"},
    ("biometrics", "door_access"): {"templates": "templates_door_access"},
    ("id_documents", "hr_records"): {"id_numbers": "id_numbers"},
    ("contacts", "contact_matching"): {},
}
EXPECTED_GONE = {pair: set(columns.values()) for pair, columns in REMOVED.items()}


@pytest.mark.parametrize(("category", "purpose"), list(EXPECTED_GONE), ids=lambda v: str(v))
def test_withdrawal_deletes_exactly_that_members_data_of_that_category(
    world, django_capture_on_commit_callbacks, category, purpose
):
    _seed(world)
    before = _snapshot(world)
    record = record_of(world, world.acme, world.bob, category, purpose)
    preview = withdrawal_preview(enterprise=world.acme, record=record)
    with django_capture_on_commit_callbacks() as scheduled:
        record = withdraw(world, world.acme, world.bob, category, purpose)
    assert len(scheduled) == 1 and record.erasure == ConsentRecord.Erasure.SCHEDULED
    assert _snapshot(world) == before  # deletion is the task's job; collection stopped already

    result = run_erasure(world.acme, record)
    after = _snapshot(world)
    bob = ("acme", world.bob.pk)
    gone = EXPECTED_GONE[(category, purpose)]
    for key, counts in before.items():
        for kind, value in counts.items():
            expected = 0 if key == bob and kind in gone else value
            assert after[key][kind] == expected, (key, kind)
    assert after[bob]["events"] == before[bob]["events"]  # attendance records stay (another category)
    assert (
        result["counts"]
        == preview
        == {kind: before[bob][column] for kind, column in REMOVED[(category, purpose)].items()}
    )
    assert all(before[bob][column] for column in gone)  # there was something to delete
    with enterprise_schema(world.acme):
        record.refresh_from_db()
        assert record.erasure == ConsentRecord.Erasure.DONE and record.erased_counts == result["counts"]
        if gone:  # the deletion is in the ledger, with the system as actor
            entry = LedgerEntry.objects.filter(action="delete", subject_membership_id=record.membership_id).latest("id")
            assert entry.actor_kind == "system" and entry.details["consent_purpose"] == purpose
    assert run_erasure(world.acme, record)["counts"] is None  # idempotent: a second run does nothing


def test_earlier_processing_stays_recorded(world):
    record = withdraw(world, world.acme, world.bob, "health", "health_monitoring")
    with enterprise_schema(world.acme):
        kept = ConsentRecord.objects.get(pk=record.pk)
    assert kept.withdrawn_at is not None and kept.given_at < kept.withdrawn_at and kept.notice_id is not None


# --- bad input: field errors, nothing changed -------------------------------------------------------


def _records(enterprise) -> list[tuple]:
    with enterprise_schema(enterprise):
        return list(ConsentRecord.objects.order_by("pk").values_list("pk", "withdrawn_at", "erasure"))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"category": "shoe_size", "purpose": "attendance"}, "category"),
        ({"category": "health", "purpose": "door_access"}, "purpose"),
        ({"category": "health", "purpose": "health_monitoring", "notice_version": 0}, "notice_version"),
        ({"category": "health", "purpose": "health_monitoring", "notice_version": "v1"}, "notice_version"),
    ],
)
def test_giving_consent_rejects_bad_input(world, kwargs, field):
    withdraw_first = record_of(world, world.acme, world.bob, "health", "health_monitoring")
    consent_withdraw(enterprise=world.acme, membership=_bob(world), record_id=withdraw_first.pk)
    before = _records(world.acme)
    with pytest.raises(ValidationError) as caught:
        consent_give(
            enterprise=world.acme, membership=_bob(world), **{"notice_version": world.acme.notice_version, **kwargs}
        )
    assert field in caught.value.error_dict
    assert _records(world.acme) == before


def test_consent_under_an_expired_notice_version_is_refused(world):
    old_version = world.acme.notice_version
    notice = notice_draft_save(
        enterprise=world.acme,
        actor=None,
        summary_zh="第二版",
        summary_en="Second",
        contact="privacy@example.com",
        items=list(DEFAULT_ITEMS[:3]),
    )
    notice_publish(enterprise=world.acme, actor=None, notice=notice)
    withdraw(world, world.acme, world.bob, "health", "health_monitoring")
    before = _records(world.acme)
    with pytest.raises(ValidationError) as caught:
        consent_give(
            enterprise=world.acme,
            membership=_bob(world),
            category="health",
            purpose="health_monitoring",
            notice_version=old_version,
        )
    assert caught.value.error_dict["notice_version"][0].code == "stale_notice"
    # the new notice no longer lists health (only its first three categories): nothing to consent to
    with pytest.raises(ValidationError) as caught:
        consent_give(
            enterprise=world.acme,
            membership=_bob(world),
            category="health",
            purpose="health_monitoring",
            notice_version=old_version + 1,
        )
    assert "category" in caught.value.error_dict
    assert _records(world.acme) == before
    with enterprise_schema(world.acme):
        assert EnterpriseNotice.objects.filter(status="published").count() == 2


def test_withdrawing_what_was_never_given_or_is_not_yours_is_refused(world):
    bob = _bob(world)
    erins = record_of(world, world.acme, world.erin, "health", "health_monitoring")
    legal = legal_basis_record(
        enterprise=world.acme,
        actor=world.membership(world.acme, world.alice),
        member_id=bob.pk,
        category="health",
        purpose="health_monitoring",
        basis="hr_necessity",
        reason="Occupational health duty of care",
    )
    before = _records(world.acme)
    for record_id in (erins.pk, legal.pk, 999_999, "99999999999999999999999", "x", None):
        with pytest.raises(ValidationError):
            consent_withdraw(enterprise=world.acme, membership=bob, record_id=record_id)
    own = record_of(world, world.acme, world.bob, "health", "health_monitoring")
    consent_withdraw(enterprise=world.acme, membership=bob, record_id=own.pk)
    changed = _records(world.acme)
    with pytest.raises(ValidationError):  # withdrawn already
        consent_withdraw(enterprise=world.acme, membership=bob, record_id=own.pk)
    assert _records(world.acme) == changed
    assert [r for r in before if r[0] != own.pk] == [r for r in changed if r[0] != own.pk]


def test_legal_basis_needs_a_reason_the_category_and_the_member_in_scope(world):
    from django.core.exceptions import PermissionDenied

    bob, erin = _bob(world), world.membership(world.acme, world.erin)
    amy, sam = world.membership(world.acme, world.amy), world.membership(world.acme, world.sam)
    entries = _count(world.acme, lambda: LedgerEntry.objects.all())
    before = _records(world.acme)
    with pytest.raises(PermissionDenied):  # a full admin holds no health category
        legal_basis_record(
            enterprise=world.acme,
            actor=amy,
            member_id=bob.pk,
            category="health",
            purpose="health_monitoring",
            basis="emergency",
            reason="Epidemic-prevention order",
        )
    with pytest.raises(ValidationError) as caught:  # erin is outside sam's Sales subtree
        legal_basis_record(
            enterprise=world.acme,
            actor=sam,
            member_id=erin.pk,
            category="health",
            purpose="health_monitoring",
            basis="emergency",
            reason="Epidemic-prevention order",
        )
    assert "member" in caught.value.error_dict
    for basis, reason, field in (
        ("emergency", "short", "reason"),
        ("consent", "Epidemic-prevention order", "basis"),
        ("whim", "Epidemic-prevention order", "basis"),
    ):
        with pytest.raises(ValidationError) as caught:
            legal_basis_record(
                enterprise=world.acme,
                actor=sam,
                member_id=bob.pk,
                category="health",
                purpose="health_monitoring",
                basis=basis,
                reason=reason,
            )
        assert field in caught.value.error_dict
    assert _records(world.acme) == before and _count(world.acme, lambda: LedgerEntry.objects.all()) == entries
    record = legal_basis_record(
        enterprise=world.acme,
        actor=sam,
        member_id=bob.pk,
        category="health",
        purpose="health_monitoring",
        basis="emergency",
        reason="Epidemic-prevention order",
    )
    with enterprise_schema(world.acme):
        entry = LedgerEntry.objects.latest("id")
    assert (entry.action, entry.category, entry.subject_membership_id, entry.purpose, entry.actor_membership_id) == (
        "legal_basis",
        "health",
        bob.pk,
        "Epidemic-prevention order",
        sam.pk,
    )
    assert entry.details == {
        "sensitive_category": "health",
        "consent_purpose": "health_monitoring",
        "basis": "emergency",
    }
    assert record.recorded_by_id == sam.pk


# --- isolation: consents belong to one enterprise ------------------------------------------------------


def test_consents_are_per_enterprise(world):
    """dana is a member of both: withdrawing in acme leaves her globex consent and data alone, and
    her acme record id means nothing on globex."""
    dana_acme = world.membership(world.acme, world.dana)
    dana_globex = world.membership(world.globex, world.dana)
    health_report_submit(enterprise=world.globex, membership=dana_globex, city="Beijing", unwell=False)
    acme_record = withdraw(world, world.acme, world.dana, "health", "health_monitoring")
    with pytest.raises(ValidationError):
        health_report_submit(enterprise=world.acme, membership=dana_acme, city="Beijing", unwell=False)
    health_report_submit(enterprise=world.globex, membership=dana_globex, city="Beijing", unwell=False)
    globex_before = _records(world.globex)
    with pytest.raises(ValidationError):  # the acme record's id, presented to globex
        consent_withdraw(enterprise=world.globex, membership=dana_globex, record_id=acme_record.pk)
    assert _records(world.globex) == globex_before
    # the task, sent for acme's record id but to globex's schema, finds nothing to do there
    assert run_erasure(world.globex, acme_record)["counts"] is None
    assert _count(world.globex, lambda: HealthReport.objects.filter(membership=dana_globex)) == 1
    with enterprise_schema(world.globex):
        assert not ConsentRecord.objects.filter(Q(membership=dana_globex) & ~Q(withdrawn_at=None)).exists()


def test_the_erasure_task_refuses_the_public_schema(db):
    from tenants.tasks import PublicSchemaRefused

    with pytest.raises(PublicSchemaRefused):
        consent_withdrawal_erase.apply(kwargs={"record_id": 1}, headers={"_schema_name": "public"}).get()
