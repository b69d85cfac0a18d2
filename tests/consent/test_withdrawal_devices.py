"""CON-6 on devices (ENT-6): withdrawing biometrics consent stops the devices' processing before
the withdrawal answers — no Celery worker runs here (the erasure task is captured, never sent):
the member's templates of that purpose are revoked in the request, their delete rows are in the
feed of that purpose's devices at once, a re-sync from cursor 0 never ships them again, and the
feed never ships a template whose member has no active consent or legal basis for its purpose,
whatever path closed the basis. The erasure task then only deletes what remains."""

from __future__ import annotations

import base64

from django.db import connection
from django.utils import timezone

from attendance.models import ClockEvent
from biometrics.models import BiometricTemplate, TemplateChange
from biometrics.services import device_register, template_enroll
from consent.consents.services import legal_basis_record
from consent.models import ConsentRecord
from ledger.models import LedgerEntry
from retention.services.erasure import withdrawn_data_erase
from tenants.context import enterprise_schema

FEED = "/api/device/v1/templates/"
CLOCK = "/api/device/v1/clock/"


def register(world, purpose: str) -> str:
    kind = "attendance_machine" if purpose == "attendance" else "door_controller"
    _device, key = device_register(
        enterprise=world.acme,
        actor=world.membership(world.acme, world.alice),
        name=f"{purpose} device",
        kind=kind,
        purpose=purpose,
    )
    connection.set_schema_to_public()
    return key


def enrol(world, user, template: bytes, purpose: str, modality: str = "face") -> BiometricTemplate:
    record = template_enroll(
        enterprise=world.acme,
        actor=world.membership(world.acme, world.alice),
        membership=world.membership(world.acme, user),
        modality=modality,
        purpose=purpose,
        template=template,
    )
    connection.set_schema_to_public()
    return record


def poll(client, key: str, after: int = 0) -> dict:
    response = client.get(FEED, {"after": after, "limit": 500}, HTTP_AUTHORIZATION=f"Device {key}")
    assert response.status_code == 200, response.content
    return response.json()


def shipped(page: dict) -> dict[int, bytes]:
    """template id → bytes of every upsert on a feed page."""
    return {
        row["template_id"]: base64.b64decode(row["template"]) for row in page["changes"] if row["change"] == "upsert"
    }


def deleted(page: dict) -> list[int]:
    return [row["template_id"] for row in page["changes"] if row["change"] == "delete"]


def record_of(world, user, category: str, purpose: str, basis: str = "consent") -> ConsentRecord:
    with enterprise_schema(world.acme):
        record = ConsentRecord.objects.get(
            membership=world.membership(world.acme, user),
            category=category,
            purpose=purpose,
            basis=basis,
            withdrawn_at__isnull=True,
        )
    connection.set_schema_to_public()
    return record


def template_row(world, pk: int) -> BiometricTemplate | None:
    with enterprise_schema(world.acme):
        row = BiometricTemplate.objects.filter(pk=pk).first()
    connection.set_schema_to_public()
    return row


def setup_devices(world, client_for):
    """Bob and Erin enrolled for attendance, Bob also for door access; both devices synced."""
    attendance_key, door_key = register(world, "attendance"), register(world, "door_access")
    bob_face = enrol(world, world.bob, b"bob-face-attendance", "attendance")
    erin_face = enrol(world, world.erin, b"erin-face-attendance", "attendance")
    bob_finger = enrol(world, world.bob, b"bob-finger-door", "door_access", modality="fingerprint")
    device = client_for("acme")
    attendance = poll(device, attendance_key)
    door = poll(device, door_key)
    assert shipped(attendance) == {bob_face.pk: b"bob-face-attendance", erin_face.pk: b"erin-face-attendance"}
    assert shipped(door) == {bob_finger.pk: b"bob-finger-door"}
    return (
        device,
        attendance_key,
        door_key,
        attendance["next_cursor"],
        door["next_cursor"],
        bob_face,
        erin_face,
        bob_finger,
    )


