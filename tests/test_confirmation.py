"""Issue 16 §1 (UI-4): a destructive action without confirmation does nothing.

For EACH destructive POST of the console and the /me/ pages: a POST without `confirmed=yes`
leaves the database as it was (asserted in the database) and answers 200 with a confirmation
page that names what will happen and re-posts the same fields with confirmed=yes; posting that
page's form acts as before. The JSON API keeps its semantics (tests of each feature)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection

from attendance.models import Geofence
from attendance.services import geofence_create
from biometrics.models import BiometricTemplate, Device
from biometrics.services import device_register, template_enroll
from consent.consents.services import legal_basis_record
from consent.models import ConsentRecord, EnterpriseNotice
from core.models import Department, Membership
from directory.org import department_create, scope_grant
from invitations.models import Invitation
from invitations.services import invitation_create_by_mobile
from requests.models import Request
from requests.workflow.services import request_submit
from tenants.categories import Category
from tenants.context import enterprise_schema


@dataclass
class Case:
    user: str  # the persona who acts
    path: str
    data: dict[str, Any]
    state: Callable[[], Any]  # what the action changes, read from the database
    message: str  # part of the confirmation page's text
    done: int = 302


def _in_acme(world, read: Callable[[], Any]) -> Callable[[], Any]:
    def state() -> Any:
        with enterprise_schema(world.acme):
            value = read()
        connection.set_schema_to_public()
        return value

    return state


def _alice(world) -> Membership:
    return world.membership(world.acme, world.alice)


def device_revoke(world) -> Case:
    device, _key = device_register(
        enterprise=world.acme, actor=None, name="Side door", kind="door_controller", purpose="door_access"
    )
    state = _in_acme(world, lambda: Device.objects.get(pk=device.pk).revoked_at)
    return Case("alice", f"/console/biometrics/devices/{device.pk}/revoke/", {}, state, "Side door")


def _template(world) -> BiometricTemplate:
    return template_enroll(
        enterprise=world.acme,
        actor=_alice(world),
        membership=world.membership(world.acme, world.bob),
        modality="face",
        purpose="attendance",
        template=b"TEMPLATE",
    )


def template_revoke(world) -> Case:
    template = _template(world)
    state = _in_acme(world, lambda: BiometricTemplate.objects.get(pk=template.pk).revoked_at)
    return Case("alice", f"/console/biometrics/templates/{template.pk}/revoke/", {}, state, "Revoke this template")


def template_delete(world) -> Case:
    template = _template(world)
    state = _in_acme(world, lambda: BiometricTemplate.objects.filter(pk=template.pk).exists())
    return Case("alice", f"/console/biometrics/templates/{template.pk}/delete/", {}, state, "Delete this template")


def department_delete(world) -> Case:
    department = department_create(enterprise=world.acme, actor=None, name="Temporary Team")
    state = _in_acme(world, lambda: Department.objects.filter(pk=department.pk).exists())
    return Case(
        "alice", f"/console/org/departments/{department.pk}/delete/", {}, state, "Delete the department Temporary Team"
    )


def scope_revoke(world) -> Case:
    erin = world.membership(world.acme, world.erin)
    scope_grant(
        enterprise=world.acme, actor=None, admin=erin, department=world.engineering, categories=[Category.DIRECTORY]
    )

    def read() -> Any:
        from guardian.models import UserObjectPermission

        return sorted(
            UserObjectPermission.objects.filter(user=world.erin).values_list("permission__codename", "object_pk")
        )

    state = _in_acme(world, read)

    data = {"department": str(world.engineering.pk), "categories": [Category.DIRECTORY], "revoke": "1"}
    return Case("alice", f"/console/members/{erin.pk}/scopes/", data, state, "back from Erin")


def invitation_revoke(world) -> Case:
    invitation = invitation_create_by_mobile(
        enterprise=world.acme, actor=_alice(world), mobile="+8613700009071", display_name="Nina New"
    )
    connection.set_schema_to_public()
    state = _in_acme(world, lambda: Invitation.objects.get(pk=invitation.pk).status)
    return Case("alice", f"/console/invitations/{invitation.pk}/revoke/", {}, state, "Revoke this invitation")


def geofence_delete(world) -> Case:
    fence = geofence_create(
        enterprise=world.acme, actor=None, name="Warehouse", latitude=31.2, longitude=121.4, radius_m=150
    )
    connection.set_schema_to_public()
    state = _in_acme(world, lambda: Geofence.objects.filter(pk=fence.pk).exists())
    return Case(
        "alice", f"/console/attendance/geofences/{fence.pk}/delete/", {}, state, "Delete the geofence Warehouse"
    )


def legal_basis_end(world) -> Case:
    record = legal_basis_record(
        enterprise=world.acme,
        actor=_alice(world),
        member_id=world.membership(world.acme, world.bob).pk,
        category="health",
        purpose="health_monitoring",
        basis="legal_obligation",
        reason="Epidemic reporting required by the city.",
    )
    connection.set_schema_to_public()
    state = _in_acme(world, lambda: ConsentRecord.objects.get(pk=record.pk).withdrawn_at)
    return Case("alice", f"/console/consents/legal-bases/{record.pk}/end/", {}, state, "End this legal basis")


def notice_discard(world) -> Case:
    def state() -> Any:
        with enterprise_schema(world.acme):
            value = list(EnterpriseNotice.objects.order_by("version").values_list("version", "status"))
        connection.set_schema_to_public()
        return value

    return Case("amy", "/console/notices/draft/discard/", {}, state, "Discard the draft notice", done=302)


def consent_withdraw(world) -> Case:
    bob = world.membership(world.acme, world.bob)
    with enterprise_schema(world.acme):
        record = ConsentRecord.objects.get(
            membership=bob, category="health", purpose="health_monitoring", basis="consent", withdrawn_at__isnull=True
        )
    connection.set_schema_to_public()
    state = _in_acme(world, lambda: ConsentRecord.objects.get(pk=record.pk).withdrawn_at)
    return Case("bob", f"/me/consents/{record.pk}/withdraw/", {}, state, "Withdraw")


def request_cancel(world) -> Case:
    row = request_submit(
        enterprise=world.acme,
        account=world.bob,
        membership=world.membership(world.acme, world.bob),
        kind="complaint",
        category="health",
        description="Please check this.",
    )
    connection.set_schema_to_public()
    state = _in_acme(world, lambda: Request.objects.get(pk=row.pk).status)
    return Case("bob", f"/me/requests/{row.pk}/", {"action": "cancel"}, state, f"Cancel request #{row.pk}")


CASES = [
    device_revoke,
    template_revoke,
    template_delete,
    department_delete,
    scope_revoke,
    invitation_revoke,
    geofence_delete,
    legal_basis_end,
    notice_discard,
    consent_withdraw,
    request_cancel,
]


def _resent_fields(html: str) -> list[tuple[str, str]]:
    form = re.search(r'<form method="post"[^>]*id="confirm-form"[^>]*>(.*?)</form>', html, re.S)
    assert form is not None
    return re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(1))


@pytest.mark.parametrize("make", CASES, ids=[make.__name__ for make in CASES])
def test_a_destructive_post_without_confirmation_changes_nothing(world, client_for, make):
    case = make(world)
    client = client_for("acme", getattr(world, case.user))
    if make is notice_discard:
        from tests.consent.test_console_notices import draft_post

        assert client.post("/console/notices/draft/", draft_post()).status_code == 302
    before = case.state()
    page = client.post(case.path, case.data, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert case.state() == before  # nothing changed
    html = page.content.decode()
    assert case.message in html.replace("&#x27;", "'").replace("&quot;", '"')
    fields = _resent_fields(html)
    assert ("confirmed", "yes") in fields
    sent = {
        (name, str(value))
        for name, values in case.data.items()
        for value in (values if isinstance(values, list) else [values])
    }
    assert sent <= set(fields)  # the same fields again
    # posting the page's form (what the button sends) acts as before
    resent: dict[str, list[str]] = {}
    for name, value in fields:
        if name != "csrfmiddlewaretoken":
            resent.setdefault(name, []).append(value)
    done = client.post(case.path, resent)
    assert done.status_code == case.done
    assert case.state() != before


@pytest.mark.parametrize("make", CASES, ids=[make.__name__ for make in CASES])
def test_only_the_word_yes_confirms(world, client_for, make):
    case = make(world)
    client = client_for("acme", getattr(world, case.user))
    if make is notice_discard:
        from tests.consent.test_console_notices import draft_post

        client.post("/console/notices/draft/", draft_post())
    before = case.state()
    for confirmed in ("", "no", "YES ", "1"):
        assert client.post(case.path, {**case.data, "confirmed": confirmed}).status_code == 200
    assert case.state() == before


def test_the_console_forms_ask_first_with_javascript(world, client_for):
    """The forms carry data-confirm (static/js/portal.js opens the <dialog>; no inline script)."""
    client = client_for("acme", world.alice)
    department_create(enterprise=world.acme, actor=None, name="Temporary Team")
    org = client.get("/console/org/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r'<form method="post" action="[^"]+" data-confirm="Delete the department Temporary Team\?', org)
    assert 'id="confirm-dialog"' in org and "onclick" not in org
    erin = world.membership(world.acme, world.erin)
    detail = client.get(f"/console/members/{erin.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert re.search(r'name="revoke" value="1" data-confirm="确定收回', detail)
