"""Correcting one's own data (DSR-2, DSR-3), through HTTP: self-editable card fields change at
once on `/me/profile/` and `PATCH /api/v1/me/profile/`, recorded in the ledger as the member's
own instruction; fields the enterprise keeps become correction requests in the admins' queue
(`/me/profile/correction/`, `POST /api/v1/me/profile/corrections/`); the account's verified
real-name data and mobile number become account-data requests to the operators
(`/account/profile/correction/`, `POST /api/v1/me/account/corrections/`). Bad input changes
nothing; another enterprise's host, session or ids are refused."""

from __future__ import annotations

from django.db import connection

from core.models import Membership
from core.scopes import dangerously_whole_enterprise
from directory.services import member_card_update
from ledger.models import LedgerEntry
from requests.correction.services import SELF_EDIT_PURPOSE
from requests.models import Request
from tenants.context import enterprise_schema
from tests.requests.test_data_overview import _verified
from tests.requests.test_export import BOB_ID, DANA_ID, id_number

PROFILE = {
    "work_signature": "Bob — Sales East",
    "landline": "010-6555-1234",
    "email": "bob@example.com",
    "fax": "010-6555-9999",
    "seat": "B-204",
    "external_fields": ["display_name", "email"],
}


def _card(world, enterprise, user) -> Membership:
    with enterprise_schema(enterprise):
        card = Membership.objects.select_related("position").get(account=user)
    connection.set_schema_to_public()
    return card


def _own_entries(world, enterprise, user) -> list[LedgerEntry]:
    member = world.membership(enterprise, user)
    with enterprise_schema(enterprise):
        entries = list(
            LedgerEntry.objects.filter(subject_membership_id=member.pk, purpose=SELF_EDIT_PURPOSE).order_by("id")
        )
    connection.set_schema_to_public()
    return entries


def _requests(enterprise=None) -> list[Request]:
    if enterprise is None:  # account-data requests (public schema)
        connection.set_schema_to_public()
        return list(Request.objects.order_by("id"))
    with enterprise_schema(enterprise):
        rows = list(Request.objects.order_by("id"))
    connection.set_schema_to_public()
    return rows


# --- self-editable fields: the page -----------------------------------------------------------


def test_member_changes_self_editable_fields_at_once_recorded_as_their_instruction(world, client_for):
    client = client_for("acme", world.bob)
    page = client.get("/me/profile/").content.decode()
    assert 'name="seat"' in page and 'name="display_name"' not in page and 'name="id_number"' not in page
    assert "/me/profile/correction/?field=position" in page and "/me/profile/correction/?field=id_number" in page
    response = client.post("/me/profile/", PROFILE)
    assert response.status_code == 302 and response["Location"] == "/me/profile/"
    card = _card(world, world.acme, world.bob)
    assert (card.work_signature, card.landline, card.email, card.fax, card.seat) == (
        "Bob — Sales East",
        "010-6555-1234",
        "bob@example.com",
        "010-6555-9999",
        "B-204",
    )
    assert card.external_fields == ["display_name", "email"]
    [entry] = _own_entries(world, world.acme, world.bob)
    assert entry.actor_kind == "member" and entry.actor_membership_id == card.pk
    assert entry.action == "change" and entry.category == "directory"
    assert entry.details == {"fields": ["email", "external_fields", "fax", "landline", "seat", "work_signature"]}
    assert "bob@example.com" not in str(entry.details)  # field names, never values
    # the same again changes nothing and records nothing
    assert client.post("/me/profile/", PROFILE).status_code == 302
    assert len(_own_entries(world, world.acme, world.bob)) == 1
    # the card shows on the data page, the entry among the processing records
    data = client.get("/api/v1/me/data/").json()
    assert data["directory"]["card"]["seat"] == "B-204"
    assert any(e["actor_label"] == "You" for e in data["ledger"]["entries"]["results"])


def test_an_administrator_editing_their_own_card_is_recorded_as_a_member(world, client_for):
    response = client_for("acme", world.alice).post("/me/profile/", {**PROFILE, "seat": "Owner's desk"})
    assert response.status_code == 302
    [entry] = _own_entries(world, world.acme, world.alice)
    assert entry.actor_kind == "member"