def test_withdrawal_on_the_page_removes_the_template_from_the_feed_before_it_answers(
    world, client_for, django_capture_on_commit_callbacks
):
    device, attendance_key, door_key, cursor, door_cursor, bob_face, erin_face, bob_finger = setup_devices(
        world, client_for
    )
    record = record_of(world, world.bob, "biometrics", "attendance")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:  # no worker: the task is never sent
        response = client_for("acme", world.bob).post(f"/me/consents/{record.pk}/withdraw/", {"confirmed": "yes"})
    assert response.status_code == 302
    assert len(callbacks) == 1  # the erasure task, scheduled for after commit

    # the device's next incremental poll: the delete row is there already
    page = poll(device, attendance_key, after=cursor)
    assert deleted(page) == [bob_face.pk] and shipped(page) == {}
    # a device re-syncing from cursor 0 never gets Bob's template again; Erin's still comes
    resync = poll(device, attendance_key)
    assert shipped(resync) == {erin_face.pk: b"erin-face-attendance"}
    assert bob_face.pk in deleted(resync)
    # the other purpose (its own consent, still given) is untouched
    assert poll(device, door_key, after=door_cursor)["changes"] == []
    assert shipped(poll(device, door_key)) == {bob_finger.pk: b"bob-finger-door"}

    # revoked in the request: ciphertext erased, metadata kept until the scheduled erasure
    row = template_row(world, bob_face.pk)
    assert row is not None and row.revoked_at is not None and bytes(row.template_encrypted) == b""
    with enterprise_schema(world.acme):
        entry = LedgerEntry.objects.order_by("-id").first()
        closed = ConsentRecord.objects.get(pk=record.pk)
    assert (entry.action, entry.category, entry.subject_membership_id) == (
        "revoke",
        "biometrics",
        bob_face.membership_id,
    )
    assert entry.details == {"templates": 1, "consent_purpose": "attendance"}
    assert closed.erasure == "scheduled"

    # the task's body (what the worker runs later) only erases what remains: no second delete row
    with enterprise_schema(world.acme):
        deletes_before = TemplateChange.objects.filter(template_id=bob_face.pk, change="delete").count()
    counts = withdrawn_data_erase(enterprise=world.acme, record_id=record.pk)
    assert counts["templates"] == 1
    connection.set_schema_to_public()
    assert template_row(world, bob_face.pk) is None
    with enterprise_schema(world.acme):
        assert TemplateChange.objects.filter(template_id=bob_face.pk, change="delete").count() == deletes_before == 1
    assert shipped(poll(device, attendance_key)) == {erin_face.pk: b"erin-face-attendance"}


def test_withdrawal_through_the_api_does_the_same_for_door_access(
    world, client_for, django_capture_on_commit_callbacks
):
    device, attendance_key, door_key, cursor, door_cursor, bob_face, _erin_face, bob_finger = setup_devices(
        world, client_for
    )
    record = record_of(world, world.bob, "biometrics", "door_access")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for("acme", world.bob).post(f"/api/v1/me/consents/{record.pk}/withdrawal/")
    assert response.status_code == 200, response.content
    assert len(callbacks) == 1
    page = poll(device, door_key, after=door_cursor)
    assert deleted(page) == [bob_finger.pk] and shipped(page) == {}
    assert shipped(poll(device, door_key)) == {}
    # attendance (another purpose, still consented) keeps shipping Bob's face
    assert poll(device, attendance_key, after=cursor)["changes"] == []
    assert bob_face.pk in shipped(poll(device, attendance_key))


def test_the_feed_ships_no_template_whose_member_has_no_basis_whatever_closed_it(world, client_for):
    """A template left active (e.g. the consent closed by some other path than the withdrawal
    service) is never shipped; a legal basis keeps it shipping."""
    device, attendance_key, _door_key, _cursor, _door_cursor, bob_face, erin_face, _bob_finger = setup_devices(
        world, client_for
    )
    with enterprise_schema(world.acme):
        ConsentRecord.objects.filter(
            membership_id=bob_face.membership_id, category="biometrics", purpose="attendance"
        ).update(withdrawn_at=timezone.now())
    connection.set_schema_to_public()
    assert template_row(world, bob_face.pk).revoked_at is None  # the row is still there, active
    resync = poll(device, attendance_key)
    assert shipped(resync) == {erin_face.pk: b"erin-face-attendance"}
    # a legal basis for that purpose is a basis: shipped again
    legal_basis_record(
        enterprise=world.acme,
        actor=world.membership(world.acme, world.alice),
        member_id=bob_face.membership_id,
        category="biometrics",
        purpose="attendance",
        basis="hr_necessity",
        reason="Door and time clock required by the site rules",
    )
    connection.set_schema_to_public()
    assert shipped(poll(device, attendance_key))[bob_face.pk] == b"bob-face-attendance"


