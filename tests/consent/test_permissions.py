"""Device permissions (CON-5): off by default, every grant and revocation recorded with time and
channel, a revocation effective at once (contact matching, ENT-7), bad input refused, and each
account sees only its own."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from django.core.exceptions import ValidationError

from accounts.models import User
from consent.models.platform import DevicePermission, DevicePermissionEvent
from consent.permissions.selectors import device_permission_granted, device_permission_history, device_permissions_for
from consent.permissions.services import device_permission_set

API = "/api/v1/me/permissions/"
PAGE = "/account/permissions/"
MATCH = "/api/v1/contacts/match/"
KINDS = ["camera", "microphone", "calendar", "contacts"]


def counts() -> tuple[int, int]:
    return DevicePermission.objects.count(), DevicePermissionEvent.objects.count()


@pytest.fixture
def newcomer(db):
    return User.objects.create_user("+8613700000042", "a-long-pass-42", nickname="Newcomer")


def test_permissions_are_off_by_default_for_a_new_account(newcomer):
    assert [(p.kind, p.granted, p.changed_at) for p in device_permissions_for(account=newcomer)] == [
        (kind, False, None) for kind in KINDS
    ]
    assert not any(device_permission_granted(account=newcomer, kind=kind) for kind in KINDS)
    assert device_permission_history(account=newcomer) == []


def test_grant_and_revoke_are_recorded_with_time_and_channel(newcomer):
    assert device_permission_set(account=newcomer, kind="camera", granted=True, channel="web") is True
    assert device_permission_granted(account=newcomer, kind="camera")
    assert device_permission_set(account=newcomer, kind="camera", granted=False, channel="app") is True
    assert not device_permission_granted(account=newcomer, kind="camera")
    events = device_permission_history(account=newcomer)
    assert [(e.kind, e.action, e.channel) for e in events] == [("camera", "revoke", "app"), ("camera", "grant", "web")]
    assert events[0].at >= events[1].at
    row = DevicePermission.objects.get(account=newcomer, kind="camera")
    assert (row.granted, row.changed_at) == (False, events[0].at)


def test_setting_the_current_state_records_nothing(newcomer):
    assert device_permission_set(account=newcomer, kind="calendar", granted=False, channel="web") is False
    assert not DevicePermission.objects.filter(account=newcomer).exists()
    assert device_permission_history(account=newcomer) == []
    device_permission_set(account=newcomer, kind="calendar", granted=True, channel="web")
    before = counts()
    assert device_permission_set(account=newcomer, kind="calendar", granted=True, channel="api") is False
    assert counts() == before


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"kind": "location", "granted": True, "channel": "web"}, "kind"),
        ({"kind": "camera", "granted": True, "channel": "fax"}, "channel"),
        ({"kind": "camera", "granted": "yes", "channel": "web"}, "granted"),
    ],
)
def test_service_refuses_bad_input_with_field_errors(newcomer, args, field):
    before = counts()
    with pytest.raises(ValidationError) as caught:
        device_permission_set(account=newcomer, **args)
    assert field in caught.value.message_dict
    assert counts() == before


# --- the public page ---------------------------------------------------------------------------


def test_page_needs_sign_in(client_for):
    assert client_for("public").get(PAGE)["Location"].startswith("/login/")


def test_page_shows_toggles_and_history_and_records_channel_web(world, client_for):
    client = client_for("public", world.oscar)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert b"Contacts" in page.content and b"No permission has been granted" in page.content
    response = client.post(PAGE, {"kind": "contacts", "granted": "1"})
    assert (response.status_code, response["Location"]) == (302, PAGE)
    assert device_permission_granted(account=world.oscar, kind="contacts")
    event = DevicePermissionEvent.objects.get(account=world.oscar)
    assert (event.kind, event.action, event.channel) == ("contacts", "grant", "web")
    assert b"Granted" in client.get(PAGE).content
    client.post(PAGE, {"kind": "contacts", "granted": "0"})
    assert not device_permission_granted(account=world.oscar, kind="contacts")


@pytest.mark.parametrize("data", [{"kind": "location", "granted": "1"}, {"kind": "camera", "granted": "maybe"}, {}])
def test_page_refuses_bad_input_with_400_and_changes_nothing(world, client_for, data):
    before = counts()
    response = client_for("public", world.oscar).post(PAGE, data)
    assert response.status_code == 400
    assert response.context["form"].errors
    assert counts() == before


# --- the API on enterprise hosts -----------------------------------------------------------------


def test_api_lists_the_callers_permissions_off_by_default(world, client_for):
    body = client_for("acme", world.bob).get(API).json()
    assert [(p["kind"], p["granted"]) for p in body["permissions"]] == [(kind, False) for kind in KINDS]
    assert body["history"] == []


def test_api_post_records_channel_api(world, client_for):
    client = client_for("acme", world.bob)
    response = client.post(API, {"kind": "microphone", "granted": True}, content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert {p["kind"]: p["granted"] for p in body["permissions"]}["microphone"] is True
    assert [(e["kind"], e["action"], e["channel"]) for e in body["history"]] == [("microphone", "grant", "api")]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "location", "granted": True}, "kind"),
        ({"kind": "camera"}, "granted"),
        ({"granted": True}, "kind"),
    ],
)
def test_api_refuses_bad_input_with_field_errors_and_changes_nothing(world, client_for, data, field):
    before = counts()
    response = client_for("acme", world.bob).post(API, data, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()
    assert counts() == before


def test_one_accounts_permissions_are_invisible_to_another(world, client_for):
    device_permission_set(account=world.bob, kind="camera", granted=True, channel="app")
    erin = client_for("acme", world.erin).get(API).json()
    assert not any(p["granted"] for p in erin["permissions"]) and erin["history"] == []
    # Dana's grant on acme is hers on globex too (the permission belongs to the account) and
    # nobody else's there.
    client_for("acme", world.dana).post(API, {"kind": "calendar", "granted": True}, content_type="application/json")
    dana_globex = client_for("globex", world.dana).get(API).json()
    assert [e["kind"] for e in dana_globex["history"]] == ["calendar"]
    gus = client_for("globex", world.gus).get(API).json()
    assert gus["history"] == [] and not any(p["granted"] for p in gus["permissions"])


@pytest.mark.parametrize(
    ("host", "persona", "status"),
    [("acme", None, 403), ("acme", "oscar", 403), ("acme", "greg", 403), ("initech", "ivan", 403)],
)
def test_api_refuses_non_members(world, client_for, host, persona, status):
    user = getattr(world, persona) if persona else None
    assert client_for(host, user).get(API).status_code == status
    assert (
        client_for(host, user)
        .post(API, {"kind": "camera", "granted": True}, content_type="application/json")
        .status_code
        == status
    )


@pytest.mark.parametrize("n", [5, 50])
def test_api_list_runs_a_constant_number_of_queries(world, client_for, django_assert_num_queries, n):
    for i in range(n):
        device_permission_set(account=world.bob, kind=KINDS[i % 4], granted=(i // 4) % 2 == 0, channel="app")
    client = client_for("acme", world.bob)
    # 1 SET search_path public, 2 domain, 3 SET search_path acme, 4 session, 5 account,
    # 6 membership, 7 current permissions, 8 history
    with django_assert_num_queries(8):
        body = client.get(API).json()
    assert len(body["history"]) == n


# --- revocation takes effect at once --------------------------------------------------------------


def test_contact_matching_works_with_the_permission_and_is_refused_right_after_revocation(world, client_for):
    client = client_for("acme", world.bob)
    salt = client.get("/api/v1/contacts/salt/").json()["salt"]
    erin = hmac.new(salt.encode(), b"+8613900000005", hashlib.sha256).hexdigest()
    refused = client.post(MATCH, {"hashes": [erin]}, content_type="application/json")
    assert (refused.status_code, refused.json()["code"], refused.json()["kind"]) == (
        403,
        "device_permission_required",
        "contacts",
    )
    client.post(API, {"kind": "contacts", "granted": True}, content_type="application/json")
    assert client.post(MATCH, {"hashes": [erin]}, content_type="application/json").json() == {"matches": [erin]}
    client.post(API, {"kind": "contacts", "granted": False}, content_type="application/json")
    refused = client.post(MATCH, {"hashes": [erin]}, content_type="application/json")
    assert (refused.status_code, refused.json()["code"]) == (403, "device_permission_required")
    # another account's grant does not help Bob
    device_permission_set(account=world.erin, kind="contacts", granted=True, channel="app")
    assert client.post(MATCH, {"hashes": [erin]}, content_type="application/json").status_code == 403


def test_openapi_schema_lists_the_permissions_endpoint(client_for):
    schema = client_for("acme").get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    assert API in schema.json()["paths"]
