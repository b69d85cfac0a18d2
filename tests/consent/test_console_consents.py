"""The administrators' side of separate consents and legal bases (CON-4, ENT-8, ENT-10):
/console/consents/… and /api/v1/consents/….

An admin sees a member when they hold at least one administrator category covering a sensitive
category (directory, attendance, health, biometrics) over them, and a cell only for the
categories they hold over that member. Recording a legal basis needs the category covering it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consent.consents.services import consent_withdraw
from consent.models import ConsentRecord
from core.models import Department, Membership
from directory.org import scope_grant
from health.services import health_report_submit
from ledger.models import LedgerEntry
from tenants.categories import Category
from tenants.context import enterprise_schema
from tenants.models import Enterprise
from tests.conftest import consent_everything
from tests.health.test_health import add_sales_members

REASON = "Occupational health checks required by the labour rules"
HEALTH = {"line": "health:health_monitoring", "basis": "legal_obligation", "reason": REASON}


def member(world, user, enterprise=None) -> Membership:
    return world.membership(enterprise or world.acme, user)


def active_records(world, user, *, category="health", enterprise=None) -> list[tuple[str, str]]:
    enterprise = enterprise or world.acme
    with enterprise_schema(enterprise):
        return sorted(
            ConsentRecord.objects.filter(
                membership__account=user, category=category, withdrawn_at__isnull=True
            ).values_list("basis", "reason")
        )


def legal_basis(world, user, category="health") -> ConsentRecord:
    with enterprise_schema(world.acme):
        return ConsentRecord.objects.exclude(basis="consent").get(
            membership__account=user, category=category, withdrawn_at__isnull=True
        )


def ledger_entries(world, action="legal_basis") -> list[LedgerEntry]:
    with enterprise_schema(world.acme):
        return list(LedgerEntry.objects.filter(action=action).order_by("id"))


# --- who may open the pages ------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["alice", "amy", "sam"])
def test_admins_with_a_covering_category_open_the_overview(world, client_for, persona):
    assert client_for("acme", getattr(world, persona)).get("/console/consents/").status_code == 200


def test_member_gets_403_everywhere(world, client_for):
    client = client_for("acme", world.bob)
    bob = member(world, world.bob)
    assert client.get("/console/consents/").status_code == 403
    assert client.get(f"/console/consents/{bob.pk}/").status_code == 403
    assert client.post(f"/console/consents/{bob.pk}/", HEALTH).status_code == 403
    assert client.get(f"/api/v1/consents/?member={bob.pk}").status_code == 403
    assert client.post("/api/v1/consents/legal-bases/", api_basis(bob.pk)).status_code == 403
    assert active_records(world, world.bob) == [("consent", "")]


def test_an_admin_holding_no_covering_category_gets_403(world, client_for):
    """Erin made a scoped admin of the ledger only: nothing about consents is hers to see."""
    with enterprise_schema(world.acme):
        root = Department.objects.order_by("path").first()
    scope_grant(
        enterprise=world.acme,
        actor=None,
        admin=member(world, world.erin),
        department=root,
        categories=[Category.LEDGER],
    )
    client = client_for("acme", world.erin)
    ledger = client.get("/console/ledger/")
    assert ledger.status_code == 200 and b'href="/console/consents/"' not in ledger.content
    assert client.get("/console/consents/").status_code == 403
    assert client.get(f"/api/v1/consents/?member={member(world, world.bob).pk}").status_code == 403


def test_anonymous_is_sent_to_login(world, client_for):
    response = client_for("acme").get("/console/consents/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


# --- the overview -------------------------------------------------------------------------------


def columns(response) -> list[tuple[str, str]]:
    return [(c.category, c.purpose) for c in response.context["columns"]]


def rows(response) -> dict[str, list[str]]:
    return {row.member.display_name: [cell.state for cell in row.cells] for row in response.context["rows"]}


def test_columns_are_the_categories_the_admin_holds(world, client_for):
    alice = client_for("acme", world.alice).get("/console/consents/")
    assert len(columns(alice)) == 6
    amy = client_for("acme", world.amy).get("/console/consents/")
    assert ("health", "health_monitoring") not in columns(amy)
    assert ("biometrics", "attendance") not in columns(amy)
    assert {"precise_location", "id_documents", "contacts"} == {c for c, _p in columns(amy)}
    sam = client_for("acme", world.sam).get("/console/consents/")
    assert {"health", "precise_location", "id_documents", "contacts"} == {c for c, _p in columns(sam)}


def test_members_in_scope_with_their_cells(world, client_for):
    sam = rows(client_for("acme", world.sam).get("/console/consents/"))
    assert "Bob Member" in sam and "Erin Engineer" not in sam and "Gus Member" not in sam
    assert set(sam["Bob Member"]) == {"consent"}  # the world gave every consent
    alice = client_for("acme", world.alice).get("/console/consents/")
    assert {"Bob Member", "Erin Engineer", "Dana Dual", "Amy Admin"} <= set(rows(alice))
    assert "✓" in alice.content.decode()


def test_cells_show_consent_legal_basis_both_and_none(world, client_for):
    client = client_for("acme", world.alice)
    bob = member(world, world.bob)
    assert client.post(f"/console/consents/{bob.pk}/", HEALTH).status_code == 302
    response = client.get("/console/consents/")
    health = columns(response).index(("health", "health_monitoring"))
    assert rows(response)["Bob Member"][health] == "both"
    with enterprise_schema(world.acme):
        consent = ConsentRecord.objects.get(
            membership=bob, category="health", basis="consent", withdrawn_at__isnull=True
        )
    consent_withdraw(enterprise=world.acme, membership=bob, record_id=consent.pk)
    response = client.get("/console/consents/")
    assert rows(response)["Bob Member"][health] == "legal" and "⚖" in response.content.decode()
    [newcomer] = add_sales_members(world, 1, report=False)  # joined, consented to nothing yet
    response = client.get("/console/consents/")
    assert set(rows(response)["Extra Sales 0"]) == {"none"} and "✗" in response.content.decode()


def test_a_cell_is_hidden_for_a_category_the_admin_does_not_hold_over_that_member(world, client_for):
    """Amy granted health over Sales East only: Bob's health cell shows, Erin's is "—"."""
    scope_grant(
        enterprise=world.acme,
        actor=None,
        admin=member(world, world.amy),
        department=world.sales_east,
        categories=[Category.HEALTH],
    )
    response = client_for("acme", world.amy).get("/console/consents/")
    health = columns(response).index(("health", "health_monitoring"))
    table = rows(response)
    assert table["Bob Member"][health] == "consent"
    assert table["Erin Engineer"][health] == "hidden"
    assert table["Erin Engineer"][columns(response).index(("id_documents", "hr_records"))] == "consent"
    # and on Erin's page there is no health line
    lines = client_for("acme", world.amy).get(f"/console/consents/{member(world, world.erin).pk}/").context["lines"]
    assert "health" not in {line.category for line in lines}


def test_department_filter(world, client_for):
    client = client_for("acme", world.alice)
    response = client.get(f"/console/consents/?department={world.engineering.pk}")
    assert set(rows(response)) == {"Erin Engineer"}
    response = client.get(f"/console/consents/?department={world.sales.pk}")
    assert set(rows(response)) == {"Bob Member", "Sam Scoped"}
    assert client.get("/console/consents/?department=999999").status_code == 400
    # Sam's filter offers only departments in his scope
    response = client_for("acme", world.sam).get(f"/console/consents/?department={world.engineering.pk}")
    assert response.status_code == 400 and "Erin Engineer" not in response.content.decode()


def test_overview_runs_a_constant_number_of_queries(world, client_for):
    """One query for the page of members (with the per-category flags), one for their active
    records, whatever the page holds (STYLE §10)."""
    acme = Enterprise.objects.get(pk=world.acme.pk)  # its current notice version, whatever other tests did
    for persona in ("sam", "alice"):
        client = client_for("acme", getattr(world, persona))
        prefix = "+86137110" if persona == "sam" else "+86137220"
        for m in add_sales_members(world, 5, report=False, prefix=prefix):
            consent_everything(acme, m)
        with CaptureQueriesContext(connection) as five:
            response = client.get("/console/consents/")
        assert response.status_code == 200
        small = len(response.context["rows"])
        for m in add_sales_members(world, 15, report=False, prefix=prefix + "9"):
            consent_everything(acme, m)
        with CaptureQueriesContext(connection) as twenty:
            response = client.get("/console/consents/")
        assert len(response.context["rows"]) == small + 15
        assert len(twenty) == len(five), persona


# --- one member's page ------------------------------------------------------------------------------


def test_member_page_shows_lines_within_scope_and_404_outside(world, client_for):
    client = client_for("acme", world.sam)
    response = client.get(f"/console/consents/{member(world, world.bob).pk}/")
    assert response.status_code == 200
    assert {line.category for line in response.context["lines"]} == {
        "health",
        "precise_location",
        "id_documents",
        "contacts",
    }
    assert client.get(f"/console/consents/{member(world, world.erin).pk}/").status_code == 404
    assert client.get("/console/consents/999999/").status_code == 404
    amy = client_for("acme", world.amy).get(f"/console/consents/{member(world, world.bob).pk}/")
    assert "health" not in {line.category for line in amy.context["lines"]}
    assert "health:health_monitoring" not in amy.content.decode()  # not offered in the form


def test_sam_records_a_health_basis_for_bob_with_a_ledger_entry(world, client_for):
    bob, sam = member(world, world.bob), member(world, world.sam)
    before = len(ledger_entries(world))
    response = client_for("acme", world.sam).post(f"/console/consents/{bob.pk}/", HEALTH)
    assert response.status_code == 302 and response["Location"] == f"/console/consents/{bob.pk}/"
    assert active_records(world, world.bob) == [("consent", ""), ("legal_obligation", REASON)]
    record = legal_basis(world, world.bob)
    assert (record.recorded_by_id, record.channel) == (sam.pk, "console")
    entries = ledger_entries(world)
    assert len(entries) == before + 1
    entry = entries[-1]
    assert (entry.actor_membership_id, entry.subject_membership_id, entry.category, entry.purpose) == (
        sam.pk,
        bob.pk,
        "health",
        REASON,
    )
    page = client_for("acme", world.sam).get(f"/console/consents/{bob.pk}/").content.decode()
    assert REASON in page and "Sam Scoped" in page and f"/console/consents/legal-bases/{record.pk}/end/" in page


def test_amy_without_health_cannot_record_a_health_basis(world, client_for):
    bob = member(world, world.bob)
    response = client_for("acme", world.amy).post(f"/console/consents/{bob.pk}/", HEALTH)
    assert response.status_code in (403, 404)
    assert active_records(world, world.bob) == [("consent", "")]
    # she may for a category she holds (ID documents: directory)
    response = client_for("acme", world.amy).post(
        f"/console/consents/{bob.pk}/",
        {"line": "id_documents:hr_records", "basis": "hr_necessity", "reason": "Social insurance registration"},
    )
    assert response.status_code == 302
    assert active_records(world, world.bob, category="id_documents")[1] == (
        "hr_necessity",
        "Social insurance registration",
    )


def test_sam_cannot_record_for_erin_outside_his_scope(world, client_for):
    response = client_for("acme", world.sam).post(f"/console/consents/{member(world, world.erin).pk}/", HEALTH)
    assert response.status_code in (400, 404)
    assert active_records(world, world.erin) == [("consent", "")]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**HEALTH, "reason": "too short"}, "reason"),
        ({**HEALTH, "reason": "x" * 201}, "reason"),
        ({**HEALTH, "basis": "consent"}, "basis"),
        ({**HEALTH, "basis": "whim"}, "basis"),
        ({**HEALTH, "line": "health:door_access"}, "line"),
        ({**HEALTH, "line": "horoscope:attendance"}, "line"),
    ],
)
def test_bad_input_is_a_400_with_field_errors_and_nothing_written(world, client_for, data, field):
    before = len(ledger_entries(world))
    response = client_for("acme", world.sam).post(f"/console/consents/{member(world, world.bob).pk}/", data)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert active_records(world, world.bob) == [("consent", "")]
    assert len(ledger_entries(world)) == before


def test_recording_the_same_basis_twice_is_a_400(world, client_for):
    client = client_for("acme", world.sam)
    bob = member(world, world.bob)
    assert client.post(f"/console/consents/{bob.pk}/", HEALTH).status_code == 302
    response = client.post(f"/console/consents/{bob.pk}/", HEALTH)
    assert response.status_code == 400 and response.context["form"].errors["basis"]


def test_a_legal_basis_outlives_the_withdrawn_consent_until_it_is_ended(world, client_for):
    """CON-4/CON-6: Bob withdraws his health consent; the recorded legal basis still allows the
    health report; once the admin ends it, collection is refused."""
    bob = member(world, world.bob)
    client = client_for("acme", world.sam)
    assert client.post(f"/console/consents/{bob.pk}/", HEALTH).status_code == 302
    with enterprise_schema(world.acme):
        consent = ConsentRecord.objects.get(
            membership=bob, category="health", basis="consent", withdrawn_at__isnull=True
        )
    consent_withdraw(enterprise=world.acme, membership=bob, record_id=consent.pk)
    health_report_submit(enterprise=world.acme, membership=bob, city="Shanghai", unwell=False)
    record = legal_basis(world, world.bob)
    before = len(ledger_entries(world))
    response = client.post(f"/console/consents/legal-bases/{record.pk}/end/", {"confirmed": "yes"})
    assert response.status_code == 302 and response["Location"] == f"/console/consents/{bob.pk}/"
    assert active_records(world, world.bob) == []
    assert len(ledger_entries(world)) == before + 1 and ledger_entries(world)[-1].details["ended"] is True
    with pytest.raises(ValidationError) as refused:
        health_report_submit(enterprise=world.acme, membership=bob, city="Shanghai", unwell=False)
    assert refused.value.error_dict["consent"][0].code == "consent_required"
    # ending it again: it is no longer an active legal basis
    assert client.post(f"/console/consents/legal-bases/{record.pk}/end/", {"confirmed": "yes"}).status_code == 404


def test_ending_needs_the_category_over_the_member(world, client_for):
    bob = member(world, world.bob)
    client_for("acme", world.sam).post(f"/console/consents/{bob.pk}/", HEALTH)
    record = legal_basis(world, world.bob)
    assert (
        client_for("acme", world.amy)
        .post(f"/console/consents/legal-bases/{record.pk}/end/", {"confirmed": "yes"})
        .status_code
        == 404
    )
    assert (
        client_for("acme", world.bob)
        .post(f"/console/consents/legal-bases/{record.pk}/end/", {"confirmed": "yes"})
        .status_code
        == 403
    )
    # a consent is not a legal basis: not endable here
    with enterprise_schema(world.acme):
        consent = ConsentRecord.objects.get(membership=bob, category="health", basis="consent")
    assert (
        client_for("acme", world.alice)
        .post(f"/console/consents/legal-bases/{consent.pk}/end/", {"confirmed": "yes"})
        .status_code
        == 404
    )
    assert client_for("acme", world.alice).get(f"/console/consents/legal-bases/{record.pk}/end/").status_code == 405
    assert active_records(world, world.bob) == [("consent", ""), ("legal_obligation", REASON)]


# --- the API ------------------------------------------------------------------------------------


def api_basis(member_id, **overrides):
    return {
        "member": member_id,
        "category": "health",
        "purpose": "health_monitoring",
        "basis": "legal_obligation",
        "reason": REASON,
        **overrides,
    }


def test_api_lines_of_a_member_within_scope(world, client_for):
    client = client_for("acme", world.sam)
    bob = member(world, world.bob)
    response = client.get(f"/api/v1/consents/?member={bob.pk}")
    assert response.status_code == 200
    body = response.json()
    assert (body["member"], body["name"]) == (bob.pk, "Bob Member")
    assert {line["category"] for line in body["lines"]} == {"health", "precise_location", "id_documents", "contacts"}
    assert all(line["consent"] and line["covered"] and line["legal_bases"] == [] for line in body["lines"])
    assert client.get(f"/api/v1/consents/?member={member(world, world.erin).pk}").status_code == 404
    assert client.get("/api/v1/consents/").status_code == 400
    assert client.get("/api/v1/consents/?member=bob").status_code == 400


def test_api_records_and_ends_a_legal_basis(world, client_for):
    client = client_for("acme", world.sam)
    bob = member(world, world.bob)
    before = len(ledger_entries(world))
    response = client.post("/api/v1/consents/legal-bases/", api_basis(bob.pk), content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert (body["member"], body["basis"], body["reason"], body["withdrawn_at"]) == (
        bob.pk,
        "legal_obligation",
        REASON,
        None,
    )
    assert len(ledger_entries(world)) == before + 1
    lines = client.get(f"/api/v1/consents/?member={bob.pk}").json()["lines"]
    health = next(line for line in lines if line["category"] == "health")
    assert [b["id"] for b in health["legal_bases"]] == [body["id"]]
    response = client.post(f"/api/v1/consents/legal-bases/{body['id']}/end/")
    assert response.status_code == 200 and response.json()["withdrawn_at"]
    assert client.post(f"/api/v1/consents/legal-bases/{body['id']}/end/").status_code == 404
    assert len(ledger_entries(world)) == before + 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reason": "short"}, "reason"),
        ({"basis": "consent"}, "basis"),
        ({"category": "horoscope"}, "category"),
        ({"purpose": "door_access"}, "purpose"),
        ({"member": "bob"}, "member"),
    ],
)
def test_api_bad_input_is_a_400_with_field_errors(world, client_for, overrides, field):
    bob = member(world, world.bob)
    response = client_for("acme", world.sam).post(
        "/api/v1/consents/legal-bases/", api_basis(bob.pk, **overrides), content_type="application/json"
    )
    assert response.status_code == 400 and field in response.json()
    assert active_records(world, world.bob) == [("consent", "")]


def test_api_refuses_outside_the_scope(world, client_for):
    bob, erin = member(world, world.bob), member(world, world.erin)
    response = client_for("acme", world.amy).post(
        "/api/v1/consents/legal-bases/", api_basis(bob.pk), content_type="application/json"
    )
    assert response.status_code == 403
    response = client_for("acme", world.sam).post(
        "/api/v1/consents/legal-bases/", api_basis(erin.pk), content_type="application/json"
    )
    assert response.status_code in (400, 404) and "member" in response.json()
    assert active_records(world, world.bob) == [("consent", "")]
    assert active_records(world, world.erin) == [("consent", "")]


# --- isolation (TEN-5) ---------------------------------------------------------------------------


def test_globex_admin_cannot_see_or_end_acmes_records_by_id(world, client_for):
    bob = member(world, world.bob)
    client_for("acme", world.alice).post(f"/console/consents/{bob.pk}/", HEALTH)
    record = legal_basis(world, world.bob)
    greg = client_for("globex", world.greg)
    assert greg.post(f"/api/v1/consents/legal-bases/{record.pk}/end/").status_code == 404
    assert greg.post(f"/console/consents/legal-bases/{record.pk}/end/", {"confirmed": "yes"}).status_code == 404
    response = greg.get(f"/api/v1/consents/?member={bob.pk}")  # that id is someone else in globex, or nobody
    assert "Bob Member" not in response.content.decode() and REASON not in response.content.decode()
    page = greg.get(f"/console/consents/{bob.pk}/")
    assert "Bob Member" not in page.content.decode() and REASON not in page.content.decode()
    assert "Bob Member" not in greg.get("/console/consents/").content.decode()
    assert active_records(world, world.bob) == [("consent", ""), ("legal_obligation", REASON)]
    # nor may he record anything for an acme member from globex: the id names a globex row
    response = greg.post("/api/v1/consents/legal-bases/", api_basis(bob.pk), content_type="application/json")
    assert response.status_code in (400, 403, 404)
    assert active_records(world, world.bob) == [("consent", ""), ("legal_obligation", REASON)]


def test_an_acme_session_is_refused_on_globex(world, client_for):
    client = client_for("acme", world.alice)
    client.defaults["HTTP_HOST"] = "globex.localhost"
    gus = member(world, world.gus, world.globex)
    for path in ("/console/consents/", f"/console/consents/{gus.pk}/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.post(f"/console/consents/{gus.pk}/", HEALTH).status_code == 302
    assert client.get(f"/api/v1/consents/?member={gus.pk}").status_code == 403
    assert (
        client.post("/api/v1/consents/legal-bases/", api_basis(gus.pk), content_type="application/json").status_code
        == 403
    )
    assert active_records(world, world.gus, enterprise=world.globex) == [("consent", "")]
