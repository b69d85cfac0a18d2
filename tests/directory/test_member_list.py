"""The member list at company scale (ENT-11, ENT-8, ENT-9, ENT-10, PERF-3): filters, sorting,
pagination, bulk actions, the Excel export — for the owner (alice) and the scoped admin of Sales
(sam, who sees only Sales' subtree)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from consent.models import Notification
from core.models import Department, Membership, Position
from core.scopes import dangerously_whole_enterprise
from directory.services import member_card_create
from health.models import HealthReport
from health.services import health_report_submit
from invitations.models import Invitation
from ledger.models import LedgerEntry
from retention.models import ErasurePlan
from tenants.context import enterprise_schema
from tenants.models import MembershipIndex


def _names(response) -> list[str]:
    return [row.name for row in response.context["rows"]]


def _ledger(world, **filters) -> list[LedgerEntry]:
    with enterprise_schema(world.acme):
        return list(LedgerEntry.objects.filter(**filters).order_by("id"))


def _invite(world, name: str, mobile: str, department: Department) -> Membership:
    card = member_card_create(
        enterprise=world.acme,
        actor=None,
        scope=dangerously_whole_enterprise(),
        data={"display_name": name, "mobile": mobile, "departments": [department.pk]},
    )
    connection.set_schema_to_public()
    return card


def _pk(world, user) -> int:
    return world.membership(world.acme, user).pk


# --- filters, sorting, pagination ------------------------------------------------------------------


def test_department_filter_is_a_subtree_and_the_column_names_departments(world, client_for):
    """ENT-11: department subtree filter; the department column; the selected one highlighted."""
    client = client_for("acme", world.alice)
    response = client.get(f"/console/members/?department={world.sales.pk}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert sorted(_names(response)) == ["Bob Member", "Sam Scoped"]
    departments = {row.name: row.departments for row in response.context["rows"]}
    assert departments == {"Bob Member": "Sales East", "Sam Scoped": "Sales"}
    assert f'href="?department={world.sales.pk}" aria-current="true"'.encode() in response.content


def test_scoped_admin_sees_and_filters_only_their_subtree(world, client_for):
    """ENT-8: sam's list, his department choices; Engineering answers like a missing id."""
    client = client_for("acme", world.sam)
    response = client.get("/console/members/")
    assert sorted(_names(response)) == ["Bob Member", "Sam Scoped"]
    choices = {value for value, _label in response.context["filter_form"].fields["department"].choices}
    assert choices == {"", world.sales.pk, world.sales_east.pk}
    outside = client.get(f"/console/members/?department={world.engineering.pk}")
    missing = client.get("/console/members/?department=999999")
    assert outside.status_code == missing.status_code == 400
    assert outside.context["filter_form"].errors["department"] == missing.context["filter_form"].errors["department"]
    assert b"Erin" not in outside.content


@pytest.mark.parametrize(
    "query,field",
    [
        ("status=gone", "status"),
        ("position=abc", "position"),
        ("rank=999999", "rank"),
        ("joined_from=2026-13-45", "joined_from"),
        ("department=x", "department"),
        ("sort=password", "sort"),
    ],
)
def test_bad_filter_values_are_field_errors_not_500(world, client_for, query, field):
    response = client_for("acme", world.alice).get(f"/console/members/?{query}")
    assert response.status_code == 400
    assert field in response.context["filter_form"].errors


def test_joined_range_end_before_start_is_refused(world, client_for):
    today = timezone.localdate()
    response = client_for("acme", world.alice).get(
        f"/console/members/?joined_from={today}&joined_to={today - timedelta(days=1)}"
    )
    assert response.status_code == 400 and "joined_to" in response.context["filter_form"].errors


def test_status_position_and_joined_filters(world, client_for):
    """ENT-11: status, position, joined between (the enterprise's local days)."""
    card = _invite(world, "Ivy Invited", "13700005555", world.sales)
    with enterprise_schema(world.acme):
        position = Position.objects.create(name="Engineer")
        Membership.objects.filter(account=world.erin).update(position=position)
        Membership.objects.filter(account=world.bob).update(joined_at=timezone.now() - timedelta(days=40))
        expected_recent = set(
            Membership.objects.filter(status="active", joined_at__gte=timezone.now() - timedelta(days=30)).values_list(
                "display_name", flat=True
            )
        )
    connection.set_schema_to_public()
    client = client_for("acme", world.alice)
    assert _names(client.get("/console/members/?status=invited")) == [card.display_name]
    assert _names(client.get(f"/console/members/?position={position.pk}")) == ["Erin Engineer"]
    today = timezone.localdate()
    recent = client.get(f"/console/members/?joined_from={today - timedelta(days=30)}&joined_to={today}")
    assert set(_names(recent)) == expected_recent and "Bob Member" not in expected_recent
    old = client.get(f"/console/members/?joined_to={today - timedelta(days=39)}")
    assert _names(old) == ["Bob Member"]


