"""Biometrics console, admin API and self-service (ENT-6, ENT-8, ENT-10): category biometrics
only (the owner has it, the full admin Amy does not), scope-filtered members, metadata only."""

from __future__ import annotations

import base64
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from accounts.models import User
from biometrics.models import BiometricTemplate, Device, TemplateChange
from biometrics.services import TEMPLATE_MAX_BYTES, device_register, template_enroll
from core.services import membership_create
from directory.org import scope_grant
from ledger.models import LedgerEntry
from tenants.categories import Category
from tenants.context import enterprise_schema

SECRET = b"\x01\x02TEMPLATE-BYTES-NEVER-SHOWN\x03"


def member(world, user, enterprise=None):
    return world.membership(enterprise or world.acme, user)


def enrol(world, user, template=SECRET, purpose="attendance", modality="face"):
    record = template_enroll(
        enterprise=world.acme,
        actor=member(world, world.alice),
        membership=member(world, user),
        modality=modality,
        purpose=purpose,
        template=template,
    )
    connection.set_schema_to_public()
    return record


def grant_sam_biometrics(world):
    scope_grant(
        enterprise=world.acme,
        actor=None,
        admin=member(world, world.sam),
        department=world.sales,
        categories=[Category.BIOMETRICS],
    )
    connection.set_schema_to_public()


def counts(enterprise=None):
    from tenants.models import Enterprise

    enterprise = enterprise or Enterprise.objects.get(schema_name="acme")
    with enterprise_schema(enterprise):
        return (
            LedgerEntry.objects.count(),
            Device.objects.count(),
            BiometricTemplate.objects.count(),
            TemplateChange.objects.count(),
        )


# --- services ---------------------------------------------------------------------------------


def test_enrol_validates_with_field_errors_and_writes_nothing(world):
    before = counts(world.acme)
    bob = member(world, world.bob)
    for kwargs, field in [
        ({"template": b""}, "template"),
        ({"template": b"x" * (TEMPLATE_MAX_BYTES + 1)}, "template"),
        ({"modality": "retina-scan"}, "modality"),
        ({"purpose": "marketing"}, "purpose"),
    ]:
        args = {"modality": "face", "purpose": "attendance", "template": b"ok", **kwargs}
        with pytest.raises(ValidationError) as error:
            template_enroll(enterprise=world.acme, actor=None, membership=bob, **args)
        assert field in error.value.message_dict
    bob.status = "left"
    with pytest.raises(ValidationError) as error:
        template_enroll(
            enterprise=world.acme, actor=None, membership=bob, modality="face", purpose="attendance", template=b"ok"
        )
    assert "membership" in error.value.message_dict
    connection.set_schema_to_public()
    assert counts(world.acme) == before


def test_enrol_writes_template_change_and_ledger_entry_together(world):
    before = counts(world.acme)
    record = enrol(world, world.bob, template=b"x" * TEMPLATE_MAX_BYTES)
    after = counts(world.acme)
    assert after == (before[0] + 1, before[1], before[2] + 1, before[3] + 1)
    with enterprise_schema(world.acme):
        entry = LedgerEntry.objects.order_by("-id").first()
        change = TemplateChange.objects.order_by("-id").first()
    assert (entry.action, entry.category, entry.subject_membership_id, entry.purpose) == (
        "enroll",
        "biometrics",
        member(world, world.bob).pk,
        "attendance",
    )
    assert entry.details == {"modality": "face"}
    assert (change.template_id, change.change, change.purpose) == (record.pk, "upsert", "attendance")


# --- console: who may open what ---------------------------------------------------------------

CONSOLE_PAGES = ["/console/biometrics/devices/", "/console/biometrics/members/"]


@pytest.mark.parametrize("path", CONSOLE_PAGES)
def test_console_pages_need_the_biometrics_category(world, client_for, path):
    assert client_for("acme", world.alice).get(path).status_code == 200
    assert client_for("acme", world.amy).get(path).status_code == 403  # full admin without biometrics
    assert client_for("acme", world.sam).get(path).status_code == 403  # scoped, no biometrics
    assert client_for("acme", world.bob).get(path).status_code == 403
    assert client_for("acme", world.greg).get(path).status_code == 403  # globex's admin on acme
    assert client_for("acme").get(path).status_code == 302  # to the login page


