"""The devices' API (ENT-6): device keys bound to their enterprise's host, the template change
feed (purpose-scoped, deletions at once, decrypted templates, constant queries)."""

from __future__ import annotations

import base64
import os
import re

import pytest
from django.db import connection

from biometrics.models import BiometricTemplate, Device, TemplateChange
from biometrics.services import (
    device_register,
    device_revoke,
    template_delete,
    template_enroll,
    template_revoke,
    templates_delete_for_member,
)
from core.encryption import member_key_destroy
from ledger.models import LedgerEntry
from tenants.context import enterprise_schema

FEED = "/api/device/v1/templates/"


def register(world, enterprise=None, purpose="attendance", kind="attendance_machine", name="Front door"):
    enterprise = enterprise or world.acme
    owner = {world.acme: world.alice, world.globex: world.gina, world.initech: world.ivan}[enterprise]
    actor = world.membership(enterprise, owner)
    device, key = device_register(enterprise=enterprise, actor=actor, name=name, kind=kind, purpose=purpose)
    connection.set_schema_to_public()
    return device, key


def enrol(world, user, template, purpose="attendance", modality="face", enterprise=None):
    enterprise = enterprise or world.acme
    owner = world.alice if enterprise == world.acme else world.gina
    record = template_enroll(
        enterprise=enterprise,
        actor=world.membership(enterprise, owner),
        membership=world.membership(enterprise, user),
        modality=modality,
        purpose=purpose,
        template=template,
    )
    connection.set_schema_to_public()
    return record


def ledger_count(enterprise):
    with enterprise_schema(enterprise):
        return LedgerEntry.objects.count()


def feed(client, key, **params):
    return client.get(FEED, params, HTTP_AUTHORIZATION=f"Device {key}")


# --- keys -------------------------------------------------------------------------------------


def test_register_returns_the_key_once_and_stores_only_prefix_and_hash(world):
    before = ledger_count(world.acme)
    device, key = register(world)
    assert re.fullmatch(r"dev_[0-9a-f]{10}_[A-Za-z0-9_-]{43}", key)
    assert key.split("_")[1] == device.key_prefix
    with enterprise_schema(world.acme):
        row = Device.objects.get(pk=device.pk)
        entry = LedgerEntry.objects.order_by("-id").first()
    assert row.key_hash.startswith("hmac-sha256$") and key not in row.key_hash
    assert key.split("_", 2)[2] not in row.key_hash
    assert ledger_count(world.acme) == before + 1
    assert (entry.action, entry.category, entry.object_id) == ("create", "biometrics", str(device.pk))


def test_register_refuses_bad_input_and_writes_nothing(world):
    from django.core.exceptions import ValidationError

    before = ledger_count(world.acme)
    with pytest.raises(ValidationError) as error:
        device_register(enterprise=world.acme, actor=None, name=" ", kind="toaster", purpose="fun")
    assert set(error.value.message_dict) == {"name", "kind", "purpose"}
    with enterprise_schema(world.acme):
        assert not Device.objects.exists()
    assert ledger_count(world.acme) == before


