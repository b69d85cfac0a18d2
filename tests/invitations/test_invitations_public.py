"""The invitee's side of invitations on the public host (ENT-3, ACC-3): pending invitations on
`/account/`, accepting and declining them, and link invitations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.models import Membership
from invitations.models import Invitation
from invitations.services import invitation_create_by_mobile, invitation_create_link
from tenants.context import enterprise_schema
from tenants.models import InvitationIndex, MembershipIndex


def invite(world, enterprise, user, *, name: str = "Invitee") -> Invitation:
    invitation = invitation_create_by_mobile(
        enterprise=enterprise, actor=None, mobile=user.mobile.as_e164, display_name=name
    )
    connection.set_schema_to_public()
    return invitation


def status_of(enterprise, invitation: Invitation) -> str:
    with enterprise_schema(enterprise):
        status = Invitation.objects.get(pk=invitation.pk).status
    connection.set_schema_to_public()
    return status


def test_account_lists_pending_invitations_for_the_right_mobile_only(world, client_for):
    invite(world, world.acme, world.oscar)
    invite(world, world.globex, world.oscar)
    invite(world, world.globex, world.bob)
    page = client_for("public", world.oscar).get("/account/")
    assert page.status_code == 200
    names = [index.enterprise.name for index in page.context["invitations"]]
    assert sorted(names) == ["Acme Test", "Globex Test"]
    assert b"Accept" in page.content
    bob_page = client_for("public", world.bob).get("/account/")
    assert [index.enterprise.name for index in bob_page.context["invitations"]] == ["Globex Test"]
    assert client_for("public", world.gus).get("/account/").context["invitations"] == []


def test_expired_and_suspended_enterprises_invitations_are_not_listed(world, client_for):
    invitation = invite(world, world.acme, world.oscar)
    InvitationIndex.objects.filter(invitation_id=invitation.pk, enterprise=world.acme).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert client_for("public", world.oscar).get("/account/").context["invitations"] == []


@pytest.mark.parametrize("rows", [5, 50])
def test_account_page_lists_invitations_with_a_constant_number_of_queries(world, client_for, rows):
    from django.test.utils import CaptureQueriesContext

    expires = timezone.now() + timedelta(days=1)
    InvitationIndex.objects.bulk_create(
        [  # index rows alone: the page reads nothing else about them
            InvitationIndex(
                enterprise=world.globex if i % 2 else world.acme,
                invitation_id=10_000 + i,
                mobile=world.oscar.mobile.as_e164,
                expires_at=expires,
            )
            for i in range(rows)
        ]
    )
    client = client_for("public", world.oscar)
    # 1 SET search_path public, 2 domain -> tenant, 3 SET search_path public (the public tenant),
    # 4 session, 5 account, 6 pending invitations (InvitationIndex joined with enterprises),
    # 7 the account's enterprises (MembershipIndex; no links, so no domain prefetch)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/account/")
    assert len(response.context["invitations"]) == rows
    invitation_queries = [q["sql"] for q in queries.captured_queries if "tenants_invitationindex" in q["sql"]]
    assert len(invitation_queries) == 1 and "JOIN" in invitation_queries[0]
    assert len(queries) == 8  # +1: the app shell's header (UI-1)


def test_accept_from_the_account_page(world, client_for):
    invitation = invite(world, world.acme, world.oscar, name="Oscar In Acme")
    client = client_for("public", world.oscar)
    response = client.post(f"/account/invitations/{world.acme.pk}/{invitation.pk}/accept/")
    assert response.status_code == 302 and response["Location"] == "/account/"
    assert status_of(world.acme, invitation) == "accepted"
    page = client.get("/account/")
    assert page.context["invitations"] == []
    assert [link.enterprise.name for link in page.context["links"]] == ["Acme Test"]
    acme = client_for("acme", world.oscar)
    assert acme.get("/me/").status_code == 200


def test_decline_from_the_account_page(world, client_for):
    invitation = invite(world, world.acme, world.oscar)
    response = client_for("public", world.oscar).post(f"/account/invitations/{world.acme.pk}/{invitation.pk}/decline/")
    assert response.status_code == 302
    assert status_of(world.acme, invitation) == "declined"
    assert not MembershipIndex.objects.filter(account=world.oscar, enterprise=world.acme).exists()


def test_wrong_account_gets_a_clear_error_and_nothing_changes(world, client_for):
    invitation = invite(world, world.acme, world.oscar)
    response = client_for("public", world.gus).post(f"/account/invitations/{world.acme.pk}/{invitation.pk}/accept/")
    assert response.status_code == 400
    assert b"This invitation was sent to another mobile number" in response.content
    assert status_of(world.acme, invitation) == "pending"
    assert InvitationIndex.objects.filter(invitation_id=invitation.pk, enterprise=world.acme).exists()
    with enterprise_schema(world.acme):
        assert not Membership.objects.filter(account=world.gus).exists()


def test_answering_needs_sign_in_and_a_known_invitation(world, client_for):
    invitation = invite(world, world.acme, world.oscar)
    anonymous = client_for("public").post(f"/account/invitations/{world.acme.pk}/{invitation.pk}/accept/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    client = client_for("public", world.oscar)
    assert client.post(f"/account/invitations/{world.acme.pk}/999999/accept/").status_code == 404
    assert client.post(f"/account/invitations/{world.globex.pk}/{invitation.pk}/accept/").status_code == 404
    assert client.post(f"/account/invitations/{world.initech.pk}/{invitation.pk}/accept/").status_code == 404
    assert client.post(f"/account/invitations/{world.acme.pk}/{invitation.pk}/join/").status_code == 404
    assert client.get(f"/account/invitations/{world.acme.pk}/{invitation.pk}/accept/").status_code == 405
    assert status_of(world.acme, invitation) == "pending"


def test_a_link_invitation_cannot_be_answered_without_its_token(world, client_for):
    invitation, _token = invitation_create_link(enterprise=world.acme, actor=None)
    connection.set_schema_to_public()
    response = client_for("public", world.oscar).post(f"/account/invitations/{world.acme.pk}/{invitation.pk}/accept/")
    assert response.status_code == 404
    assert status_of(world.acme, invitation) == "pending"


def test_expired_invitation_cannot_be_accepted_from_the_account_page(world, client_for):
    invitation = invite(world, world.acme, world.oscar)
    with enterprise_schema(world.acme):
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    connection.set_schema_to_public()
    response = client_for("public", world.oscar).post(f"/account/invitations/{world.acme.pk}/{invitation.pk}/accept/")
    assert response.status_code == 400 and b"has expired" in response.content
    assert not MembershipIndex.objects.filter(account=world.oscar, enterprise=world.acme).exists()


def test_link_invitation_page(world, client_for):
    invitation, token = invitation_create_link(enterprise=world.acme, actor=None, display_name="Linked")
    connection.set_schema_to_public()
    url = f"/invitations/acme/{token}/"
    anonymous = client_for("public")
    page = anonymous.get(url)
    assert page.status_code == 200 and b"Acme Test" in page.content and b"Sign in first" in page.content
    assert page["Referrer-Policy"] == "no-referrer"
    response = anonymous.post(url, {"answer": "accept"})
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    assert client_for("public").get(f"/invitations/acme/{token}x/").status_code == 404
    assert client_for("public").get(f"/invitations/globex/{token}/").status_code == 404
    client = client_for("public", world.oscar)
    assert client.post(url, {"answer": "maybe"}).status_code == 400
    response = client.post(url, {"answer": "accept"})
    assert response.status_code == 302 and response["Location"] == "/account/"
    assert status_of(world.acme, invitation) == "accepted"
    assert MembershipIndex.objects.filter(account=world.oscar, enterprise=world.acme).exists()
    again = client_for("public", world.gus).post(url, {"answer": "accept"})
    assert again.status_code == 400 and b"no longer valid" in again.content
    assert client_for("public").get(url).status_code == 410


def test_link_invitation_declined(world, client_for):
    invitation, token = invitation_create_link(enterprise=world.acme, actor=None)
    connection.set_schema_to_public()
    response = client_for("public", world.gus).post(f"/invitations/acme/{token}/", {"answer": "decline"})
    assert response.status_code == 302
    assert status_of(world.acme, invitation) == "declined"


def test_member_cannot_accept_a_link_again(world, client_for):
    _invitation, token = invitation_create_link(enterprise=world.acme, actor=None)
    connection.set_schema_to_public()
    response = client_for("public", world.bob).post(f"/invitations/acme/{token}/", {"answer": "accept"})
    assert response.status_code == 400 and b"already a member" in response.content