def test_console_nav_shows_biometrics_only_with_the_category(world, client_for):
    assert b"/console/biometrics/devices/" in client_for("acme", world.alice).get("/console/").content
    assert b"/console/biometrics/" not in client_for("acme", world.amy).get("/console/").content


def test_member_page_is_scope_filtered(world, client_for):
    grant_sam_biometrics(world)
    erin_template = enrol(world, world.erin)
    bob_template = enrol(world, world.bob)
    sam = client_for("acme", world.sam)
    listing = sam.get("/console/biometrics/members/")
    assert listing.status_code == 200
    assert b"Bob Member" in listing.content and b"Erin Engineer" not in listing.content
    assert sam.get(f"/console/biometrics/members/{member(world, world.bob).pk}/").status_code == 200
    assert sam.get(f"/console/biometrics/members/{member(world, world.erin).pk}/").status_code == 404
    assert sam.get("/console/biometrics/members/999999/").status_code == 404
    before = counts(world.acme)
    assert (
        sam.post(f"/console/biometrics/templates/{erin_template.pk}/revoke/", {"confirmed": "yes"}).status_code == 404
    )
    assert (
        sam.post(f"/console/biometrics/templates/{erin_template.pk}/delete/", {"confirmed": "yes"}).status_code == 404
    )
    assert counts(world.acme) == before
    assert sam.post(f"/console/biometrics/templates/{bob_template.pk}/revoke/", {"confirmed": "yes"}).status_code == 302
    # globex's member ids mean nothing on acme's host
    alice = client_for("acme", world.alice)
    assert alice.get(f"/console/biometrics/members/{member(world, world.gwen, world.globex).pk}/").status_code == 404


def test_member_page_shows_metadata_but_never_the_template(world, client_for):
    enrol(world, world.bob, modality="fingerprint", purpose="door_access")
    response = client_for("acme", world.alice).get(f"/console/biometrics/members/{member(world, world.bob).pk}/")
    assert response.status_code == 200
    content = response.content
    assert b"Fingerprint" in content and b"Door access" in content and b"Alice Owner" in content
    assert SECRET not in content and b"TEMPLATE-BYTES" not in content
    # not even its size (the inline icons' path data is drawing, not text: left out)
    text = re.sub(rb"<svg.*?</svg>", b"", content, flags=re.S)
    assert str(len(SECRET)).encode() + b" " not in text
    assert base64.b64encode(SECRET) not in content


# --- console: devices -------------------------------------------------------------------------


def test_console_registers_a_device_and_shows_the_key_once(world, client_for):
    client = client_for("acme", world.alice)
    before = counts(world.acme)
    response = client.post(
        "/console/biometrics/devices/", {"name": "Lobby", "kind": "attendance_machine", "purpose": "attendance"}
    )
    assert response.status_code == 200
    key = response.context["key"]
    assert key.encode() in response.content
    assert "no-store" in response["Cache-Control"]
    assert counts(world.acme)[:2] == (before[0] + 1, before[1] + 1)
    listing = client.get("/console/biometrics/devices/")
    assert b"Lobby" in listing.content and key.encode() not in listing.content
    assert f"dev_{key.split('_')[1]}_".encode() in listing.content


def test_console_device_registration_refuses_bad_input(world, client_for):
    client = client_for("acme", world.alice)
    before = counts(world.acme)
    response = client.post("/console/biometrics/devices/", {"name": "", "kind": "toaster", "purpose": "attendance"})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"name", "kind"}
    assert counts(world.acme) == before


