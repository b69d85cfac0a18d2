"""Invitations (ENT-3, ACC-3): services, the console pages and the admin API."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import sms
from accounts.models import User
from consent.inbox.delivery import deliveries_pending_send
from core.models import Membership
from invitations.models import Invitation
from invitations.services import (
    invitation_accept,
    invitation_create_by_mobile,
    invitation_create_link,
    invitation_decline,
    invitation_revoke,
)
from ledger.models import LedgerEntry
from tenants.context import enterprise_schema
from tenants.models import InvitationIndex, MembershipIndex

NEW_MOBILE = "+8613700009001"


def counts(enterprise) -> tuple[int, int, int, int]:
    """(cards, invitations, ledger entries, public index rows) of `enterprise`."""
    with enterprise_schema(enterprise):
        result = (
            Membership.objects.count(),
            Invitation.objects.count(),
            LedgerEntry.objects.count(),
            InvitationIndex.objects.filter(enterprise=enterprise).count(),
        )
    connection.set_schema_to_public()
    return result


def invite(world, mobile: str = NEW_MOBILE, *, actor_user=None, **kwargs) -> Invitation:
    actor = world.membership(world.acme, actor_user or world.alice)
    invitation = invitation_create_by_mobile(
        enterprise=world.acme,
        actor=actor,
        mobile=mobile,
        display_name=kwargs.pop("display_name", "New Person"),
        **kwargs,
    )
    connection.set_schema_to_public()
    return invitation


def expire(world, invitation: Invitation) -> None:
    with enterprise_schema(world.acme):
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        invitation.refresh_from_db()
    connection.set_schema_to_public()


# --- services ----------------------------------------------------------------------------------


def test_invite_by_mobile_creates_card_invitation_index_and_one_ledger_entry(world, django_capture_on_commit_callbacks):
    before = counts(world.acme)
    sms.outbox.clear()
    with django_capture_on_commit_callbacks() as scheduled:  # the SMS goes out after the commit
        invitation = invite(world, "137 0000 9001", role="member", days_valid=3)
    assert len(scheduled) == 1 and not sms.outbox
    deliveries_pending_send()  # what the Celery task (sent by that callback) does
    assert counts(world.acme) == (before[0] + 1, before[1] + 1, before[2] + 1, before[3] + 1)
    with enterprise_schema(world.acme):
        card = Membership.objects.get(pk=invitation.membership_id)
        entry = LedgerEntry.objects.order_by("-id").first()
    assert (card.status, card.account_id, card.mobile, card.display_name) == ("invited", None, NEW_MOBILE, "New Person")
    assert invitation.mobile == NEW_MOBILE and invitation.kind == "mobile" and invitation.status == "pending"
    assert timedelta(days=2, hours=23) < invitation.expires_at - timezone.now() <= timedelta(days=3)
    assert (entry.action, entry.category, entry.subject_membership_id) == ("invite", "directory", card.pk)
    assert NEW_MOBILE not in str(entry.details)  # field names only, never the number
    index = InvitationIndex.objects.get(enterprise=world.acme, invitation_id=invitation.pk)
    assert index.mobile == NEW_MOBILE and index.expires_at == invitation.expires_at
    assert [m.mobile for m in sms.outbox] == [NEW_MOBILE] and "Acme Test" in sms.outbox[0].text


@pytest.mark.parametrize(
    ("mobile", "name", "role", "days", "field"),
    [
        ("12345", "X", "member", 7, "mobile"),
        ("", "X", "member", 7, "mobile"),
        (NEW_MOBILE, "", "member", 7, "display_name"),
        (NEW_MOBILE, "X", "owner", 7, "role"),
        (NEW_MOBILE, "X", "member", 0, "days_valid"),
        (NEW_MOBILE, "X", "member", 31, "days_valid"),
    ],
)
def test_invalid_invitations_are_refused_and_write_nothing(world, mobile, name, role, days, field):
    before = counts(world.acme)
    with pytest.raises(ValidationError) as raised:
        invite(world, mobile, display_name=name, role=role, days_valid=days)
    assert field in raised.value.message_dict
    assert counts(world.acme) == before


@pytest.mark.parametrize("mobile", ["13900000003", "+8613900000003"])
def test_inviting_an_active_member_is_refused(world, mobile):
    before = counts(world.acme)
    with pytest.raises(ValidationError) as raised:
        invite(world, mobile)
    assert "already has this mobile number" in raised.value.message_dict["mobile"][0]
    assert counts(world.acme) == before


def test_a_second_invitation_to_a_pending_number_is_refused(world):
    invite(world)
    before = counts(world.acme)
    with pytest.raises(ValidationError) as raised:
        invite(world, "13700009001")
    assert "pending invitation" in raised.value.message_dict["mobile"][0]
    assert counts(world.acme) == before


def test_an_expired_invitation_is_replaced_by_a_new_one(world):
    old = invite(world)
    expire(world, old)
    new = invite(world)
    with enterprise_schema(world.acme):
        old.refresh_from_db()
        assert old.status == "expired"
        assert Membership.objects.get(pk=old.membership_id).status == "left"
    assert list(InvitationIndex.objects.filter(mobile=NEW_MOBILE).values_list("invitation_id", flat=True)) == [new.pk]


def test_only_owner_and_full_admins_invite_administrators(world):
    with pytest.raises(ValidationError) as raised:
        invite(world, actor_user=world.sam, role="admin")
    assert "role" in raised.value.message_dict
    assert invite(world, actor_user=world.amy, role="admin").role == "admin"


def test_link_invitation_stores_only_the_tokens_hash(world):
    before = counts(world.acme)
    invitation, token = invitation_create_link(enterprise=world.acme, actor=world.membership(world.acme, world.amy))
    assert counts(world.acme)[:3] == (before[0] + 1, before[1] + 1, before[2] + 1)
    assert counts(world.acme)[3] == before[3]  # links are not in the public index
    assert len(token) >= 43
    with enterprise_schema(world.acme):
        stored = Invitation.objects.filter(pk=invitation.pk).values().get()
    assert stored["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(stored)


def test_accept_makes_the_card_the_accounts_membership(world):
    invitation = invite(world, world.oscar.mobile.as_e164, role="admin")
    with enterprise_schema(world.acme):
        ledger_before = LedgerEntry.objects.count()
    membership = invitation_accept(enterprise=world.acme, invitation=invitation, account=world.oscar)
    connection.set_schema_to_public()
    assert membership.pk == invitation.membership_id
    with enterprise_schema(world.acme):
        card = Membership.objects.get(pk=membership.pk)
        invitation.refresh_from_db()
        assert LedgerEntry.objects.count() == ledger_before  # the invitee's own act: no admin entry
    assert (card.account_id, card.status, card.role) == (world.oscar.pk, "active", "admin")
    assert card.joined_at is not None
    assert (invitation.status, invitation.accepted_account_id) == ("accepted", world.oscar.pk)
    assert not InvitationIndex.objects.filter(enterprise=world.acme, invitation_id=invitation.pk).exists()
    assert MembershipIndex.objects.get(account=world.oscar, enterprise=world.acme).role == "admin"


def test_accepted_invitee_signs_in_on_the_enterprise_host_and_sees_me(world, client):
    from django.test import Client

    from tests.conftest import PASSWORD

    invitation = invite(world, "13900000041", display_name="Oscar In Acme")
    client = Client(HTTP_HOST="acme.localhost")
    assert client.post("/login/", {"username": "13900000041", "password": PASSWORD}).status_code == 200  # not yet
    invitation_accept(enterprise=world.acme, invitation=invitation, account=world.oscar)
    connection.set_schema_to_public()
    response = client.post("/login/", {"username": "13900000041", "password": PASSWORD})
    assert response.status_code == 302
    page = client.get("/me/")
    assert page.status_code == 200 and b"Oscar In Acme" in page.content


def test_wrong_account_cannot_accept_or_decline_and_nothing_changes(world):
    invitation = invite(world, world.oscar.mobile.as_e164)
    before = counts(world.acme)
    for answer in (invitation_accept, invitation_decline):
        with pytest.raises(ValidationError) as raised:
            answer(enterprise=world.acme, invitation=invitation, account=world.gus)
        assert "another mobile number" in raised.value.message_dict["invitation"][0]
    connection.set_schema_to_public()
    assert counts(world.acme) == before
    with enterprise_schema(world.acme):
        invitation.refresh_from_db()
        assert invitation.status == "pending"
        assert Membership.objects.get(pk=invitation.membership_id).account_id is None
    assert not MembershipIndex.objects.filter(account=world.gus, enterprise=world.acme).exists()


def test_expired_invitation_cannot_be_accepted(world):
    invitation = invite(world, world.oscar.mobile.as_e164)
    expire(world, invitation)
    with pytest.raises(ValidationError) as raised:
        invitation_accept(enterprise=world.acme, invitation=invitation, account=world.oscar)
    assert "expired" in raised.value.message_dict["invitation"][0]
    connection.set_schema_to_public()
    assert not MembershipIndex.objects.filter(account=world.oscar, enterprise=world.acme).exists()


def test_an_existing_member_cannot_accept_a_link(world):
    invitation, _token = invitation_create_link(enterprise=world.acme, actor=None)
    with pytest.raises(ValidationError) as raised:
        invitation_accept(enterprise=world.acme, invitation=invitation, account=world.bob)
    assert "already a member" in raised.value.message_dict["invitation"][0]


def test_link_accepted_by_anyone_fills_the_card_from_the_account(world):
    invitation, _token = invitation_create_link(enterprise=world.acme, actor=None)
    card = invitation_accept(enterprise=world.acme, invitation=invitation, account=world.gus)
    assert (card.display_name, card.mobile) == ("Gus Member", world.gus.mobile.as_e164)
    with pytest.raises(ValidationError):  # used once
        invitation_accept(enterprise=world.acme, invitation=invitation, account=world.oscar)


def test_decline_closes_the_invitation_and_its_card(world):
    invitation = invite(world, world.oscar.mobile.as_e164)
    invitation_decline(enterprise=world.acme, invitation=invitation, account=world.oscar)
    with enterprise_schema(world.acme):
        invitation.refresh_from_db()
        card = Membership.objects.get(pk=invitation.membership_id)
    assert invitation.status == "declined" and invitation.responded_at is not None
    assert card.status == "left" and card.account_id is None
    assert not InvitationIndex.objects.filter(invitation_id=invitation.pk, enterprise=world.acme).exists()


def test_revoke_writes_one_ledger_entry_and_only_once(world):
    invitation = invite(world)
    before = counts(world.acme)
    amy = world.membership(world.acme, world.amy)
    invitation_revoke(enterprise=world.acme, actor=amy, invitation=invitation)
    after = counts(world.acme)
    assert after[2] == before[2] + 1 and after[3] == before[3] - 1
    with pytest.raises(ValidationError):
        invitation_revoke(enterprise=world.acme, actor=amy, invitation=invitation)
    assert counts(world.acme) == after
    with enterprise_schema(world.acme):
        entry = LedgerEntry.objects.order_by("-id").first()
    assert (entry.action, entry.object_id) == ("revoke", str(invitation.pk))


# --- console -----------------------------------------------------------------------------------


def test_console_list_for_allowed_and_refused_personas(world, client_for):
    invite(world)
    for user in (world.alice, world.amy, world.sam):
        response = client_for("acme", user).get("/console/invitations/")
        assert response.status_code == 200, user
        # ENT-8: the new card has no department; only the whole enterprise's directory admins see it
        assert (b"New Person" in response.content and b"137****9001" in response.content) == (user != world.sam)
        assert b"13700009001" not in response.content
        assert b"Erin Engineer" not in response.content
    assert client_for("acme", world.bob).get("/console/invitations/").status_code == 403
    assert client_for("acme", world.greg).get("/console/invitations/").status_code == 403
    assert client_for("globex", world.greg).get("/console/invitations/").status_code == 200
    assert b"New Person" not in client_for("globex", world.greg).get("/console/invitations/").content
    assert client_for("acme").get("/console/invitations/").status_code == 302


def test_console_nav_shows_invitations_to_directory_admins(world, client_for):
    assert b"/console/invitations/" in client_for("acme", world.sam).get("/console/").content


@pytest.mark.parametrize("rows", [5, 50])
def test_console_list_runs_a_constant_number_of_queries(world, client_for, django_assert_num_queries, rows):
    for i in range(rows):
        invite(world, f"+86137000{i:05d}", display_name=f"Invitee {i}")
    client = client_for("acme", world.alice)
    # 1 SET search_path public, 2 domain -> enterprise, 3 SET search_path acme, 4 session,
    # 5 account, 6 acting membership, 7 pending invitations joined with cards and inviters
    with django_assert_num_queries(9):  # +1: the app shell's header (UI-1)
        response = client.get("/console/invitations/")
    assert len(response.context["invitations"]) == rows


def test_console_invite_by_mobile(world, client_for):
    client = client_for("acme", world.amy)
    before = counts(world.acme)
    response = client.post(
        "/console/invitations/mobile/",
        {
            "mobile-mobile": "13900000003",
            "mobile-display_name": "Bob Again",
            "mobile-role": "member",
            "mobile-days_valid": "7",
        },
    )
    assert response.status_code == 400
    assert "already has this mobile number" in str(response.context["mobile_form"].errors["mobile"])
    response = client.post(
        "/console/invitations/mobile/",
        {"mobile-mobile": "", "mobile-display_name": "", "mobile-role": "root", "mobile-days_valid": "99"},
    )
    assert response.status_code == 400
    assert set(response.context["mobile_form"].errors) == {"mobile", "display_name", "role", "days_valid"}
    assert counts(world.acme) == before
    response = client.post(
        "/console/invitations/mobile/",
        {
            "mobile-mobile": "13700009001",
            "mobile-display_name": "New Person",
            "mobile-role": "member",
            "mobile-days_valid": "7",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/console/invitations/"
    assert counts(world.acme) == (before[0] + 1, before[1] + 1, before[2] + 1, before[3] + 1)
    assert client_for("acme", world.bob).post("/console/invitations/mobile/", {}).status_code == 403
    assert counts(world.acme)[1] == before[1] + 1


def test_console_create_link_shows_it_once(world, client_for):
    client = client_for("acme", world.alice)
    response = client.post(
        "/console/invitations/link/", {"link-display_name": "", "link-role": "member", "link-days_valid": "7"}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    url = response.context["url"]
    assert url.startswith("http://localhost/invitations/acme/")
    token = url.rstrip("/").rsplit("/", 1)[1]
    with enterprise_schema(world.acme):
        assert (
            Invitation.objects.get(pk=response.context["invitation"].pk).token_hash
            == hashlib.sha256(token.encode()).hexdigest()
        )
    connection.set_schema_to_public()
    assert token.encode() not in client.get("/console/invitations/").content
    response = client.post("/console/invitations/link/", {"link-role": "member", "link-days_valid": "0"})
    assert response.status_code == 400 and "days_valid" in response.context["link_form"].errors


def test_console_revoke(world, client_for):
    invitation = invite(world)
    assert (
        client_for("acme", world.bob)
        .post(f"/console/invitations/{invitation.pk}/revoke/", {"confirmed": "yes"})
        .status_code
        == 403
    )
    assert (
        client_for("acme", world.greg)
        .post(f"/console/invitations/{invitation.pk}/revoke/", {"confirmed": "yes"})
        .status_code
        == 403
    )
    sam = client_for("acme", world.sam)  # ENT-8: the card has no department, outside Sam's scope
    assert sam.post("/console/invitations/999999/revoke/", {"confirmed": "yes"}).status_code == 404
    assert sam.post(f"/console/invitations/{invitation.pk}/revoke/", {"confirmed": "yes"}).status_code == 404
    client = client_for("acme", world.amy)
    before = counts(world.acme)
    response = client.post(f"/console/invitations/{invitation.pk}/revoke/", {"confirmed": "yes"})
    assert response.status_code == 302
    assert counts(world.acme)[2] == before[2] + 1
    with enterprise_schema(world.acme):
        assert Invitation.objects.get(pk=invitation.pk).status == "revoked"


def test_scoped_admin_cannot_revoke_an_administrators_invitation(world, client_for):
    invitation = invite(world, role="admin")
    with enterprise_schema(world.acme):  # in Sam's scope, so that the role is what refuses
        invitation.membership.departments.add(world.sales)
    before = counts(world.acme)
    response = client_for("acme", world.sam).post(
        f"/console/invitations/{invitation.pk}/revoke/", {"confirmed": "yes"}, follow=True
    )
    assert b"Only the owner and full administrators" in response.content
    assert counts(world.acme) == before


# --- API ---------------------------------------------------------------------------------------


def test_api_list_for_allowed_and_refused_personas(world, client_for):
    invitation = invite(world)
    response = client_for("acme", world.amy).get("/api/v1/invitations/")
    assert response.status_code == 200
    assert response.json()[0]["id"] == invitation.pk
    assert response.json()[0]["mobile"] == "137****9001"
    assert response.json()[0]["status"] == "pending"
    assert client_for("acme", world.sam).get("/api/v1/invitations/").status_code == 200
    assert client_for("acme", world.bob).get("/api/v1/invitations/").status_code == 403
    assert client_for("acme", world.greg).get("/api/v1/invitations/").status_code == 403
    assert client_for("globex", world.greg).get("/api/v1/invitations/").json() == []
    assert client_for("acme").get("/api/v1/invitations/").status_code in (401, 403)


@pytest.mark.parametrize("rows", [5, 50])
def test_api_list_runs_a_constant_number_of_queries(world, client_for, rows):
    for i in range(rows):
        invite(world, f"+86137000{i:05d}", display_name=f"Invitee {i}")
    client = client_for("acme", world.alice)
    # 1 SET search_path public, 2 domain -> enterprise, 3 SET search_path acme, 4 session,
    # 5 account, 6 acting membership, 7 pending invitations joined with their cards
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/invitations/")
    assert len(response.json()) == rows
    assert len(queries) == 8


def test_api_invite_by_mobile_and_link(world, client_for):
    client = client_for("acme", world.amy)
    before = counts(world.acme)
    response = client.post(
        "/api/v1/invitations/",
        {"kind": "mobile", "mobile": "13700009001", "display_name": "New Person"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["mobile"] == "137****9001" and response.json()["link"] is None
    response = client.post("/api/v1/invitations/", {"kind": "link", "role": "admin"}, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["link"].startswith("http://localhost/invitations/acme/")
    assert response["Cache-Control"] == "no-store"
    after = counts(world.acme)
    assert (after[1], after[2]) == (before[1] + 2, before[2] + 2)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "mobile"}, "mobile"),
        ({"kind": "mobile", "mobile": "12345", "display_name": "X"}, "mobile"),
        ({"kind": "mobile", "mobile": "13900000003", "display_name": "X"}, "mobile"),
        ({"kind": "mobile", "mobile": "13700009001", "display_name": ""}, "display_name"),
        ({"kind": "email"}, "kind"),
        ({"kind": "link", "role": "owner"}, "role"),
        ({"kind": "link", "days_valid": 0}, "days_valid"),
    ],
)
def test_api_invalid_input_is_400_with_field_errors_and_writes_nothing(world, client_for, body, field):
    before = counts(world.acme)
    response = client_for("acme", world.amy).post("/api/v1/invitations/", body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()
    assert counts(world.acme) == before


def test_api_revoke(world, client_for):
    invitation = invite(world)
    assert client_for("acme", world.bob).post(f"/api/v1/invitations/{invitation.pk}/revoke/").status_code == 403
    before = counts(world.acme)
    response = client_for("acme", world.amy).post(f"/api/v1/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    assert counts(world.acme)[2] == before[2] + 1
    response = client_for("acme", world.amy).post(f"/api/v1/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 400 and "invitation" in response.json()
    assert counts(world.acme)[2] == before[2] + 1


def test_another_enterprises_admin_cannot_revoke_acmes_invitation(world, client_for):
    invitation = invite(world)
    with enterprise_schema(world.globex):
        assert not Invitation.objects.filter(pk=invitation.pk).exists()
    connection.set_schema_to_public()
    globex = client_for("globex", world.greg)
    assert globex.post(f"/api/v1/invitations/{invitation.pk}/revoke/").status_code == 404
    assert globex.post(f"/console/invitations/{invitation.pk}/revoke/", {"confirmed": "yes"}).status_code == 404
    assert client_for("acme", world.greg).post(f"/api/v1/invitations/{invitation.pk}/revoke/").status_code == 403
    with enterprise_schema(world.acme):
        assert Invitation.objects.get(pk=invitation.pk).status == "pending"


def test_openapi_schema_lists_the_invitation_endpoints(client_for):
    content = client_for("acme").get("/api/schema/").content
    assert b"/api/v1/invitations/" in content and b"/api/v1/invitations/{id}/revoke/" in content


def test_user_is_not_created_by_an_invitation(world):
    count = User.objects.count()
    invite(world)
    assert User.objects.count() == count


def invited_card(world, name: str, department=None) -> Membership:
    with enterprise_schema(world.acme):
        card = Membership.objects.create(status="invited", display_name=name)
        if department is not None:
            card.departments.add(department)
    connection.set_schema_to_public()
    return card


def test_a_link_for_an_existing_invited_card(world):
    card = invited_card(world, "Card Without Mobile")
    before = counts(world.acme)
    invitation, _token = invitation_create_link(enterprise=world.acme, actor=None, membership=card)
    assert invitation.membership_id == card.pk
    assert counts(world.acme)[:3] == (before[0], before[1] + 1, before[2] + 1)  # no new card
    with pytest.raises(ValidationError) as raised:  # one open invitation per card
        invitation_create_link(enterprise=world.acme, actor=None, membership=card)
    assert "membership" in raised.value.message_dict
    accepted = invitation_accept(enterprise=world.acme, invitation=invitation, account=world.oscar)
    assert (accepted.pk, accepted.display_name, accepted.account_id) == (card.pk, "Card Without Mobile", world.oscar.pk)
    with pytest.raises(ValidationError):  # an active card cannot be invited again
        invitation_create_link(enterprise=world.acme, actor=None, membership=world.membership(world.acme, world.bob))


def test_link_for_a_card_outside_the_scope_is_404(world, client_for):
    inside = invited_card(world, "Card In Sales", world.sales)
    outside = invited_card(world, "Card In Engineering", world.engineering)
    client = client_for("acme", world.sam)
    before = counts(world.acme)
    response = client.post(
        "/api/v1/invitations/", {"kind": "link", "membership": outside.pk}, content_type="application/json"
    )
    assert response.status_code == 404
    assert (
        client.post(
            "/console/invitations/link/",
            {"link-role": "member", "link-days_valid": "7", "link-membership": str(outside.pk)},
        ).status_code
        == 404
    )
    assert counts(world.acme) == before
    response = client.post(
        "/api/v1/invitations/", {"kind": "link", "membership": inside.pk}, content_type="application/json"
    )
    assert response.status_code == 201 and response.json()["membership"] == inside.pk
    assert response.json()["display_name"] == "Card In Sales"