def test_withdrawal_with_a_legal_basis_left_keeps_the_template_on_devices(world, client_for):
    device, attendance_key, _door_key, cursor, _door_cursor, bob_face, _erin_face, _bob_finger = setup_devices(
        world, client_for
    )
    legal_basis_record(
        enterprise=world.acme,
        actor=world.membership(world.acme, world.alice),
        member_id=bob_face.membership_id,
        category="biometrics",
        purpose="attendance",
        basis="hr_necessity",
        reason="Door and time clock required by the site rules",
    )
    connection.set_schema_to_public()
    record = record_of(world, world.bob, "biometrics", "attendance")
    response = client_for("acme", world.bob).post(f"/api/v1/me/consents/{record.pk}/withdrawal/")
    assert response.status_code == 200 and response.json()["erasure"] == "not_needed"
    page = poll(device, attendance_key, after=cursor)
    assert deleted(page) == []
    assert shipped(poll(device, attendance_key))[bob_face.pk] == b"bob-face-attendance"


def test_ending_the_last_legal_basis_revokes_at_once_too(world, client_for):
    """The administrator's path to the same closing (legal_basis_end) behaves like a withdrawal."""
    device, attendance_key, _door_key, cursor, _door_cursor, bob_face, erin_face, _bob_finger = setup_devices(
        world, client_for
    )
    legal = legal_basis_record(
        enterprise=world.acme,
        actor=world.membership(world.acme, world.alice),
        member_id=bob_face.membership_id,
        category="biometrics",
        purpose="attendance",
        basis="hr_necessity",
        reason="Door and time clock required by the site rules",
    )
    connection.set_schema_to_public()
    record = record_of(world, world.bob, "biometrics", "attendance")
    client_for("acme", world.bob).post(f"/api/v1/me/consents/{record.pk}/withdrawal/")
    assert shipped(poll(device, attendance_key))[bob_face.pk] == b"bob-face-attendance"
    response = client_for("acme", world.alice).post(f"/api/v1/consents/legal-bases/{legal.pk}/end/")
    assert response.status_code == 200, response.content
    page = poll(device, attendance_key, after=cursor)
    assert deleted(page) == [bob_face.pk]
    assert shipped(poll(device, attendance_key)) == {erin_face.pk: b"erin-face-attendance"}


def test_a_device_that_has_not_polled_yet_cannot_clock_the_member_in(world, client_for):
    """A device still holding the withdrawn template recognises the member: the clock event it
    posts is refused (403 consent_required), nothing written."""
    device, attendance_key, _door_key, _cursor, _door_cursor, bob_face, _erin_face, _bob_finger = setup_devices(
        world, client_for
    )
    clock = {"membership_id": bob_face.membership_id, "kind": "in"}
    headers = {"HTTP_AUTHORIZATION": f"Device {attendance_key}"}
    assert device.post(CLOCK, clock, content_type="application/json", **headers).status_code == 201
    record = record_of(world, world.bob, "biometrics", "attendance")
    assert client_for("acme", world.bob).post(f"/api/v1/me/consents/{record.pk}/withdrawal/").status_code == 200
    with enterprise_schema(world.acme):
        events = ClockEvent.objects.filter(membership_id=bob_face.membership_id).count()
    connection.set_schema_to_public()
    response = device.post(CLOCK, dict(clock, kind="out"), content_type="application/json", **headers)
    assert response.status_code == 403
    body = response.json()
    assert (body["code"], body["category"], body["purpose"]) == ("consent_required", "biometrics", "attendance")
    with enterprise_schema(world.acme):
        assert ClockEvent.objects.filter(membership_id=bob_face.membership_id).count() == events