def test_feed_needs_a_valid_device_key(world, client_for):
    _device, key = register(world)
    client = client_for("acme")
    assert client.get(FEED).status_code == 401
    assert client.get(FEED).headers["WWW-Authenticate"] == "Device"
    assert feed(client, key + "x").status_code == 401
    assert feed(client, "dev_0123456789_nope").status_code == 401
    assert feed(client, "not-a-key").status_code == 401
    assert client.get(FEED, HTTP_AUTHORIZATION="Device").status_code == 401
    assert client.get(FEED, HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    # a signed-in owner is not a device
    assert client_for("acme", world.alice).get(FEED).status_code == 401
    assert feed(client, key).status_code == 200


def test_a_key_of_one_enterprise_is_refused_on_another_enterprises_host(world, client_for):
    """The issue: an acme device key cannot read globex's templates (nor acme's via globex)."""
    _device, acme_key = register(world)
    globex_device, globex_key = register(world, enterprise=world.globex)
    enrol(world, world.gus, b"globex-secret-template", enterprise=world.globex)
    response = feed(client_for("globex"), acme_key)
    assert response.status_code == 401
    assert b"globex-secret-template" not in response.content
    assert feed(client_for("acme"), globex_key).status_code == 401
    # each key works on its own host
    assert feed(client_for("acme"), acme_key).status_code == 200
    ok = feed(client_for("globex"), globex_key)
    assert ok.status_code == 200
    assert base64.b64decode(ok.json()["changes"][0]["template"]) == b"globex-secret-template"


def test_a_revoked_device_is_refused(world, client_for):
    device, key = register(world)
    before = ledger_count(world.acme)
    device_revoke(enterprise=world.acme, actor=None, device=device)
    device_revoke(enterprise=world.acme, actor=None, device=device)  # idempotent
    connection.set_schema_to_public()
    assert ledger_count(world.acme) == before + 1
    response = feed(client_for("acme"), key)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_a_suspended_enterprises_devices_are_refused(world, client_for):
    _device, key = register(world, enterprise=world.initech)  # initech is suspended
    assert feed(client_for("initech"), key).status_code == 403


def test_a_call_records_last_seen(world, client_for):
    device, key = register(world)
    assert feed(client_for("acme"), key).status_code == 200
    with enterprise_schema(world.acme):
        assert Device.objects.get(pk=device.pk).last_seen_at is not None


# --- the feed ---------------------------------------------------------------------------------


def test_feed_ships_decrypted_templates_and_pages_by_cursor(world, client_for):
    _device, key = register(world)
    bob_t = enrol(world, world.bob, b"\x00bob-face\xff")
    erin_t = enrol(world, world.erin, b"erin-finger", modality="fingerprint")
    client = client_for("acme")
    first = feed(client, key, limit=1).json()
    assert first["purpose"] == "attendance" and first["has_more"] is True
    assert len(first["changes"]) == 1
    row = first["changes"][0]
    assert row["change"] == "upsert" and row["template_id"] == bob_t.pk
    assert row["membership_id"] == world.membership(world.acme, world.bob).pk
    assert row["modality"] == "face"
    assert base64.b64decode(row["template"]) == b"\x00bob-face\xff"
    second = feed(client, key, after=first["next_cursor"], limit=1).json()
    assert [c["template_id"] for c in second["changes"]] == [erin_t.pk]
    assert second["next_cursor"] > first["next_cursor"]
    done = feed(client, key, after=second["next_cursor"]).json()
    assert done == {"purpose": "attendance", "changes": [], "next_cursor": second["next_cursor"], "has_more": False}


def test_feed_is_scoped_to_the_devices_purpose(world, client_for):
    _a, attendance_key = register(world, purpose="attendance")
    _d, door_key = register(world, purpose="door_access", kind="door_controller", name="Gate")
    enrol(world, world.bob, b"for-attendance", purpose="attendance")
    enrol(world, world.erin, b"for-the-door", purpose="door_access")
    client = client_for("acme")
    attendance = feed(client, attendance_key).json()["changes"]
    door = feed(client, door_key).json()["changes"]
    assert [base64.b64decode(c["template"]) for c in attendance] == [b"for-attendance"]
    assert [base64.b64decode(c["template"]) for c in door] == [b"for-the-door"]


def test_a_deleted_template_leaves_the_feed_at_once(world, client_for):
    _device, key = register(world)
    template = enrol(world, world.bob, b"soon-deleted")
    client = client_for("acme")
    synced = feed(client, key).json()
    assert len(synced["changes"]) == 1
    template_delete(enterprise=world.acme, actor=None, template=template)
    connection.set_schema_to_public()
    # a device that holds it gets the delete row
    update = feed(client, key, after=synced["next_cursor"]).json()["changes"]
    assert update == [
        {
            "cursor": update[0]["cursor"],
            "change": "delete",
            "template_id": template.pk,
            "membership_id": template.membership_id,
        }
    ]
    # a device syncing from scratch never receives the template any more
    fresh = feed(client, key)
    assert b"soon-deleted" not in base64.b64decode(fresh.json()["changes"][0].get("template", ""))
    assert [c["change"] for c in fresh.json()["changes"]] == ["delete"]
    with enterprise_schema(world.acme):
        assert not BiometricTemplate.objects.filter(pk=template.pk).exists()


def test_a_revoked_template_leaves_the_feed_and_its_ciphertext_is_erased(world, client_for):
    _device, key = register(world)
    template = enrol(world, world.bob, b"soon-revoked")
    before = ledger_count(world.acme)
    template_revoke(enterprise=world.acme, actor=None, template=template)
    template_revoke(enterprise=world.acme, actor=None, template=template)  # idempotent
    template_delete(enterprise=world.acme, actor=None, template=template)  # no second delete row
    connection.set_schema_to_public()
    assert ledger_count(world.acme) == before + 2  # revoke, delete
    changes = feed(client_for("acme"), key).json()["changes"]
    assert [c["change"] for c in changes] == ["delete"]
    with enterprise_schema(world.acme):
        assert list(TemplateChange.objects.values_list("change", flat=True)) == ["upsert", "delete"]


def test_a_leavers_templates_are_deleted_and_leave_the_devices(world, client_for):
    _device, key = register(world)
    enrol(world, world.bob, b"one")
    enrol(world, world.bob, b"two", modality="fingerprint")
    before = ledger_count(world.acme)
    assert (
        templates_delete_for_member(
            enterprise=world.acme, actor=None, membership=world.membership(world.acme, world.bob)
        )
        == 2
    )
    connection.set_schema_to_public()
    assert ledger_count(world.acme) == before + 1
    assert [c["change"] for c in feed(client_for("acme"), key).json()["changes"]] == ["delete", "delete"]


def test_a_shredded_members_templates_are_not_shipped(world, client_for):
    _device, key = register(world)
    enrol(world, world.bob, b"shredded")
    enrol(world, world.erin, b"kept")
    member_key_destroy(enterprise=world.acme, membership_id=world.membership(world.acme, world.bob).pk)
    connection.set_schema_to_public()
    changes = feed(client_for("acme"), key).json()["changes"]
    assert [base64.b64decode(c["template"]) for c in changes] == [b"kept"]


def test_templates_are_encrypted_at_rest(world):
    """Raw database read: the ciphertext contains no plaintext bytes (RET-6)."""
    plaintext = os.urandom(32) + b"FINGERPRINT-MINUTIAE" + os.urandom(32)
    template = enrol(world, world.bob, plaintext)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT template_encrypted FROM acme.enterprise_data_biometrictemplate WHERE id = %s", [template.pk]
        )
        stored = bytes(cursor.fetchone()[0])
    assert plaintext not in stored
    assert b"FINGERPRINT-MINUTIAE" not in stored
    assert plaintext[:16] not in stored and plaintext[-16:] not in stored


