"""Directory card (ENT-2), masking and reveal (ENT-9), scopes (ENT-8) — console and API."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from core.models import Membership
from core.scopes import dangerously_whole_enterprise
from directory.services import member_card_update
from invitations.models import Invitation
from ledger.models import LedgerEntry
from tenants.context import enterprise_schema

VALID_ID = "11010519491231002X"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def ledger_count(enterprise) -> int:
    with enterprise_schema(enterprise):
        return LedgerEntry.objects.count()


def last_entry(enterprise) -> LedgerEntry:
    with enterprise_schema(enterprise):
        return LedgerEntry.objects.order_by("-id").first()


# --- who may see what ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/console/members/",
        "/console/org/",
        "/console/members/new/",
        "/api/v1/members/",
        "/api/v1/departments/",
        "/api/v1/positions/",
        "/api/v1/ranks/",
    ],
)
def test_directory_pages_by_persona(world, client_for, path):
    assert client_for("acme", world.alice).get(path).status_code == 200
    assert client_for("acme", world.amy).get(path).status_code == 200
    assert client_for("acme", world.sam).get(path).status_code == 200
    assert client_for("acme", world.bob).get(path).status_code == 403
    assert client_for("acme", world.greg).get(path).status_code == 403  # globex's admin
    assert client_for("acme", world.oscar).get(path).status_code == 403


def test_scoped_admin_sees_only_their_subtree_in_lists_search_details_and_counts(world, client_for):
    sam = client_for("acme", world.sam)
    bob = world.membership(world.acme, world.bob)
    erin = world.membership(world.acme, world.erin)
    page = sam.get("/console/members/")
    names = {row.name for row in page.context["rows"]}
    assert "Bob Member" in names and "Erin Engineer" not in names and "Alice Owner" not in names
    assert list(sam.get("/console/members/?q=Erin").context["rows"]) == []
    assert b"Erin Engineer" not in sam.get("/console/members/?q=Erin").content
    assert sam.get(f"/console/members/{erin.pk}/").status_code == 404
    assert sam.get(f"/api/v1/members/{erin.pk}/").status_code == 404
    assert sam.get(f"/console/members/{bob.pk}/").status_code == 200
    api = sam.get("/api/v1/members/").json()
    assert {m["display_name"] for m in api["results"]} == names and api["count"] == len(names)
    assert sam.get("/console/").context["member_count"] == len(names)
    # the department filter only offers departments in scope
    assert sam.get(f"/api/v1/members/?department={world.engineering.pk}").status_code == 400
    assert {d["name"] for d in sam.get("/api/v1/departments/").json()} == {"Sales", "Sales East"}


def test_other_enterprises_ids_are_not_found(world, client_for):
    with enterprise_schema(world.globex):
        gwen = Membership.objects.get(account=world.gwen).pk
    client = client_for("acme", world.alice)
    assert client.get(f"/console/members/{gwen}/").status_code == 404
    assert client.get(f"/api/v1/members/{gwen}/").status_code == 404
    assert client.post(f"/api/v1/members/{gwen}/reveal/", {"field": "mobile"}).status_code == 404


# --- query counts ---------------------------------------------------------------------------------


def _add_members(world, count: int) -> None:
    with enterprise_schema(world.acme):
        Membership.objects.bulk_create(
            [
                Membership(display_name=f"Extra {i:03d}", mobile=f"+861370000{i:04d}", status="active")
                for i in range(count)
            ]
        )
    connection.set_schema_to_public()


@pytest.mark.parametrize("rows", [5, 50])
def test_member_list_page_and_api_run_constant_queries(world, client_for, django_assert_num_queries, rows):
    _add_members(world, rows)
    client = client_for("acme", world.alice)
    # 1 SET search_path public, 2 domain -> enterprise, 3 SET search_path acme, 4 session,
    # 5 account, 6 acting membership, 7 the admin's second factor, 8 departments, positions and
    # ranks (one query), 9 the page: rows, their department ids (ENT-11), the accounts' columns
    # for the under-18 badge (ACC-4; +1 for keys if any is real-name verified) and the count
    with django_assert_num_queries(10):  # +1: the app shell's header (inbox bell and enterprise switcher, UI-1)
        assert client.get("/console/members/").status_code == 200
    # API: 1-7 as above, the page with its departments and count (one statement); the filters'
    # choices (departments, positions and ranks, one query) only when a filter names one (PERF-7)
    with django_assert_num_queries(8):
        assert client.get("/api/v1/members/").status_code == 200
    with django_assert_num_queries(9):
        assert client.get(f"/api/v1/members/?department={world.sales.pk}").status_code == 200


# --- create / update: validation, nothing written, ledger exactly on change -----------------------


def test_create_member_through_the_api(world, client_for):
    client = client_for("acme", world.amy)
    before = ledger_count(world.acme)
    # CON-4: no one can have consented to an ID number on a card that is only being created
    refused = client.post(
        "/api/v1/members/",
        {"display_name": "New Hire", "mobile": "13700001111", "id_number": VALID_ID},
        content_type="application/json",
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "consent_required")
    assert ledger_count(world.acme) == before
    response = client.post(
        "/api/v1/members/",
        {"display_name": "New Hire", "mobile": "13700001111", "departments": [world.sales.pk]},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id_number"] == "" and body["status"] == "invited"
    # the invitation to the mobile number, then the other fields of the card
    with enterprise_schema(world.acme):
        entries = list(LedgerEntry.objects.filter(subject_membership_id=body["id"]).order_by("id"))
        assert Invitation.objects.filter(membership_id=body["id"], mobile="+8613700001111").exists()
    assert [(e.action, e.details.get("fields")) for e in entries] == [
        ("invite", ["display_name", "mobile"]),
        ("change", ["departments"]),
    ]
    assert ledger_count(world.acme) == before + 2
    # without a mobile number: only the card
    response = client.post("/api/v1/members/", {"display_name": "No Phone"}, content_type="application/json")
    assert response.status_code == 201 and last_entry(world.acme).action == "create"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"display_name": ""}, "display_name"),
        ({"display_name": "X", "mobile": "12345"}, "mobile"),
        ({"display_name": "X", "id_number": "110105194912310021"}, "id_number"),
        ({"display_name": "X", "email": "not-an-email"}, "email"),
        ({"display_name": "X", "landline": "abc"}, "landline"),
        ({"display_name": "X", "departments": [999999]}, "departments"),
        ({"display_name": "X", "position": 999999}, "position"),
        ({"display_name": "X", "external_fields": ["id_number"]}, "external_fields"),
        ({"display_name": "X", "mobile": "+8613900000003"}, "mobile"),  # Bob's: already in the directory
        ({"display_name": "X" * 101}, "display_name"),
    ],
)
def test_invalid_card_input_is_400_with_field_errors_and_writes_nothing(world, client_for, payload, field):
    client = client_for("acme", world.amy)
    with enterprise_schema(world.acme):
        members = Membership.objects.count()
    before = ledger_count(world.acme)
    response = client.post("/api/v1/members/", payload, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()
    with enterprise_schema(world.acme):
        assert Membership.objects.count() == members
    assert ledger_count(world.acme) == before


def test_update_writes_one_ledger_entry_only_when_something_changes(world, client_for):
    client = client_for("acme", world.amy)
    bob = world.membership(world.acme, world.bob)
    before = ledger_count(world.acme)
    response = client.patch(
        f"/api/v1/members/{bob.pk}/", {"title": "Lead", "seat": "B-12"}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["title"] == "Lead"
    assert ledger_count(world.acme) == before + 1
    entry = last_entry(world.acme)
    assert (entry.action, entry.subject_membership_id, entry.details) == (
        "change",
        bob.pk,
        {"fields": ["seat", "title"]},
    )
    client.patch(f"/api/v1/members/{bob.pk}/", {"title": "Lead"}, content_type="application/json")
    assert ledger_count(world.acme) == before + 1  # nothing changed, nothing recorded
    response = client.patch(f"/api/v1/members/{bob.pk}/", {"email": "nope"}, content_type="application/json")
    assert response.status_code == 400 and ledger_count(world.acme) == before + 1


def test_console_card_form(world, client_for):
    client = client_for("acme", world.alice)
    bob = world.membership(world.acme, world.bob)
    response = client.post(f"/console/members/{bob.pk}/edit/", {"display_name": "Bob Member", "id_number": "bad"})
    assert response.status_code == 400 and "id_number" in response.context["form"].errors
    response = client.post(
        f"/console/members/{bob.pk}/edit/",
        {
            "display_name": "Bob Member",
            "id_number": VALID_ID,
            "departments": [world.sales_east.pk],
            "external_fields": ["display_name", "title"],
            "photo": SimpleUploadedFile("b.png", PNG, "image/png"),
        },
    )
    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.external_fields == ["display_name", "title"]
    assert bob.photo.name.startswith("members/photos/")
    assert "/acme/members/photos/" in bob.photo.storage.path(bob.photo.name)  # the enterprise's own folder
    assert client.get(f"/console/members/{bob.pk}/photo/").status_code == 200
    assert client_for("acme", world.sam).get(f"/console/members/{bob.pk}/photo/").status_code == 200
    erin = world.membership(world.acme, world.erin)
    assert client_for("acme", world.sam).get(f"/console/members/{erin.pk}/photo/").status_code == 404


def test_photo_must_be_an_image(world, client_for):
    client = client_for("acme", world.alice)
    bob = world.membership(world.acme, world.bob)
    response = client.post(
        f"/console/members/{bob.pk}/edit/",
        {"display_name": "Bob Member", "photo": SimpleUploadedFile("x.png", b"<?php evil", "image/png")},
    )
    assert response.status_code == 400 and "photo" in response.context["form"].errors


def test_console_add_member(world, client_for):
    client = client_for("acme", world.amy)
    response = client.post("/console/members/new/", {"display_name": "Frank New", "mobile": "13700002222"})
    assert response.status_code == 302
    with enterprise_schema(world.acme):
        assert Membership.objects.get(display_name="Frank New").status == "invited"
    assert client.post("/console/members/new/", {"display_name": ""}).status_code == 400


# --- masking and reveal ---------------------------------------------------------------------------


def test_id_number_is_masked_encrypted_and_revealed_with_a_ledger_entry(world, client_for):
    bob = world.membership(world.acme, world.bob)
    member_card_update(
        scope=dangerously_whole_enterprise(),
        enterprise=world.acme,
        actor=None,
        membership=bob,
        data={"id_number": VALID_ID},
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number_encrypted FROM acme.enterprise_data_membership WHERE id = %s", [bob.pk])
        raw = bytes(cursor.fetchone()[0])
    assert VALID_ID.encode() not in raw and b"110105" not in raw
    client = client_for("acme", world.sam)
    page = client.get(f"/console/members/{bob.pk}/")
    assert b"110***********002X" in page.content and VALID_ID.encode() not in page.content
    before = ledger_count(world.acme)
    revealed = client.post(f"/console/members/{bob.pk}/reveal/id_number/", HTTP_HX_REQUEST="true")
    assert revealed.status_code == 200 and VALID_ID.encode() in revealed.content
    entry = last_entry(world.acme)
    assert ledger_count(world.acme) == before + 1
    assert (entry.action, entry.category, entry.subject_membership_id, entry.details) == (
        "reveal",
        "directory",
        bob.pk,
        {"field": "id_number"},
    )
    api = client.post(f"/api/v1/members/{bob.pk}/reveal/", {"field": "mobile"}, content_type="application/json")
    assert api.json() == {"field": "mobile", "value": "+8613900000003"}
    assert (
        client.post(
            f"/api/v1/members/{bob.pk}/reveal/", {"field": "display_name"}, content_type="application/json"
        ).status_code
        == 400
    )


def test_members_cannot_reveal(world, client_for):
    bob = world.membership(world.acme, world.bob)
    assert client_for("acme", world.erin).post(f"/console/members/{bob.pk}/reveal/mobile/").status_code == 403


# --- org structure ----------------------------------------------------------------------------------


def test_org_tree_create_rename_move_delete(world, client_for):
    client = client_for("acme", world.amy)
    response = client.post(
        "/api/v1/departments/", {"name": "Support", "parent": world.engineering.pk}, content_type="application/json"
    )
    assert response.status_code == 201
    support = response.json()
    assert support["path"].startswith(world.engineering.path)
    moved = client.patch(
        f"/api/v1/departments/{world.engineering.pk}/", {"parent": world.sales.pk}, content_type="application/json"
    )
    assert moved.status_code == 200 and moved.json()["path"].startswith(world.sales.path)
    # the subtree moved with it, in one UPDATE
    assert client.get(f"/api/v1/departments/{support['id']}/").json()["path"].startswith(moved.json()["path"])
    # no cycles
    assert (
        client.patch(
            f"/api/v1/departments/{world.sales.pk}/", {"parent": support["id"]}, content_type="application/json"
        ).status_code
        == 400
    )
    # delete only when empty
    assert client.delete(f"/api/v1/departments/{world.engineering.pk}/").status_code == 400
    assert client.delete(f"/api/v1/departments/{support['id']}/").status_code == 204
    assert (
        client.patch(
            f"/api/v1/departments/{world.sales.pk}/", {"name": ""}, content_type="application/json"
        ).status_code
        == 400
    )


def test_org_console_page(world, client_for):
    """The org editor's own pages are tested in tests/directory/test_org.py."""
    client = client_for("acme", world.alice)
    assert client.post("/console/org/departments/new/", {"name": ""}).status_code == 400
    root = client.get("/console/org/departments/new/").context["form"].initial["parent"]
    assert client.post("/console/org/departments/new/", {"name": "Legal", "parent": root}).status_code == 302
    assert client.post("/console/org/positions/new/", {"name": "Engineer"}).status_code == 302
    assert client.post("/console/org/ranks/new/", {"name": "P5", "level": 5}).status_code == 302
    page = client.get("/console/org/")
    assert b"Legal" in page.content
    assert b"Engineer" in client.get("/console/org/positions/").content
    assert b"P5" in client.get("/console/org/ranks/").content
    # scoped admins see the org but may not change it
    sam = client_for("acme", world.sam)
    assert sam.post("/console/org/departments/new/", {"name": "X", "parent": root}).status_code == 403
    assert client_for("acme", world.sam).post("/api/v1/positions/", {"name": "X"}).status_code == 403