def test_sorting_by_headers_is_stable(world, client_for):
    """ENT-11: name, department, joined, status; id breaks ties."""
    client = client_for("acme", world.alice)
    with enterprise_schema(world.acme):
        everyone = list(Membership.objects.filter(status__in=["active", "invited"]))
    connection.set_schema_to_public()
    by_name = sorted(everyone, key=lambda m: (m.display_name.lower(), m.pk))
    assert _names(client.get("/console/members/?sort=name")) == [m.display_name for m in by_name]
    assert _names(client.get("/console/members/?sort=-name")) == [m.display_name for m in reversed(by_name)]
    by_department = _names(client.get("/console/members/?sort=department"))
    # Engineering < Sales < Sales East, members without a department last
    assert by_department[:3] == ["Erin Engineer", "Sam Scoped", "Bob Member"]
    response = client.get("/console/members/?sort=status")
    assert [r.status for r in response.context["rows"]] == sorted(r.status for r in response.context["rows"])
    assert response.context["sort_links"]["status"]["state"] == "asc"
    assert "sort=-status" in response.context["sort_links"]["status"]["url"]


def test_pagination_keeps_the_filters(world, client_for):
    with enterprise_schema(world.acme):
        created = Membership.objects.bulk_create(
            [Membership(display_name=f"Page {i:03d}", status="active") for i in range(55)]
        )
        for member in created:
            member.departments.add(world.engineering)
    connection.set_schema_to_public()
    client = client_for("acme", world.alice)
    response = client.get(f"/console/members/?department={world.engineering.pk}&sort=-name")
    assert response.context["page"].paginator.count == 56
    assert f"page=2&amp;department={world.engineering.pk}&amp;sort=-name".encode() in response.content
    second = client.get(f"/console/members/?page=2&department={world.engineering.pk}&sort=-name")
    assert len(_names(second)) == 6 and second.context["selected"].pk == world.engineering.pk
    # as Django's Paginator.get_page: past the end is the last page, a bad number the first
    base = f"/console/members/?department={world.engineering.pk}&sort=-name"
    beyond = client.get(base + "&page=9")
    assert beyond.context["page"].number == 2 and _names(beyond) == _names(second)
    for junk in ("abc", "0", "-3", ""):
        first = client.get(base + f"&page={junk}")
        assert first.context["page"].number == 1 and len(_names(first)) == 50, junk
        assert first.context["page"].paginator.count == 56
    # the API reads page numbers as DRF's PageNumberPagination does
    api = f"/api/v1/members/?department={world.engineering.pk}&sort=-name"
    assert client.get(api + "&page=2").json()["count"] == 56 and len(client.get(api + "&page=2").json()["results"]) == 6
    assert client.get(api + "&page=last").json()["results"] == client.get(api + "&page=2").json()["results"]
    assert client.get(api + "&page=2").json()["previous"] is not None and client.get(api).json()["next"] is not None
    for junk in ("abc", "0", "-3", "9"):
        refused = client.get(api + f"&page={junk}")
        assert refused.status_code == 404 and refused.json()["detail"] == "Invalid page.", junk
    assert client.get("/api/v1/members/?q=nobody-like-this").json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }
    nobody = client.get("/console/members/?q=nobody-like-this&page=3")
    assert nobody.context["page"].number == 1 and nobody.context["page"].paginator.count == 0