def test_feed_refuses_bad_parameters(world, client_for):
    _device, key = register(world)
    client = client_for("acme")
    response = feed(client, key, after=-1, limit=501)
    assert response.status_code == 400
    assert set(response.json()) == {"after", "limit"}
    assert feed(client, key, after="abc").status_code == 400
    assert feed(client, key, limit=0).status_code == 400


@pytest.mark.parametrize("rows", [5, 50])
def test_feed_runs_a_constant_number_of_queries(world, client_for, django_assert_num_queries, rows):
    _device, key = register(world)
    users = [world.bob, world.erin, world.dana, world.amy, world.alice]
    for i in range(rows):
        enrol(world, users[i % len(users)], f"template-{i}".encode())
    client = client_for("acme")
    assert feed(client, key, limit=1).status_code == 200  # records last_seen_at (at most once a minute)
    # 1 SET search_path public, 2 domain -> enterprise, 3 SET search_path acme, 4 the device by key
    # prefix, 5 the changes, 6 the live templates, 7 the enterprise key, 8 the members' data keys
    with django_assert_num_queries(8):
        response = feed(client, key, limit=500)
    assert len(response.json()["changes"]) == rows


# --- clock events -----------------------------------------------------------------------------

CLOCK = "/api/device/v1/clock/"


def clock(client, key, data):
    return client.post(CLOCK, data, content_type="application/json", HTTP_AUTHORIZATION=f"Device {key}")


def clock_events(enterprise):
    from attendance.models import ClockEvent

    with enterprise_schema(enterprise):
        return list(ClockEvent.objects.values("membership_id", "kind", "source", "device_id"))


def test_a_device_posts_a_clock_event(world, client_for):
    device, key = register(world)
    bob_id = world.membership(world.acme, world.bob).pk
    connection.set_schema_to_public()
    response = clock(client_for("acme"), key, {"membership_id": bob_id, "kind": "in"})
    assert response.status_code == 201
    assert response.json()["membership_id"] == bob_id and response.json()["kind"] == "in"
    assert clock_events(world.acme) == [
        {"membership_id": bob_id, "kind": "in", "source": "device", "device_id": device.pk}
    ]
    with enterprise_schema(world.acme):
        assert Device.objects.get(pk=device.pk).last_seen_at is not None