def test_console_revokes_a_device(world, client_for):
    device, _key = device_register(
        enterprise=world.acme, actor=None, name="Old", kind="door_controller", purpose="door_access"
    )
    connection.set_schema_to_public()
    before = counts(world.acme)
    assert (
        client_for("acme", world.amy)
        .post(f"/console/biometrics/devices/{device.pk}/revoke/", {"confirmed": "yes"})
        .status_code
        == 403
    )
    assert counts(world.acme) == before
    client = client_for("acme", world.alice)
    assert client.post(f"/console/biometrics/devices/{device.pk}/revoke/", {"confirmed": "yes"}).status_code == 302
    assert counts(world.acme)[0] == before[0] + 1
    with enterprise_schema(world.acme):
        assert Device.objects.get(pk=device.pk).revoked_at is not None
    assert client.post("/console/biometrics/devices/999999/revoke/", {"confirmed": "yes"}).status_code == 404


# --- console: enrolments ----------------------------------------------------------------------


def test_console_enrols_from_a_file_upload(world, client_for):
    client = client_for("acme", world.alice)
    bob = member(world, world.bob)
    before = counts(world.acme)
    response = client.post(
        f"/console/biometrics/members/{bob.pk}/",
        {
            "modality": "face",
            "purpose": "attendance",
            "template": SimpleUploadedFile("face.bin", SECRET),
        },
    )
    assert response.status_code == 302
    assert counts(world.acme) == (before[0] + 1, before[1], before[2] + 1, before[3] + 1)
    with enterprise_schema(world.acme):
        stored = BiometricTemplate.objects.get(membership=bob)
    assert SECRET not in bytes(stored.template_encrypted)
    assert stored.enrolled_by_id == member(world, world.alice).pk