def test_empty_state_says_what_to_do(world, client_for):
    response = client_for("acme", world.alice).get("/console/members/?q=nobody-like-this", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert b"No member matches these filters." in response.content and b"Clear the filters" in response.content


def _add(world, start: int, count: int) -> None:
    with enterprise_schema(world.acme):
        created = Membership.objects.bulk_create(
            [Membership(display_name=f"Q {i:03d}", status="active") for i in range(start, start + count)]
        )
        for member in created:
            member.departments.add(world.sales_east, world.sales)
    connection.set_schema_to_public()


def test_query_count_is_the_same_for_5_and_50_members(world, client_for):
    """PERF-3: a constant number of queries whatever the page holds (departments, filters)."""
    client = client_for("acme", world.alice)
    urls = (
        "/console/members/",
        f"/console/members/?department={world.sales.pk}&sort=-name&status=active",
        f"/api/v1/members/?department={world.sales.pk}&sort=-joined",
    )
    counts = {}
    for total, add in ((5, 5), (50, 45)):
        _add(world, total - add, add)
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
                assert response.status_code == 200
            counts[(url, total)] = len(queries)
    for url in urls:
        assert counts[(url, 5)] == counts[(url, 50)], url
    assert counts[(urls[0], 50)] == 10
    with CaptureQueriesContext(connection) as queries:  # the department sort: a subquery, no more
        assert client.get("/console/members/?sort=department").status_code == 200
    assert len(queries) <= 10


# --- bulk actions --------------------------------------------------------------------------------


def test_bulk_move_is_scoped_all_or_nothing_and_recorded(world, client_for):
    """ENT-11, ENT-8, ENT-10: one out-of-scope id and nothing moves; then each move is recorded."""
    client = client_for("acme", world.sam)
    bob, sam, erin = _pk(world, world.bob), _pk(world, world.sam), _pk(world, world.erin)
    before = len(_ledger(world))
    response = client.post(
        "/console/members/bulk/", {"action": "move", "department": world.sales_east.pk, "members": [bob, sam, erin]}
    )
    assert response.status_code == 400 and "members" in response.context["bulk_form"].errors
    with enterprise_schema(world.acme):
        assert list(Membership.objects.get(pk=sam).departments.values_list("pk", flat=True)) == [world.sales.pk]
    assert len(_ledger(world)) == before
    # a department outside his scope answers like a missing one
    response = client.post(
        "/console/members/bulk/", {"action": "move", "department": world.engineering.pk, "members": [sam]}
    )
    assert response.status_code == 400 and "department" in response.context["bulk_form"].errors
    response = client.post(
        "/console/members/bulk/", {"action": "move", "department": world.sales_east.pk, "members": [bob, sam]}
    )
    assert response.status_code == 302
    with enterprise_schema(world.acme):
        assert list(Membership.objects.get(pk=sam).departments.values_list("pk", flat=True)) == [world.sales_east.pk]
    entries = _ledger(world, id__gt=0)[before:]
    assert [(e.action, e.subject_membership_id, e.details) for e in entries] == [
        ("change", sam, {"fields": ["departments"]})  # bob was already there: no change, no entry
    ]


def test_bulk_remove_needs_confirmation_and_revokes_invitations(world, client_for):
    """UI-4: a destructive bulk POST without confirmed=yes does nothing; then all-or-nothing."""
    card = _invite(world, "Ivy Invited", "13700005556", world.sales_east)
    client = client_for("acme", world.sam)
    data = {"action": "remove", "members": [card.pk]}
    before = len(_ledger(world))
    response = client.post("/console/members/bulk/", data)
    assert response.status_code == 200 and b'name="confirmed" value="yes"' in response.content
    with enterprise_schema(world.acme):
        assert Membership.objects.get(pk=card.pk).status == "invited"
    assert len(_ledger(world)) == before
    # the admin's own card among them: refused, nothing changed
    response = client.post(
        "/console/members/bulk/", {**data, "members": [card.pk, _pk(world, world.sam)], "confirmed": "yes"}
    )
    assert response.status_code == 400 and "members" in response.context["bulk_form"].errors
    with enterprise_schema(world.acme):
        assert Membership.objects.get(pk=card.pk).status == "invited"
    response = client.post("/console/members/bulk/", {**data, "confirmed": "yes"})
    assert response.status_code == 302
    with enterprise_schema(world.acme):
        assert Membership.objects.get(pk=card.pk).status == "left"
        assert Invitation.objects.get(membership_id=card.pk).status == "revoked"
    assert [e.action for e in _ledger(world)[before:]] == ["revoke"]


def test_bulk_remove_of_an_active_member_is_their_leaving_recorded_as_the_admins(world, client_for):
    """ENT-11, DSR-5, ENT-10: a scoped admin removes Bob (active, in Sales): his access ends at once,
    his health reports go now, his card is scheduled for anonymisation, /account/ no longer lists
    the enterprise, the ledger names Sam as the actor and Bob is told in his inbox."""
    bob = _pk(world, world.bob)
    health_report_submit(
        enterprise=world.acme, membership=world.membership(world.acme, world.bob), city="Shanghai", unwell=False
    )
    bob_client = client_for("acme", world.bob)
    assert bob_client.get("/me/").status_code == 200
    before = len(_ledger(world))
    response = client_for("acme", world.sam).post(
        "/console/members/bulk/", {"action": "remove", "members": [bob], "confirmed": "yes"}
    )
    assert response.status_code == 302
    with enterprise_schema(world.acme):
        card = Membership.objects.get(pk=bob)
        assert card.status == "left" and card.left_at is not None
        assert not HealthReport.objects.filter(membership_id=bob).exists()
        assert ErasurePlan.objects.filter(membership_id=bob).exists()
        (entry,) = [e for e in _ledger(world)[before:] if e.details.get("status") == "left"]
        assert entry.actor_membership_id == _pk(world, world.sam) and entry.actor_kind == "admin"
        assert entry.subject_membership_id == bob and entry.details["status"] == "left"
    connection.set_schema_to_public()
    assert not MembershipIndex.objects.filter(account=world.bob, enterprise=world.acme).exists()
    assert Notification.objects.filter(account=world.bob, kind="leave").count() == 1
    assert bob_client.get("/me/").status_code in (302, 403, 404)


def test_bulk_remove_refuses_owners_and_admins_unless_an_owner_acts(world, client_for):
    """Owners leave from their own account; only an owner removes an administrator."""
    alice, amy = _pk(world, world.alice), _pk(world, world.amy)
    response = client_for("acme", world.amy).post(
        "/console/members/bulk/", {"action": "remove", "members": [alice], "confirmed": "yes"}
    )
    assert response.status_code == 400 and "members" in response.context["bulk_form"].errors
    with enterprise_schema(world.acme):
        assert Membership.objects.get(pk=alice).status == "active"
    response = client_for("acme", world.alice).post(
        "/console/members/bulk/", {"action": "remove", "members": [amy], "confirmed": "yes"}
    )
    assert response.status_code == 302
    with enterprise_schema(world.acme):
        assert Membership.objects.get(pk=amy).status == "left"


def test_bulk_resend_only_for_pending_invitations(world, client_for):
    card = _invite(world, "Ivy Invited", "13700005557", world.sales)
    client = client_for("acme", world.alice)
    with enterprise_schema(world.acme):
        Invitation.objects.filter(membership_id=card.pk).update(expires_at=timezone.now() - timedelta(days=1))
    connection.set_schema_to_public()
    before = len(_ledger(world))
    response = client.post("/console/members/bulk/", {"action": "resend", "members": [card.pk, _pk(world, world.bob)]})
    assert response.status_code == 400 and len(_ledger(world)) == before
    response = client.post("/console/members/bulk/", {"action": "resend", "members": [card.pk]})
    assert response.status_code == 302
    with enterprise_schema(world.acme):
        assert Invitation.objects.get(membership_id=card.pk).expires_at > timezone.now() + timedelta(days=6)
    entries = _ledger(world)[before:]
    assert [(e.action, e.subject_membership_id, e.details.get("resent")) for e in entries] == [
        ("invite", card.pk, True)
    ]


def test_bulk_without_members_or_with_garbage_is_a_field_error(world, client_for):
    client = client_for("acme", world.alice)
    assert client.post("/console/members/bulk/", {"action": "move", "department": world.sales.pk}).status_code == 400
    response = client.post("/console/members/bulk/", {"action": "nuke", "members": ["x"]})
    assert response.status_code == 400
    assert {"action", "members"} <= set(response.context["bulk_form"].errors)


# --- export ----------------------------------------------------------------------------------------


def _sheet(response) -> list[tuple]:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    return [tuple(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


def test_export_is_masked_by_default_and_recorded(world, client_for):
    """ENT-11, ENT-9, ENT-10: the filtered list, masked, one ledger entry with the filters."""
    client = client_for("acme", world.alice)
    before = len(_ledger(world))
    rows = _sheet(client.post("/console/members/export/", {"department": world.sales.pk}, HTTP_ACCEPT_LANGUAGE="en"))
    assert rows[0][0] == "Name" and rows[0][7] == "Mobile number"
    assert sorted((r[0], r[7]) for r in rows[1:]) == [("Bob Member", "139****0003"), ("Sam Scoped", "139****0004")]
    (entry,) = _ledger(world)[before:]
    assert entry.action == "export" and entry.category == "directory"
    assert entry.details["masked"] is True and entry.details["unmasked"] is False
    assert entry.details["filters"]["department"] == world.sales.pk and entry.details["rows"] == 2


def test_unmasked_export_needs_a_purpose_and_is_recorded(world, client_for):
    client = client_for("acme", world.sam)  # holds the directory category for Sales
    before = len(_ledger(world))
    response = client.post("/console/members/export/", {"unmasked": "on"})
    assert response.status_code == 400 and "purpose" in response.context["export_form"].errors
    assert len(_ledger(world)) == before
    rows = _sheet(client.post("/console/members/export/", {"unmasked": "on", "purpose": "Payroll check"}))
    # only Sales; the spreadsheet helper defuses a leading "+" (formula injection) with a quote
    assert sorted(r[7].lstrip("'") for r in rows[1:]) == ["+8613900000003", "+8613900000004"]
    (entry,) = _ledger(world)[before:]
    assert entry.details["unmasked"] is True and entry.purpose == "Payroll check"


def test_admin_without_the_category_cannot_export_or_unmask(world, client_for):
    """ENT-8: an admin holding attendance only for Sales gets no directory export at all."""
    from directory.org import scope_grant
    from tenants.categories import Category

    erin = world.membership(world.acme, world.erin)
    scope_grant(enterprise=world.acme, actor=None, admin=erin, department=world.sales, categories=[Category.ATTENDANCE])
    connection.set_schema_to_public()
    client = client_for("acme", world.erin)
    before = len(_ledger(world))
    response = client.post("/console/members/export/", {"unmasked": "on", "purpose": "Curious"})
    assert response.status_code == 403
    assert len(_ledger(world)) == before


def test_unmasked_export_refused_without_the_sensitive_category(world):
    """The service refuses unmasked values when the scope lacks their category (field error)."""
    from django.core.exceptions import ValidationError

    from core.scopes import AdminScope
    from directory.selectors import MemberFilters
    from directory.services import members_export
    from tenants.categories import Category

    scope = AdminScope(world.membership(world.acme, world.amy), whole=frozenset({Category.ATTENDANCE}))
    with pytest.raises(ValidationError) as error:
        members_export(
            enterprise=world.acme,
            actor=scope.membership,
            scope=scope,
            filters=MemberFilters(),
            unmasked=True,
            purpose="x",
        )
    assert "unmasked" in error.value.message_dict


# --- API -----------------------------------------------------------------------------------------


def test_api_filters_sorting_and_field_errors(world, client_for):
    """ENT-11: the API takes the same filters and sorting; bad values are JSON 400 field errors."""
    client = client_for("acme", world.sam)
    response = client.get(f"/api/v1/members/?department={world.sales_east.pk}")
    assert response.status_code == 200
    assert [(m["display_name"], m["departments"]) for m in response.json()["results"]] == [
        ("Bob Member", [world.sales_east.pk])
    ]
    response = client.get("/api/v1/members/?sort=-name")
    assert [m["display_name"] for m in response.json()["results"]] == ["Sam Scoped", "Bob Member"]
    outside = client.get(f"/api/v1/members/?department={world.engineering.pk}")
    missing = client.get("/api/v1/members/?department=999999")
    assert outside.status_code == missing.status_code == 400
    assert outside.json() == missing.json() and "department" in outside.json()
    response = client.get("/api/v1/members/?status=x&joined_from=yesterday&sort=id")
    assert response.status_code == 400 and {"status", "joined_from", "sort"} <= set(response.json())


# --- the card form ---------------------------------------------------------------------------------


def test_add_form_has_sections_required_markers_and_no_keep_text(world, client_for):
    """Issue 16 §5: required markers, help text, no "Leave empty to keep" when adding."""
    client = client_for("acme", world.alice)
    add = client.get("/console/members/new/", HTTP_ACCEPT_LANGUAGE="en")
    assert add.status_code == 200
    assert b"Leave empty to keep the current one" not in add.content
    assert b'class="form-required"' in add.content and b"<fieldset" in add.content
    assert b"Organisation" in add.content
    edit = client.get(f"/console/members/{_pk(world, world.bob)}/edit/", HTTP_ACCEPT_LANGUAGE="en")
    assert b"Leave empty to keep the current one" in edit.content


def test_bulk_returns_to_the_filtered_list(world, client_for):
    client = client_for("acme", world.alice)
    response = client.post(
        "/console/members/bulk/",
        {
            "action": "move",
            "department": world.sales.pk,
            "members": [_pk(world, world.sam)],
            "next": f"department={world.sales.pk}&sort=-name\r\nX-Evil: 1",
        },
    )
    assert response.status_code == 302
    assert response["Location"].startswith(f"/console/members/?department={world.sales.pk}&sort=-name")
    assert "\n" not in response["Location"]