def test_clock_refuses_bad_input_and_writes_nothing(world, client_for):
    _device, key = register(world)
    client = client_for("acme")
    gwen_id = world.membership(world.globex, world.gwen).pk  # an id that exists only in globex
    connection.set_schema_to_public()
    response = clock(client, key, {"membership_id": gwen_id, "kind": "in"})
    assert response.status_code == 400 and set(response.json()) == {"membership_id"}
    response = clock(client, key, {"membership_id": "x", "kind": "sideways"})
    assert response.status_code == 400 and set(response.json()) == {"membership_id", "kind"}
    bob_id = world.membership(world.acme, world.bob).pk
    connection.set_schema_to_public()
    response = clock(client, key, {"membership_id": bob_id, "kind": "in", "occurred_at": "2001-01-01T00:00:00Z"})
    assert response.status_code == 400 and set(response.json()) == {"occurred_at"}
    assert clock_events(world.acme) == []


def test_only_attendance_devices_post_clock_events(world, client_for):
    _device, key = register(world, purpose="door_access", kind="door_controller")
    bob_id = world.membership(world.acme, world.bob).pk
    connection.set_schema_to_public()
    assert clock(client_for("acme"), key, {"membership_id": bob_id, "kind": "in"}).status_code == 403
    assert clock(client_for("acme"), "dev_0123456789_nope", {"membership_id": bob_id, "kind": "in"}).status_code == 401
    assert clock_events(world.acme) == []


def test_an_acme_key_cannot_clock_on_globex(world, client_for):
    _device, key = register(world)
    gus_id = world.membership(world.globex, world.gus).pk
    connection.set_schema_to_public()
    assert clock(client_for("globex"), key, {"membership_id": gus_id, "kind": "in"}).status_code == 401
    assert clock_events(world.globex) == []


def test_a_left_members_templates_are_not_shipped(world, client_for):
    _device, key = register(world)
    enrol(world, world.bob, b"left-behind")
    enrol(world, world.erin, b"still-here")
    with enterprise_schema(world.acme):
        from core.models import Membership

        Membership.objects.filter(account=world.bob).update(status=Membership.Status.LEFT)
    connection.set_schema_to_public()
    changes = feed(client_for("acme"), key).json()["changes"]
    assert [base64.b64decode(c["template"]) for c in changes] == [b"still-here"]


class Rollback(Exception):
    pass


def test_feed_rows_become_visible_in_id_order(world):
    """Writer A enrols inside an open transaction; writer B's enrolment waits for A's commit (or
    rollback), so a device can never read B's row and then miss A's smaller id. Both roll back:
    nothing is left behind."""
    import threading

    from django.db import connections, transaction

    bob, erin = world.membership(world.acme, world.bob), world.membership(world.acme, world.erin)
    connection.set_schema_to_public()
    a_enrolled, a_may_finish = threading.Event(), threading.Event()
    ids: dict[str, int] = {}

    def run(name, work):
        outcome: dict[str, object] = {}

        def target():
            try:
                work()
            except Rollback:
                outcome["ok"] = True
            except BaseException as error:  # reported by the test
                outcome["error"] = error
            finally:
                connections.close_all()

        thread = threading.Thread(target=target, daemon=True, name=name)
        thread.start()
        return thread, outcome

    def writer(name, membership, hold):
        with enterprise_schema(world.acme), transaction.atomic():
            template_enroll(
                enterprise=world.acme,
                actor=None,
                membership=membership,
                modality="face",
                purpose="attendance",
                template=name.encode(),
            )
            ids[name] = TemplateChange.objects.order_by("-id").values_list("id", flat=True).first()
            if hold:
                a_enrolled.set()
                assert a_may_finish.wait(20)
            raise Rollback

    thread_a, outcome_a = run("A", lambda: writer("A", bob, True))
    try:
        assert a_enrolled.wait(20), outcome_a
        thread_b, outcome_b = run("B", lambda: writer("B", erin, False))
        thread_b.join(1.0)
        assert thread_b.is_alive(), "writer B must wait for writer A's transaction"
    finally:
        a_may_finish.set()
    thread_a.join(20)
    thread_b.join(20)
    assert outcome_a == {"ok": True} and outcome_b == {"ok": True}, (outcome_a, outcome_b)
    assert ids["B"] > ids["A"]
