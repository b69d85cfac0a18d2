"""The administrators' console: enterprise name, member count, directory (query counts constant)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from core.services import membership_create


def test_console_shows_the_enterprise_name_and_member_count(world, client_for):
    response = client_for("acme", world.amy).get("/console/")
    assert response.status_code == 200
    assert b"Acme Test" in response.content
    assert response.context["member_count"] == 6
    assert b"6 members" in response.content


def test_member_list_masks_mobile_numbers(world, client_for):
    response = client_for("acme", world.alice).get("/console/members/")
    assert response.status_code == 200
    assert b"139****0003" in response.content  # Bob
    assert b"13900000003" not in response.content
    assert b"Gus Member" not in response.content  # globex's


def test_member_list_runs_a_constant_number_of_queries(world, client_for, django_assert_num_queries):
    client = client_for("acme", world.alice)
    # 1 SET search_path public, 2 domain -> enterprise, 3 SET search_path acme, 4 session,
    # 5 account, 6 acting membership, 7 the admin's second factor, 8 departments in scope,
    # positions and ranks (one UNION ALL query: the tree and the filter panel), 9 the page: its
    # rows, each row's department ids (ENT-11), the accounts' columns for the under-18 badge
    # (ACC-4) and the list's count, in one statement (PERF-3)
    with django_assert_num_queries(10):  # +1: the app shell's header (inbox bell and enterprise switcher, UI-1)
        assert client.get("/console/members/").status_code == 200
    for i in range(5):
        account = User.objects.create_user(f"+86137000001{i:02d}", "x-long-pass-1", nickname=f"Extra {i}")
        membership_create(enterprise=world.acme, account=account, role="member")
    connection.set_schema_to_public()
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/console/members/")
    assert len(response.context["rows"]) == 11
    assert response.context["page"].paginator.count == 11
    assert len(queries) == 10  # the same whatever the number of rows


def test_member_detail_is_fetched_within_the_enterprise(world, client_for):
    client = client_for("acme", world.alice)
    from core.models import Membership
    from tenants.context import enterprise_schema

    with enterprise_schema(world.acme):
        bob_id = Membership.objects.get(account=world.bob).pk
    response = client.get(f"/console/members/{bob_id}/")
    assert response.status_code == 200
    assert b"Bob Member" in response.content
    assert client.get("/console/members/999999/").status_code == 404


def test_console_home_for_a_scoped_admin_without_the_directory(world, client_for):
    """A ledger-only scoped admin sees the console home without a member count (was a 500)."""
    from core.models import Department
    from directory.org import scope_grant
    from tenants.categories import Category
    from tenants.context import enterprise_schema

    with enterprise_schema(world.acme):
        root = Department.objects.order_by("path").first()
    scope_grant(
        enterprise=world.acme,
        actor=None,
        admin=world.membership(world.acme, world.erin),
        department=root,
        categories=[Category.LEDGER],
    )
    response = client_for("acme", world.erin).get("/console/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and response.context["member_count"] is None
    assert b'href="/console/members/"' not in response.content  # not hers to open