def test_bad_input_on_the_page_changes_nothing(world, client_for):
    client = client_for("acme", world.bob)
    response = client.post("/me/profile/", {**PROFILE, "email": "not-an-email", "landline": "call me"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter a valid email address." in page and "Enter digits, spaces, hyphens" in page
    response = client.post("/me/profile/", {**PROFILE, "external_fields": ["id_number"]})
    assert response.status_code == 400
    card = _card(world, world.acme, world.bob)
    assert card.seat == "" and card.email == "" and card.external_fields == []
    assert _own_entries(world, world.acme, world.bob) == []


def test_controlled_fields_posted_to_the_page_are_ignored(world, client_for):
    before = _card(world, world.acme, world.bob)
    response = client_for("acme", world.bob).post(
        "/me/profile/", {**PROFILE, "display_name": "Robert Boss", "role": "owner", "title": "CEO", "id_number": BOB_ID}
    )
    assert response.status_code == 302
    card = _card(world, world.acme, world.bob)
    assert (card.display_name, card.role, card.title, card.id_number_encrypted) == (
        before.display_name,
        "member",
        "",
        None,
    )
    assert card.seat == "B-204"


# --- self-editable fields: the API ------------------------------------------------------------


def test_api_get_and_patch_profile(world, client_for):
    client = client_for("acme", world.bob)
    data = client.get("/api/v1/me/profile/").json()
    assert data["seat"] == "" and data["controlled"]["display_name"] == "Bob Member"
    assert data["controlled"]["departments"] == ["Sales East"]
    response = client.patch(
        "/api/v1/me/profile/", {"seat": "C-1", "external_fields": ["email"]}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["seat"] == "C-1" and response.json()["external_fields"] == ["email"]
    assert _card(world, world.acme, world.bob).seat == "C-1"
    [entry] = _own_entries(world, world.acme, world.bob)
    assert entry.actor_kind == "member" and entry.details == {"fields": ["external_fields", "seat"]}


def test_api_patch_refuses_controlled_unknown_and_bad_values_and_changes_nothing(world, client_for):
    client = client_for("acme", world.bob)
    cases = [
        ({"display_name": "Robert Boss"}, "display_name"),
        ({"seat": "D-9", "position": 1}, "position"),  # one controlled field spoils the whole change
        ({"id_number": BOB_ID}, "id_number"),
        ({"departments": [1]}, "departments"),
        ({"role": "owner"}, "role"),
        ({"email": "nope"}, "email"),
        ({"landline": "x" * 40}, "landline"),
        ({"external_fields": ["password"]}, "external_fields"),
        ({"external_fields": "email"}, "external_fields"),
    ]
    for body, field in cases:
        response = client.patch("/api/v1/me/profile/", body, content_type="application/json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json(), (body, response.json())
    assert client.patch("/api/v1/me/profile/", ["seat"], content_type="application/json").status_code == 400
    assert client.patch("/api/v1/me/profile/", "{", content_type="application/json").status_code == 400
    card = _card(world, world.acme, world.bob)
    assert (card.display_name, card.seat, card.role, card.position_id) == ("Bob Member", "", "member", None)
    assert _own_entries(world, world.acme, world.bob) == []


# --- controlled fields: correction requests ---------------------------------------------------


def test_correction_request_goes_to_the_directory_admins_queue(world, client_for):
    client = client_for("acme", world.bob)
    form = client.get("/me/profile/correction/?field=position").content.decode()
    assert '<option value="position" selected>' in form
    response = client.post(
        "/me/profile/correction/",
        {"field": "position", "value": "Senior sales engineer", "reason": "Promoted in March."},
    )
    assert response.status_code == 302
    [row] = _requests(world.acme)
    assert response["Location"] == f"/me/requests/{row.pk}/"
    assert (row.kind, row.category, row.status) == ("correction", "directory", "identity_verified")
    assert "position" in row.description and "Senior sales engineer" in row.description
    assert "Promoted in March." in row.description and row.due_on is not None
    # nothing changed on the card
    assert _card(world, world.acme, world.bob).position_id is None
    # the admins holding the directory over Bob see it: Amy (full admin), Sam (Sales subtree)
    for admin in (world.amy, world.sam, world.alice):
        queue = client_for("acme", admin).get("/console/requests/").content.decode()
        assert f"/console/requests/{row.pk}/" in queue, admin
    # Erin's (Engineering) is not in Sam's scope
    erin = client_for("acme", world.erin).post(
        "/api/v1/me/profile/corrections/", {"field": "title", "value": "Staff engineer"}
    )
    assert erin.status_code == 201, erin.content
    assert erin.json()["kind"] == "correction" and erin.json()["category"] == "directory"
    assert (
        f"/console/requests/{erin.json()['id']}/"
        not in client_for("acme", world.sam).get("/console/requests/").content.decode()
    )
    assert client_for("acme", world.amy).get(f"/console/requests/{erin.json()['id']}/").status_code == 200


def test_a_requested_id_number_is_checked_and_stored_masked(world, client_for):
    client = client_for("acme", world.bob)
    new_id = id_number("11010519800101456")
    response = client.post("/api/v1/me/profile/corrections/", {"field": "id_number", "value": new_id})
    assert response.status_code == 201
    [row] = _requests(world.acme)
    assert new_id not in row.description and new_id[:3] + "*" * 11 + new_id[-4:] in row.description
    bad = client.post("/api/v1/me/profile/corrections/", {"field": "id_number", "value": "110105198001014560"})
    assert bad.status_code == 400 and "value" in bad.json()
    assert len(_requests(world.acme)) == 1


def test_bad_correction_requests_create_nothing(world, client_for):
    client = client_for("acme", world.bob)
    cases = [
        ({"field": "seat", "value": "B-1"}, "field"),  # self-editable: change it yourself
        ({"field": "role", "value": "owner"}, "field"),
        ({"field": "position", "value": "   "}, "value"),
        ({"field": "position", "value": "x" * 201}, "value"),
        ({"field": "mobile", "value": "12345"}, "value"),
        ({"field": "position", "value": "Lead", "reason": "x" * 1600}, "reason"),
    ]
    for body, field in cases:
        page = client.post("/me/profile/correction/", body)
        assert page.status_code == 400, body
        api = client.post("/api/v1/me/profile/corrections/", body, content_type="application/json")
        assert api.status_code == 400 and field in api.json(), (body, api.json())
    assert _requests(world.acme) == []


# --- the account: real-name data and mobile number to the operators ---------------------------


def test_account_correction_of_verified_real_name_goes_to_the_operators(world, client_for):
    _verified(world.dana, "Dana Realname", DANA_ID)
    client = client_for("public", world.dana)
    page = client.get("/account/real-name/").content.decode()
    assert "/account/profile/correction/?field=legal_name" in page
    assert "/account/profile/correction/" in client.get("/account/profile/").content.decode()
    form = client.get("/account/profile/correction/?field=legal_name").content.decode()
    assert '<option value="legal_name" selected>' in form and "Dana Realname" not in form
    response = client.post(
        "/account/profile/correction/",
        {"field": "legal_name", "value": "Dana Real-Name", "reason": "Typo in the surname."},
    )
    assert response.status_code == 302
    [row] = _requests()
    assert response["Location"] == f"/account/requests/{row.pk}/"
    assert row.membership_id is None and row.category == "" and row.kind == "correction"
    assert "Dana Real-Name" in row.description
    # in the operators' admin
    listing = client_for("public", world.olga).get("/admin/requests/request/")
    assert f"#{row.pk}".encode() in listing.content
    # and it is not an enterprise's request
    assert _requests(world.acme) == [] and _requests(world.globex) == []
    # the API twin on an enterprise host: an account-data request too
    api = client_for("acme", world.dana).post(
        "/api/v1/me/account/corrections/", {"field": "id_number", "value": DANA_ID}
    )
    assert api.status_code == 201, api.content
    assert len(_requests()) == 2 and DANA_ID not in _requests()[-1].description
    assert _requests(world.acme) == []


def test_account_corrections_refused_before_verification_and_for_bad_input(world, client_for):
    client = client_for("public", world.oscar)  # no real-name data
    response = client.post("/account/profile/correction/", {"field": "legal_name", "value": "Oscar O."})
    assert response.status_code == 400 and b"not verified yet" in response.content
    for body, field in (
        ({"field": "nickname", "value": "x"}, "field"),
        ({"field": "mobile", "value": "+8613900000041"}, "value"),  # already his number
        ({"field": "mobile", "value": "not a number"}, "value"),
    ):
        response = client.post("/account/profile/correction/", body)
        assert response.status_code == 400 and field in response.context["form"].errors, body
    api = client_for("acme", world.bob).post("/api/v1/me/account/corrections/", {"field": "legal_name", "value": "Bob"})
    assert api.status_code == 400 and "field" in api.json()
    assert _requests() == []
    # a new mobile number is a request (the number is the account's identity)
    assert client.post("/account/profile/correction/", {"field": "mobile", "value": "13900000099"}).status_code == 302
    assert "+8613900000099" in _requests()[0].description
    # the account's correction page is on the platform's host only
    assert client_for("acme", world.bob).get("/account/profile/correction/").status_code == 404


# --- isolation --------------------------------------------------------------------------------


def test_another_enterprises_host_session_and_ids_are_refused(world, client_for):
    # a globex member on acme's host
    gus = client_for("acme", world.gus)
    for method, path in (
        ("get", "/me/profile/"),
        ("post", "/me/profile/"),
        ("get", "/me/profile/correction/"),
        ("post", "/me/profile/correction/"),
        ("get", "/api/v1/me/profile/"),
        ("patch", "/api/v1/me/profile/"),
        ("post", "/api/v1/me/profile/corrections/"),
    ):
        assert getattr(gus, method)(path).status_code == 403, (method, path)
    # Bob's acme session replayed on globex's host
    replay = client_for("acme", world.bob)
    replay.defaults["HTTP_HOST"] = "globex.localhost"
    assert replay.post("/me/profile/", PROFILE).status_code in (302, 403, 404)
    assert replay.patch("/api/v1/me/profile/", {"seat": "X"}, content_type="application/json").status_code in (
        302,
        401,
        403,
        404,
    )
    # Dana edits her globex card on globex: her acme card is untouched, and the other way round
    dana = client_for("globex", world.dana)
    response = dana.patch("/api/v1/me/profile/", {"seat": "Globex seat"}, content_type="application/json")
    assert response.status_code == 200
    assert _card(world, world.globex, world.dana).seat == "Globex seat"
    assert _card(world, world.acme, world.dana).seat == ""
    assert dana.post("/api/v1/me/profile/corrections/", {"field": "title", "value": "VP"}).status_code == 201
    assert len(_requests(world.globex)) == 1 and _requests(world.acme) == []
    # ids play no part: Bob cannot reach anyone else's card (the body names no member)
    gwen_id = world.membership(world.globex, world.gwen).pk  # exists only in globex
    response = client_for("acme", world.bob).patch(
        "/api/v1/me/profile/", {"id": gwen_id, "seat": "Z"}, content_type="application/json"
    )
    assert response.status_code == 400 and "id" in response.json()
    assert _card(world, world.globex, world.gwen).seat == ""


def test_a_card_changed_by_an_admin_meanwhile_is_not_overwritten(world, client_for):
    """The page edits the fields it shows; the enterprise's own changes to other fields stay."""
    bob = world.membership(world.acme, world.bob)
    member_card_update(
        scope=dangerously_whole_enterprise(),
        enterprise=world.acme,
        actor=world.membership(world.acme, world.alice),
        membership=bob,
        data={"title": "Account manager"},
    )
    connection.set_schema_to_public()
    assert client_for("acme", world.bob).post("/me/profile/", PROFILE).status_code == 302
    card = _card(world, world.acme, world.bob)
    assert card.title == "Account manager" and card.seat == "B-204"