@pytest.mark.parametrize(
    "data, field",
    [
        ({"modality": "face", "purpose": "attendance", "template": b""}, "template"),  # empty file
        ({"modality": "face", "purpose": "attendance", "template": b"x" * (TEMPLATE_MAX_BYTES + 1)}, "template"),
        ({"modality": "smell", "purpose": "attendance", "template": b"ok"}, "modality"),
        ({"modality": "face", "purpose": "advertising", "template": b"ok"}, "purpose"),
    ],
)
def test_console_enrolment_refuses_bad_input(world, client_for, data, field):
    client = client_for("acme", world.alice)
    before = counts(world.acme)
    data = dict(data, template=SimpleUploadedFile("t.bin", data["template"]))
    response = client.post(f"/console/biometrics/members/{member(world, world.bob).pk}/", data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert counts(world.acme) == before


def test_console_revokes_and_deletes_enrolments(world, client_for):
    client = client_for("acme", world.alice)
    template = enrol(world, world.bob)
    before = counts(world.acme)
    assert client.post(f"/console/biometrics/templates/{template.pk}/revoke/", {"confirmed": "yes"}).status_code == 302
    assert counts(world.acme) == (before[0] + 1, before[1], before[2], before[3] + 1)
    assert client.post(f"/console/biometrics/templates/{template.pk}/delete/", {"confirmed": "yes"}).status_code == 302
    assert counts(world.acme) == (before[0] + 2, before[1], before[2] - 1, before[3] + 1)
    assert client.post(f"/console/biometrics/templates/{template.pk}/delete/", {"confirmed": "yes"}).status_code == 404
    assert (
        client_for("acme", world.amy)
        .post(f"/console/biometrics/templates/{template.pk}/delete/", {"confirmed": "yes"})
        .status_code
        == 403
    )


# --- console: constant queries ----------------------------------------------------------------


def _extra_members(world, n):
    memberships = []
    for i in range(n):
        account = User.objects.create_user(f"+86137100001{i:02d}", None, nickname=f"Extra {i}")
        memberships.append(membership_create(enterprise=world.acme, account=account, role="member"))
    connection.set_schema_to_public()
    return memberships


@pytest.mark.parametrize("rows", [5, 50])
def test_console_lists_run_a_constant_number_of_queries(world, client_for, django_assert_num_queries, rows):
    client = client_for("acme", world.alice)
    for i in range(rows):
        device_register(
            enterprise=world.acme, actor=None, name=f"Device {i}", kind="attendance_machine", purpose="attendance"
        )
        enrol(world, world.bob, template=f"t{i}".encode())
    _extra_members(world, rows)
    connection.set_schema_to_public()
    # 1 SET search_path public, 2 domain -> enterprise, 3 SET search_path acme, 4 session,
    # 5 account, 6 acting membership, 7 the devices
    with django_assert_num_queries(9):  # +1: the app shell's header (UI-1)
        response = client.get("/console/biometrics/devices/")
    assert len(response.context["devices"]) == rows
    # ... 7 the members with their active template counts
    with django_assert_num_queries(9):  # +1: the app shell's header (UI-1)
        response = client.get("/console/biometrics/members/")
    assert len(response.context["members"]) == rows + 6
    bob_id = member(world, world.bob).pk
    connection.set_schema_to_public()
    # ... 7 the member, 8 the enrolments with who enrolled them
    with django_assert_num_queries(10):  # +1: the app shell's header (UI-1)
        response = client.get(f"/console/biometrics/members/{bob_id}/")
    assert len(response.context["enrolments"]) == rows


# --- admin API --------------------------------------------------------------------------------


def test_api_needs_the_biometrics_category(world, client_for):
    bob_id = member(world, world.bob).pk
    template = enrol(world, world.bob)
    for path in ["/api/v1/devices/", f"/api/v1/members/{bob_id}/biometrics/"]:
        assert client_for("acme", world.alice).get(path).status_code == 200
        assert client_for("acme", world.amy).get(path).status_code == 403
        assert client_for("acme", world.sam).get(path).status_code == 403
        assert client_for("acme", world.bob).get(path).status_code == 403
        assert client_for("acme", world.greg).get(path).status_code == 403
        assert client_for("acme").get(path).status_code == 403
    before = counts(world.acme)
    assert client_for("acme", world.amy).delete(f"/api/v1/biometrics/{template.pk}/").status_code == 403
    assert client_for("acme", world.amy).post("/api/v1/devices/", {}).status_code == 403
    assert counts(world.acme) == before


def test_api_registers_lists_and_revokes_devices(world, client_for):
    client = client_for("acme", world.alice)
    before = counts(world.acme)
    created = client.post(
        "/api/v1/devices/",
        {"name": "Gate", "kind": "door_controller", "purpose": "door_access"},
        content_type="application/json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith(f"dev_{body['key_prefix']}_")
    assert created["Cache-Control"] == "no-store"
    assert counts(world.acme)[:2] == (before[0] + 1, before[1] + 1)
    listing = client.get("/api/v1/devices/").json()
    assert [d["name"] for d in listing] == ["Gate"] and "key" not in listing[0] and "key_hash" not in listing[0]
    revoked = client.post(f"/api/v1/devices/{body['id']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert counts(world.acme)[0] == before[0] + 2
    assert client.post("/api/v1/devices/999999/revoke/").status_code == 404
    # globex's owner cannot reach acme's device through globex's host
    assert client_for("globex", world.gina).post(f"/api/v1/devices/{body['id']}/revoke/").status_code == 404


def test_api_device_registration_refuses_bad_input(world, client_for):
    before = counts(world.acme)
    response = client_for("acme", world.alice).post(
        "/api/v1/devices/", {"name": "", "kind": "x", "purpose": "y"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"name", "kind", "purpose"}
    assert counts(world.acme) == before


def test_api_enrols_lists_revokes_and_deletes(world, client_for):
    client = client_for("acme", world.alice)
    bob_id = member(world, world.bob).pk
    before = counts(world.acme)
    created = client.post(
        f"/api/v1/members/{bob_id}/biometrics/",
        {"modality": "iris", "purpose": "door_access", "template": base64.b64encode(SECRET).decode()},
        content_type="application/json",
    )
    assert created.status_code == 201
    assert counts(world.acme) == (before[0] + 1, before[1], before[2] + 1, before[3] + 1)
    listing = client.get(f"/api/v1/members/{bob_id}/biometrics/")
    assert listing.json() == [created.json()]
    assert set(created.json()) == {
        "id",
        "membership_id",
        "modality",
        "purpose",
        "enrolled_at",
        "enrolled_by_id",
        "revoked_at",
    }
    assert base64.b64encode(SECRET) not in listing.content and SECRET not in listing.content
    template_id = created.json()["id"]
    assert client.post(f"/api/v1/biometrics/{template_id}/revoke/").json()["revoked_at"]
    assert client.delete(f"/api/v1/biometrics/{template_id}/").status_code == 204
    assert client.delete(f"/api/v1/biometrics/{template_id}/").status_code == 404
    assert counts(world.acme) == (before[0] + 3, before[1], before[2], before[3] + 2)


@pytest.mark.parametrize(
    "data, fields",
    [
        ({"modality": "face", "purpose": "attendance", "template": ""}, {"template"}),
        ({"modality": "face", "purpose": "attendance", "template": "***not base64***"}, {"template"}),
        (
            {
                "modality": "face",
                "purpose": "attendance",
                "template": base64.b64encode(b"x" * (TEMPLATE_MAX_BYTES + 1)).decode(),
            },
            {"template"},
        ),
        ({"modality": "toe", "purpose": "spying", "template": "b2s="}, {"modality", "purpose"}),
    ],
)
def test_api_enrolment_refuses_bad_input(world, client_for, data, fields):
    before = counts(world.acme)
    response = client_for("acme", world.alice).post(
        f"/api/v1/members/{member(world, world.bob).pk}/biometrics/", data, content_type="application/json"
    )
    assert response.status_code == 400
    assert set(response.json()) == fields
    assert counts(world.acme) == before


def test_api_is_scope_filtered(world, client_for):
    grant_sam_biometrics(world)
    erin_template = enrol(world, world.erin)
    sam = client_for("acme", world.sam)
    erin_id = member(world, world.erin).pk
    assert sam.get(f"/api/v1/members/{member(world, world.bob).pk}/biometrics/").status_code == 200
    assert sam.get(f"/api/v1/members/{erin_id}/biometrics/").status_code == 404
    before = counts(world.acme)
    assert (
        sam.post(
            f"/api/v1/members/{erin_id}/biometrics/",
            {"modality": "face", "purpose": "attendance", "template": "b2s="},
            content_type="application/json",
        ).status_code
        == 404
    )
    assert sam.delete(f"/api/v1/biometrics/{erin_template.pk}/").status_code == 404
    assert sam.post(f"/api/v1/biometrics/{erin_template.pk}/revoke/").status_code == 404
    assert counts(world.acme) == before


@pytest.mark.parametrize("rows", [5, 50])
def test_api_lists_run_a_constant_number_of_queries(world, client_for, django_assert_num_queries, rows):
    client = client_for("acme", world.alice)
    for i in range(rows):
        device_register(
            enterprise=world.acme, actor=None, name=f"Device {i}", kind="attendance_machine", purpose="attendance"
        )
        enrol(world, world.bob, template=f"t{i}".encode())
    connection.set_schema_to_public()
    # 1 SET search_path public, 2 domain -> enterprise, 3 SET search_path acme, 4 session,
    # 5 account, 6 acting membership, 7 the devices
    with django_assert_num_queries(8):
        assert len(client.get("/api/v1/devices/").json()) == rows
    bob_id = member(world, world.bob).pk
    connection.set_schema_to_public()
    # ... 7 the member within scope, 8 the enrolments
    with django_assert_num_queries(9):
        assert len(client.get(f"/api/v1/members/{bob_id}/biometrics/").json()) == rows


# --- self-service -----------------------------------------------------------------------------


def test_me_lists_the_members_own_enrolments_without_templates(world, client_for):
    enrol(world, world.bob, modality="voiceprint")
    enrol(world, world.erin, modality="iris")
    response = client_for("acme", world.bob).get("/me/")
    assert response.status_code == 200
    assert b"Voiceprint" in response.content and b"Iris" not in response.content
    assert SECRET not in response.content and b"TEMPLATE-BYTES" not in response.content
    assert b"No biometric templates are held for you." in client_for("acme", world.dana).get("/me/").content


def test_openapi_schema_describes_the_biometrics_endpoints(client_for):
    response = client_for("acme").get("/api/schema/")
    assert response.status_code == 200
    for path in [
        b"/api/v1/devices/",
        b"/api/v1/members/{id}/biometrics/",
        b"/api/device/v1/templates/",
        b"/api/device/v1/clock/",
        b"deviceKey",
    ]:
        assert path in response.content
