"""Terminating an enterprise (TEN-4, RET-6): notice of at least 30 days, members notified, the host
read-only during the notice, cancellable; then the key is destroyed, the schema dropped and a
receipt kept in public — and no other enterprise is touched."""

from __future__ import annotations

import shutil
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from accounts.models import User
from consent.models import Notification
from core.encryption import KeyUnavailable, _derive_enterprise_key, _wrap_aad, encrypt_for_member, enterprise_key
from core.models import MemberDataKey, Membership
from core.services import enterprise_create, membership_create
from retention.services.termination import (
    enterprise_termination_cancel,
    enterprise_termination_execute,
    enterprise_termination_start,
)
from retention.tasks import terminations_execute_due
from tenants.context import enterprise_schema
from tenants.crypto import unseal
from tenants.models import Enterprise, EnterpriseKey, MembershipIndex, TerminationReceipt
from tests.conftest import PASSWORD


@pytest.fixture
def closing(world):
    """A small enterprise of its own (created in the test's transaction, so its schema goes too)."""
    owner = User.objects.create_user("+8613900000091", PASSWORD, nickname="Closing Owner")
    enterprise = enterprise_create(name="Closing Co", slug="closing", owner=owner)
    member = membership_create(enterprise=enterprise, account=world.dana, role=Membership.Role.MEMBER)
    connection.set_schema_to_public()
    return enterprise, owner, member


def schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT schema_name FROM information_schema.schemata")
        return {row[0] for row in cursor.fetchall()}


def test_notice_is_at_least_30_days_and_needs_a_reason(closing):
    enterprise, _owner, _member = closing
    for kwargs, field in (({"reason": "x", "notice_days": 29}, "notice_days"), ({"reason": " "}, "reason")):
        with pytest.raises(ValidationError) as caught:
            enterprise_termination_start(enterprise=enterprise, **kwargs)
        assert field in caught.value.error_dict
    enterprise.refresh_from_db()
    assert enterprise.state == "active" and enterprise.termination_effective_at is None


