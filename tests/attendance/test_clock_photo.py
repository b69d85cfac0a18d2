"""A photo at clock-in (ENT-4 with CON-5): the app's camera needs the account's camera device
permission — off by default, checked on every call so that a revocation is effective at once —
and the member's biometrics consent for attendance (CON-4). The photo is stored encrypted with the
member's key and purged with the raw location detail (RET-1 "raw coordinates")."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.utils import timezone

from attendance.models import ClockEvent, ClockEventPhoto
from attendance.services import PHOTO_FIELD
from consent.consents.services import consent_withdraw
from consent.models import ConsentRecord
from consent.permissions.services import device_permission_set
from core.encryption import decrypt_for_member
from tenants.context import enterprise_schema

CLOCK = "/api/v1/attendance/clock/"
PHOTO = b"\xff\xd8\xff\xe0" + b"a face at the door" * 50  # a JPEG's magic bytes


def clock(client, **extra):
    body = {
        "kind": "in",
        "source": "app",
        "latitude": 31.2305,
        "longitude": 121.4738,
        "photo": base64.b64encode(PHOTO).decode(),
        **extra,
    }
    if body["photo"] is None:  # no photo at all
        del body["photo"]
    return client.post(CLOCK, body, content_type="application/json")


def photos(world) -> int:
    with enterprise_schema(world.acme):
        return ClockEventPhoto.objects.filter(event__membership__account=world.bob).count()


def test_the_camera_permission_is_off_by_default_and_checked_every_time(world, client_for):
    client = client_for("acme", world.bob)
    refused = clock(client)
    assert (refused.status_code, refused.json()["code"], refused.json()["kind"]) == (
        403,
        "device_permission_required",
        "camera",
    )
    assert photos(world) == 0
    device_permission_set(account=world.bob, kind="camera", granted=True, channel="app")
    created = clock(client)
    assert created.status_code == 201, created.content
    with enterprise_schema(world.acme):
        stored = ClockEventPhoto.objects.get(event_id=created.json()["id"])
        event = ClockEvent.objects.get(pk=created.json()["id"])
    assert stored.content_type == "image/jpeg" and PHOTO not in bytes(stored.photo_encrypted)
    assert (
        decrypt_for_member(
            enterprise=world.acme,
            membership_id=event.membership_id,
            field=PHOTO_FIELD,
            blob=bytes(stored.photo_encrypted),
        )
        == PHOTO
    )
    device_permission_set(account=world.bob, kind="camera", granted=False, channel="app")
    assert clock(client).status_code == 403  # revoked: effective at once
    assert photos(world) == 1


def test_the_photo_needs_the_biometrics_consent_for_attendance(world, client_for):
    device_permission_set(account=world.bob, kind="camera", granted=True, channel="app")
    bob = world.membership(world.acme, world.bob)
    with enterprise_schema(world.acme):
        record = ConsentRecord.objects.get(
            membership=bob, category="biometrics", purpose="attendance", withdrawn_at__isnull=True
        )
    consent_withdraw(enterprise=world.acme, membership=bob, record_id=record.pk)
    refused = clock(client_for("acme", world.bob))
    assert (refused.status_code, refused.json()["code"], refused.json()["category"]) == (
        403,
        "consent_required",
        "biometrics",
    )
    assert photos(world) == 0
    # without a photo the clock-in itself still works (location consent is separate)
    assert clock(client_for("acme", world.bob), photo=None).status_code == 201


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"photo": "not base64!"}, "photo"),
        ({"photo": base64.b64encode(b"GIF89a nope").decode()}, "photo"),
        ({"photo": base64.b64encode(b"\xff\xd8\xff" + b"x" * (2 * 1024 * 1024)).decode()}, "photo"),
        ({"source": "wifi", "wifi_bssid": "00:11:22:aa:bb:cc"}, "photo"),
    ],
)
def test_bad_photos_are_refused_and_nothing_is_written(world, client_for, extra, field):
    device_permission_set(account=world.bob, kind="camera", granted=True, channel="app")
    with enterprise_schema(world.acme):
        events = ClockEvent.objects.count()
    response = clock(client_for("acme", world.bob), **extra)
    assert response.status_code == 400 and field in response.json(), response.content
    with enterprise_schema(world.acme):
        assert ClockEvent.objects.count() == events
    assert photos(world) == 0


def test_photos_are_purged_with_the_raw_location_detail(world, client_for):
    from retention.services.purge import purge_run

    device_permission_set(account=world.bob, kind="camera", granted=True, channel="app")
    old, recent = clock(client_for("acme", world.bob)).json()["id"], None
    with enterprise_schema(world.acme):
        ClockEventPhoto.objects.filter(event_id=old).update(created_at=timezone.now() - timedelta(days=400))
    recent = clock(client_for("acme", world.bob), kind="out").json()["id"]
    purge_run(enterprise=world.acme)
    with enterprise_schema(world.acme):
        left = set(ClockEventPhoto.objects.values_list("event_id", flat=True))
    assert old not in left and recent in left