def test_scope_grant_makes_a_scoped_admin(world, client_for):
    erin = world.membership(world.acme, world.erin)
    client = client_for("acme", world.alice)
    response = client.post(
        f"/api/v1/members/{erin.pk}/scopes/",
        {"department": world.engineering.pk, "categories": ["directory"]},
        content_type="application/json",
    )
    assert response.status_code == 204
    erin_client = client_for("acme", world.erin)
    names = {m["display_name"] for m in erin_client.get("/api/v1/members/").json()["results"]}
    assert names == {"Erin Engineer"}
    assert (
        client_for("acme", world.sam)
        .post(
            f"/api/v1/members/{erin.pk}/scopes/",
            {"department": world.sales.pk, "categories": ["directory"]},
            content_type="application/json",
        )
        .status_code
        == 403
    )  # only owners and full admins grant scopes
    assert (
        client.post(
            f"/api/v1/members/{erin.pk}/scopes/",
            {"department": world.sales.pk, "categories": []},
            content_type="application/json",
        ).status_code
        == 400
    )
    # console form too
    assert (
        client.post(
            f"/console/members/{erin.pk}/scopes/", {"department": world.engineering.pk, "categories": ["attendance"]}
        ).status_code
        == 302
    )


def test_admins_grant_only_what_they_hold_and_never_to_themselves(world, client_for):
    """Least privilege (ENT-8): Amy (full admin without health) cannot hand out health, not
    even to herself; the owner can."""
    erin = world.membership(world.acme, world.erin)
    amy = world.membership(world.acme, world.amy)
    amy_client = client_for("acme", world.amy)
    before = ledger_count(world.acme)
    for target in (erin, amy):
        response = amy_client.post(
            f"/api/v1/members/{target.pk}/scopes/",
            {"department": world.engineering.pk, "categories": ["health"]},
            content_type="application/json",
        )
        assert response.status_code == 400
    assert (
        "categories"
        in amy_client.post(
            f"/api/v1/members/{erin.pk}/scopes/",
            {"department": world.engineering.pk, "categories": ["health"]},
            content_type="application/json",
        ).json()
    )
    assert ledger_count(world.acme) == before
    assert (
        amy_client.post(
            f"/api/v1/members/{erin.pk}/scopes/",
            {"department": world.engineering.pk, "categories": ["directory"]},
            content_type="application/json",
        ).status_code
        == 204
    )
    assert (
        client_for("acme", world.alice)
        .post(
            f"/api/v1/members/{erin.pk}/scopes/",
            {"department": world.engineering.pk, "categories": ["health"]},
            content_type="application/json",
        )
        .status_code
        == 204
    )