def test_notice_notifies_members_and_makes_the_host_read_only(closing, client_for, world):
    enterprise, owner, _member = closing
    enterprise_termination_start(enterprise=enterprise, reason="Contract ended")
    enterprise.refresh_from_db()
    assert enterprise.state == "terminating"
    assert timedelta(days=29, hours=23) < enterprise.termination_effective_at - timezone.now() <= timedelta(days=30)
    told = set(
        Notification.objects.filter(kind="termination", enterprise_id=enterprise.pk).values_list(
            "account_id", flat=True
        )
    )
    assert told == {owner.pk, world.dana.pk}

    client = client_for("closing.localhost", world.dana)
    page = client.get("/me/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and b'id="closing-notice"' in page.content  # still readable
    assert client.get("/api/v1/me/").status_code == 200
    refused = client.post(
        "/api/v1/me/consents/", {"category": "health", "purpose": "health_monitoring"}, content_type="application/json"
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "enterprise_read_only")
    assert client.post("/me/health/", {"city": "Shanghai"}).status_code == 403
    exported = client.post("/api/v1/me/exports/", content_type="application/json")
    assert exported.status_code == 201  # a copy of one's data can still be made (TEN-4)
    assert client.post("/logout/").status_code == 302  # signing out still works


def test_cancel_during_the_notice(closing):
    enterprise, _owner, _member = closing
    enterprise_termination_start(enterprise=enterprise, reason="Contract ended")
    enterprise_termination_cancel(enterprise=enterprise)
    enterprise.refresh_from_db()
    assert (enterprise.state, enterprise.termination_effective_at) == ("active", None)
    with pytest.raises(ValidationError):
        enterprise_termination_cancel(enterprise=enterprise)


def test_execution_destroys_the_key_drops_the_schema_and_keeps_a_receipt(closing, world, client_for):
    enterprise, _owner, member = closing
    blob = encrypt_for_member(
        enterprise=enterprise, membership_id=member.pk, field="id_number", value="11010519491231002X"
    )
    with enterprise_schema(enterprise):
        wrapped = bytes(MemberDataKey.objects.get(membership_id=member.pk).wrapped_key)
    enterprise_termination_start(enterprise=enterprise, reason="Contract ended")
    dana = client_for("closing.localhost", world.dana)  # signed in while it still exists
    with pytest.raises(ValidationError):  # not before the notice has run out
        enterprise_termination_execute(enterprise=enterprise)
    assert "closing" in schemas()

    Enterprise.objects.filter(pk=enterprise.pk).update(termination_effective_at=timezone.now() - timedelta(minutes=1))
    acme_members = MembershipIndex.objects.filter(enterprise=world.acme).count()
    assert terminations_execute_due.apply().get() == ["closing"]

    enterprise.refresh_from_db()
    assert enterprise.state == "terminated" and "closing" not in schemas()
    assert not MembershipIndex.objects.filter(enterprise=enterprise).exists()
    receipt = TerminationReceipt.objects.get(enterprise_id=enterprise.pk)
    assert (receipt.slug, receipt.members, receipt.key_destroyed, receipt.schema_dropped) == ("closing", 2, True, True)
    # unreadable for good, backups included: the enterprise key that wrapped the member's key
    # (kept in a backup with the ciphertext) can never be derived again
    with pytest.raises(KeyUnavailable):
        enterprise_key(enterprise)
    salt_now = bytes(EnterpriseKey.objects.get(enterprise=enterprise).salt)
    with pytest.raises(KeyUnavailable):  # whatever is derived from what is left opens nothing
        unseal(_derive_enterprise_key(enterprise.schema_name, salt_now), wrapped, aad=_wrap_aad(enterprise, member.pk))
    assert blob
    assert dana.get("/me/").status_code == 410
    # the others are untouched
    assert {"acme", "globex"} <= schemas()
    assert MembershipIndex.objects.filter(enterprise=world.acme).count() == acme_members
    with enterprise_schema(world.acme):
        assert Membership.objects.filter(account=world.dana).exists()
    assert terminations_execute_due.apply().get() == []  # nothing twice


def test_execution_deletes_the_enterprises_files_and_no_others(closing, world, django_capture_on_commit_callbacks):
    """Member photos and exports are files under MEDIA_ROOT/<schema>/ (TEN-5): they go with the
    schema, once the termination is committed; another enterprise's folder stays."""
    enterprise, _owner, _member = closing
    with enterprise_schema(enterprise):
        folder = Path(default_storage.location)
        photo = default_storage.save("members/photos/closing.png", ContentFile(b"\x89PNG\r\n\x1a\n photo"))
    with enterprise_schema(world.acme):
        acme_file = Path(default_storage.path(default_storage.save("termination/keep.txt", ContentFile(b"acme"))))
    try:
        assert folder.name == "closing" and (folder / photo).exists()
        enterprise_termination_start(enterprise=enterprise, reason="Contract ended")
        Enterprise.objects.filter(pk=enterprise.pk).update(termination_effective_at=timezone.now() - timedelta(1))
        with django_capture_on_commit_callbacks(execute=True):
            enterprise_termination_execute(enterprise=enterprise)
        assert not folder.exists()
        assert acme_file.read_bytes() == b"acme"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        acme_file.unlink(missing_ok=True)
        acme_file.parent.rmdir()


def test_operators_give_notice_from_the_admin(closing, client_for, world):
    enterprise, _owner, _member = closing
    client = client_for("public", world.olga)
    client.post(
        "/admin/tenants/enterprise/", {"action": "give_termination_notice", "_selected_action": [enterprise.pk]}
    )
    enterprise.refresh_from_db()
    assert enterprise.state == "terminating"
    assert client.get("/admin/tenants/terminationreceipt/").status_code == 200


def test_the_admin_names_the_local_day_the_notice_closes_on(closing, client_for, world):
    """At 02:00 in Shanghai it is still the day before in UTC: the message names the local day."""
    enterprise, _owner, _member = closing
    client = client_for("public", world.olga)
    early = datetime.combine(timezone.localdate(), time(2, 0), tzinfo=timezone.get_default_timezone())
    with time_machine.travel(early, tick=True):
        page = client.post(
            "/admin/tenants/enterprise/",
            {"action": "give_termination_notice", "_selected_action": [enterprise.pk]},
            follow=True,
        )
        enterprise.refresh_from_db()
        closes = timezone.localdate(enterprise.termination_effective_at)
    assert closes == (early + timedelta(days=30)).date()
    assert f"notice given; it closes on {closes.isoformat()}." in page.content.decode()
