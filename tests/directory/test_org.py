"""The org editor (ENT-1, ENT-8, ENT-10, UI-1, issue 16 §6): the department tree with member
counts, expand/collapse, a ⋯ menu per department, one small page per change, confirmation of
deletes, positions and ranks on their own tabs — through HTTP, as the owner, a full admin and a
scoped admin."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Department, Membership, Position, Rank
from directory.org import department_create, position_create, rank_create
from ledger.models import LedgerEntry
from tenants.context import enterprise_schema

ROW = re.compile(r'<li class="portal-org-node" id="department-(\d+)" data-direct="(\d+)" data-total="(\d+)">')


def tree_counts(html: str) -> dict[int, tuple[int, int]]:
    return {int(pk): (int(direct), int(total)) for pk, direct, total in ROW.findall(html)}


def expected_counts(world, visible: set[int]) -> dict[int, tuple[int, int]]:
    """Direct and subtree counts computed here, from the rows: active and invited cards, each
    person once per subtree."""
    with enterprise_schema(world.acme):
        departments = {d.pk: d for d in Department.objects.all()}
        cards = {
            m.pk: {d.pk for d in m.departments.all()}
            for m in Membership.objects.filter(status__in=["active", "invited"]).prefetch_related("departments")
        }
    result = {}
    for pk in visible:
        path = departments[pk].path
        direct = sum(1 for held in cards.values() if pk in held)
        total = sum(1 for held in cards.values() if any(departments[d].path.startswith(path) for d in held))
        result[pk] = (direct, total)
    return result


def ids_of(html: str) -> list[str]:
    return re.findall(r'\sid="([^"]+)"', html)


def root_of(world) -> Department:
    with enterprise_schema(world.acme):
        return Department.objects.get(parent__isnull=True)


def in_acme(world, function):
    with enterprise_schema(world.acme):
        return function()


# --- the tree -----------------------------------------------------------------------------------


def test_the_tree_shows_direct_and_subtree_counts(world, client_for):
    """ENT-1: each department with its members, directly and with its sub-departments; one
    person in two departments of a subtree counts once there."""
    bob = world.membership(world.acme, world.bob)
    in_acme(world, lambda: bob.departments.add(world.sales))  # Sales and Sales East
    client = client_for("acme", world.alice)
    html = client.get("/console/org/").content.decode()
    counts = tree_counts(html)
    visible = set(in_acme(world, lambda: set(Department.objects.values_list("pk", flat=True))))
    assert set(counts) == visible
    assert counts == expected_counts(world, visible)
    assert counts[world.sales.pk] == (2, 2)  # sam and bob directly; bob once in the subtree
    assert counts[world.sales_east.pk] == (1, 1)
    assert counts[root_of(world).pk][1] == 3  # bob, sam, erin hold a department
    # a name links to the member list of that subtree (its existing filter)
    assert f'href="/console/members/?department={world.sales.pk}"' in html
    members = client.get(f"/console/members/?department={world.sales.pk}").content.decode()
    assert "Bob Member" in members and "Erin Engineer" not in members


def test_expand_and_collapse_without_inline_script(world, client_for):
    """UI-1: <details> per department with sub-departments, "expand all / collapse all" by a
    data attribute (static/js/portal.js); no inline handler."""
    html = client_for("acme", world.alice).get("/console/org/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    sales = html[html.index(f'id="department-{world.sales.pk}"') :]
    sales_row = sales[: sales.index(f'id="department-{world.sales_east.pk}"')]
    assert '<details class="portal-org-sub" open>' in sales_row  # has a child: collapsible
    assert '<details class="portal-org-sub" open data-details-keep>' in html  # the top stays open
    east = html[html.index(f'id="department-{world.sales_east.pk}"') :]
    assert "<details" not in east[: east.index("</li>")]  # a leaf has nothing to collapse
    assert 'data-details-toggle="open" data-target="org-tree"' in html
    assert 'data-details-toggle="close" data-target="org-tree"' in html
    assert 'id="org-tree"' in html
    assert not re.search(r"\son[a-z]+=", html)
    assert html.count("<details") == html.count("</details>")
    with open("static/js/portal.js", encoding="utf-8") as script:
        assert "data-details-toggle" in script.read()


def test_a_menu_per_department_with_its_actions(world, client_for):
    """Issue 16 §6: a ⋯ menu per department (Bootstrap dropdown) — add a child, rename, move,
    delete; the root has no move or delete; unique ids on the page."""
    root = root_of(world)
    html = client_for("acme", world.alice).get("/console/org/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert html.count('class="dropdown portal-org-menu"') == len(tree_counts(html))
    assert f'href="/console/org/departments/new/?parent={world.sales.pk}"' in html
    assert f'href="/console/org/departments/{world.sales.pk}/rename/"' in html
    assert f'href="/console/org/departments/{world.sales.pk}/move/"' in html
    assert f'href="/console/org/departments/{root.pk}/rename/"' in html
    assert f"/console/org/departments/{root.pk}/move/" not in html
    assert f"/console/org/departments/{root.pk}/delete/" not in html
    # an empty department deletes from the menu after the <dialog>; one with members explains why not
    empty = department_create(enterprise=world.acme, actor=None, name="Empty Team")
    html = client_for("acme", world.alice).get("/console/org/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(
        rf'<form method="post" action="/console/org/departments/{empty.pk}/delete/" '
        r'data-confirm="Delete the department Empty Team\? This cannot be undone.">',
        html,
    )
    assert f'<a class="dropdown-item text-danger" href="/console/org/departments/{world.sales.pk}/delete/">' in html
    assert 'aria-label="Actions for Sales"' in html
    duplicates = [i for i, n in Counter(ids_of(html)).items() if n > 1]
    assert duplicates == []
    assert not re.search(r"<(input|select)(?! type=\"hidden\")", html.split('id="org-tree"')[1])  # no inputs on rows


def test_every_org_page_has_unique_ids(world, client_for):
    client = client_for("acme", world.alice)
    position = position_create(enterprise=world.acme, actor=None, name="Engineer")
    rank = rank_create(enterprise=world.acme, actor=None, name="P5", level=5)
    pages = [
        "/console/org/",
        "/console/org/positions/",
        "/console/org/ranks/",
        "/console/org/departments/new/",
        f"/console/org/departments/{world.sales.pk}/rename/",
        f"/console/org/departments/{world.sales.pk}/move/",
        f"/console/org/departments/{world.sales.pk}/delete/",
        "/console/org/positions/new/",
        f"/console/org/positions/{position.pk}/edit/",
        f"/console/org/positions/{position.pk}/delete/",
        "/console/org/ranks/new/",
        f"/console/org/ranks/{rank.pk}/edit/",
        f"/console/org/ranks/{rank.pk}/delete/",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert [i for i, n in Counter(ids_of(html)).items() if n > 1] == [], path
        # the side menu marks "Organisation" on every page of the editor
        current = re.findall(r'<a class="nav-link active" href="([^"]+)" aria-current="page">', html)
        assert current == ["/console/org/"], path


@pytest.mark.parametrize("size", [3, 60])
def test_the_tree_costs_the_same_queries_for_3_or_60_departments(world, client_for, size):
    """Issue 16 §6: one aggregated query for the counts, none per department."""
    client = client_for("acme", world.alice)
    client.get("/console/org/")  # warm caches (sessions, content types)
    baseline = _queries(client)
    parent = world.engineering
    for index in range(size):
        department = department_create(enterprise=world.acme, actor=None, name=f"Team {index}", parent=parent)
        if index % 3 == 0:
            parent = department
    with_more = _queries(client)
    assert with_more == baseline
    assert len(tree_counts(client.get("/console/org/").content.decode())) == 4 + size


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/console/org/").status_code == 200
    return len(queries.captured_queries)


# --- scoped administrators ----------------------------------------------------------------------


def test_a_scoped_admin_sees_their_subtree_and_changes_nothing(world, client_for):
    """ENT-8: sam (directory over Sales) sees Sales and Sales East with the counts of his scope,
    no menu and no add button; every change page answers 403, whatever the id (so an id outside
    his scope answers like a missing one)."""
    sam = client_for("acme", world.sam)
    html = sam.get("/console/org/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    counts = tree_counts(html)
    assert set(counts) == {world.sales.pk, world.sales_east.pk}
    assert counts == expected_counts(world, set(counts))
    tree = html[html.index('id="org-tree"') : html.index("</main>")]
    assert "Engineering" not in tree and "Acme Test" not in tree
    assert "portal-org-menu" not in html and "/console/org/departments/new/" not in html
    missing = 10**6
    for pk in (world.sales.pk, world.engineering.pk, missing):
        for action in ("rename", "move", "delete"):
            path = f"/console/org/departments/{pk}/{action}/"
            assert sam.get(path).status_code == 403, path
            assert sam.post(path, {"name": "X", "parent": world.sales.pk, "confirmed": "yes"}).status_code == 403
    assert sam.get("/console/org/departments/new/").status_code == 403
    assert sam.post("/console/org/departments/new/", {"name": "Shadow", "parent": world.sales.pk}).status_code == 403
    assert in_acme(world, lambda: not Department.objects.filter(name__in=["X", "Shadow"]).exists())
    # positions and ranks: read-only for him, counted within his scope
    engineer = position_create(enterprise=world.acme, actor=None, name="Engineer")
    for user in (world.bob, world.erin):
        member = world.membership(world.acme, user)
        in_acme(world, lambda member=member: Membership.objects.filter(pk=member.pk).update(position=engineer))
    positions = sam.get("/console/org/positions/").content.decode()
    assert f'<tr id="position-{engineer.pk}" data-members="1">' in positions  # bob only
    assert "/console/org/positions/new/" not in positions
    owner = client_for("acme", world.alice).get("/console/org/positions/").content.decode()
    assert f'<tr id="position-{engineer.pk}" data-members="2">' in owner
    assert sam.post("/console/org/positions/new/", {"name": "Spy"}).status_code == 403
    assert sam.post(f"/console/org/positions/{engineer.pk}/delete/", {"confirmed": "yes"}).status_code == 403


def test_unknown_ids_are_404(world, client_for):
    alice = client_for("acme", world.alice)
    with enterprise_schema(world.globex):
        globex_department = Department.objects.create(name="Elsewhere", path="/pending/")
    for pk in (10**6, globex_department.pk + 10**5):
        for action in ("rename", "move", "delete"):
            assert alice.get(f"/console/org/departments/{pk}/{action}/").status_code == 404
        assert alice.get(f"/console/org/positions/{pk}/edit/").status_code == 404
        assert alice.post(f"/console/org/ranks/{pk}/delete/", {"confirmed": "yes"}).status_code == 404


# --- changes ------------------------------------------------------------------------------------


def test_add_a_sub_department_from_the_menu(world, client_for):
    """ENT-1, ENT-10: "Add a sub-department" preselects the parent; the change is recorded."""
    amy = client_for("acme", world.amy)  # a full administrator
    form = amy.get(f"/console/org/departments/new/?parent={world.sales.pk}").content.decode()
    assert re.search(rf'<option value="{world.sales.pk}" selected>', form)
    response = amy.post("/console/org/departments/new/", {"name": "Sales West", "parent": world.sales.pk})
    assert response.status_code == 302
    west = in_acme(world, lambda: Department.objects.get(name="Sales West"))
    assert response["Location"] == f"/console/org/#department-{west.pk}"
    assert west.parent_id == world.sales.pk
    entry = in_acme(world, lambda: LedgerEntry.objects.order_by("-id").first())
    assert (entry.action, entry.object_id) == ("create", str(west.pk))
    # the same name twice under one parent: the field error, nothing written
    again = amy.post("/console/org/departments/new/", {"name": "Sales West", "parent": world.sales.pk})
    assert again.status_code == 400
    assert "already exists" in again.content.decode()
    assert amy.post("/console/org/departments/new/", {"name": "", "parent": world.sales.pk}).status_code == 400


def test_rename_and_move(world, client_for):
    alice = client_for("acme", world.alice)
    page = alice.get(f"/console/org/departments/{world.sales_east.pk}/rename/").content.decode()
    assert 'value="Sales East"' in page
    assert alice.post(f"/console/org/departments/{world.sales_east.pk}/rename/", {"name": "East"}).status_code == 302
    assert in_acme(world, lambda: Department.objects.get(pk=world.sales_east.pk).name) == "East"
    clash = alice.post(f"/console/org/departments/{world.sales.pk}/rename/", {"name": "Engineering"})
    assert (
        clash.status_code == 400 and in_acme(world, lambda: Department.objects.get(pk=world.sales.pk).name) == "Sales"
    )
    # move: the choices leave out the department's own subtree and its current parent
    move = alice.get(f"/console/org/departments/{world.sales.pk}/move/").content.decode()
    options = set(map(int, re.findall(r'<option value="(\d+)"', move)))
    assert world.engineering.pk in options
    assert not options & {world.sales.pk, world.sales_east.pk, root_of(world).pk}
    into_itself = alice.post(f"/console/org/departments/{world.sales.pk}/move/", {"parent": world.sales_east.pk})
    assert into_itself.status_code == 400
    moved = alice.post(f"/console/org/departments/{world.sales.pk}/move/", {"parent": world.engineering.pk})
    assert moved.status_code == 302
    sales, east = in_acme(world, lambda: list(Department.objects.filter(pk__in=[world.sales.pk, world.sales_east.pk])))
    assert sales.parent_id == world.engineering.pk
    assert east.path == f"{world.engineering.path}{world.sales.pk}/{world.sales_east.pk}/"
    # the root cannot be moved: its page says so instead of a form
    root = root_of(world)
    refused = alice.get(f"/console/org/departments/{root.pk}/move/")
    assert refused.status_code == 302 and refused["Location"] == "/console/org/"


def test_delete_asks_first_and_refuses_a_department_that_is_not_empty(world, client_for):
    """Issue 16 §1/§6, UI-1: a delete without confirmed=yes does nothing; an empty department
    goes with confirmation; one with members or sub-departments stays, with a clear message."""
    alice = client_for("acme", world.alice)
    team = department_create(enterprise=world.acme, actor=None, name="Temporary Team")
    path = f"/console/org/departments/{team.pk}/delete/"
    exists = lambda pk: in_acme(world, lambda: Department.objects.filter(pk=pk).exists())  # noqa: E731
    for confirmed in (None, "", "no", "1"):
        data = {} if confirmed is None else {"confirmed": confirmed}
        page = alice.post(path, data, HTTP_ACCEPT_LANGUAGE="en")
        assert page.status_code == 200 and 'id="confirm-form"' in page.content.decode()
        assert "Delete the department Temporary Team?" in page.content.decode()
        assert exists(team.pk)
    confirm = alice.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<input type="hidden" name="confirmed" value="yes">' in confirm
    assert alice.post(path, {"confirmed": "yes"}).status_code == 302
    assert not exists(team.pk)
    # not empty: the page explains, a confirmed POST is refused with the same message
    sales = f"/console/org/departments/{world.sales.pk}/delete/"
    explain = alice.get(sales, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Sales cannot be deleted yet" in explain
    assert "It still holds 1 member card" in explain and "It has 1 sub-department." in explain
    assert 'id="confirm-form"' not in explain
    refused = alice.post(sales, {"confirmed": "yes"}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400
    assert "Only an empty department can be deleted" in refused.content.decode()
    assert exists(world.sales.pk)
    root = root_of(world)
    refused = alice.post(f"/console/org/departments/{root.pk}/delete/", {"confirmed": "yes"})
    assert refused.status_code == 400 and exists(root.pk)


# --- positions and ranks ------------------------------------------------------------------------


def test_tabs_are_separate_pages(world, client_for):
    alice = client_for("acme", world.alice)
    for path, tab in (
        ("/console/org/", "Departments"),
        ("/console/org/positions/", "Positions"),
        ("/console/org/ranks/", "Ranks"),
    ):
        html = alice.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert re.findall(r'<a class="nav-link active" href="([^"]+)" aria-current="true">(\w+)</a>', html) == [
            (path, tab)
        ]


def test_positions_add_rename_delete(world, client_for):
    """ENT-1, ENT-10: positions with the members holding them; one in use is not deleted."""
    alice = client_for("acme", world.alice)
    assert alice.post("/console/org/positions/new/", {"name": "Engineer"}).status_code == 302
    assert alice.post("/console/org/positions/new/", {"name": "Engineer"}).status_code == 400
    engineer = in_acme(world, lambda: Position.objects.get(name="Engineer"))
    edit = f"/console/org/positions/{engineer.pk}/edit/"
    assert 'value="Engineer"' in alice.get(edit).content.decode()
    assert alice.post(edit, {"name": "Software engineer"}).status_code == 302
    assert in_acme(world, lambda: Position.objects.get(pk=engineer.pk).name) == "Software engineer"
    erin = world.membership(world.acme, world.erin)
    in_acme(world, lambda: Membership.objects.filter(pk=erin.pk).update(position=engineer))
    listing = alice.get("/console/org/positions/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'<tr id="position-{engineer.pk}" data-members="1">' in listing
    delete = f"/console/org/positions/{engineer.pk}/delete/"
    assert f'<a class="btn btn-sm btn-ghost-danger" href="{delete}">' in listing  # in use: the page explains
    assert "1 active or invited member holds it" in alice.get(delete, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    refused = alice.post(delete, {"confirmed": "yes"}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400 and "Members hold this position" in refused.content.decode()
    in_acme(world, lambda: Membership.objects.filter(pk=erin.pk).update(position=None))
    assert alice.post(delete, {}).status_code == 200  # the confirmation page, nothing deleted
    assert in_acme(world, lambda: Position.objects.filter(pk=engineer.pk).exists())
    assert alice.post(delete, {"confirmed": "yes"}).status_code == 302
    assert not in_acme(world, lambda: Position.objects.filter(pk=engineer.pk).exists())
    entry = in_acme(world, lambda: LedgerEntry.objects.order_by("-id").first())
    assert (entry.action, entry.object_type, entry.object_id) == (
        "delete",
        "enterprise_data.position",
        str(engineer.pk),
    )


def test_ranks_add_edit_delete(world, client_for):
    alice = client_for("acme", world.alice)
    assert alice.post("/console/org/ranks/new/", {"name": "P6", "level": 6}).status_code == 302
    assert alice.post("/console/org/ranks/new/", {"name": "P5", "level": 5}).status_code == 302
    assert alice.post("/console/org/ranks/new/", {"name": "P7", "level": -1}).status_code == 400
    listing = alice.get("/console/org/ranks/").content.decode()
    assert listing.index(">P5<") < listing.index(">P6<")  # by level
    p6 = in_acme(world, lambda: Rank.objects.get(name="P6"))
    assert alice.post(f"/console/org/ranks/{p6.pk}/edit/", {"name": "P6+", "level": 4}).status_code == 302
    p6 = in_acme(world, lambda: Rank.objects.get(pk=p6.pk))
    assert (p6.name, p6.level) == ("P6+", 4)
    assert alice.post(f"/console/org/ranks/{p6.pk}/delete/").status_code == 200
    assert in_acme(world, lambda: Rank.objects.filter(pk=p6.pk).exists())
    assert alice.post(f"/console/org/ranks/{p6.pk}/delete/", {"confirmed": "yes"}).status_code == 302
    assert not in_acme(world, lambda: Rank.objects.filter(pk=p6.pk).exists())


def test_the_editor_in_chinese(world, client_for):
    """UI-3: zh-Hans first — tabs, counts and menus are translated."""
    alice = client_for("acme", world.alice)
    html = alice.get("/console/org/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    expected = ("组织架构", "部门", "职位", "职级", "全部展开", "全部收起", "添加子部门", "重命名", "移动", "2 名成员")
    for text in expected:
        assert text in html, text
    delete = alice.get(f"/console/org/departments/{world.sales.pk}/delete/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "暂不能删除" in delete.content.decode()


def test_a_new_enterprise_adds_its_first_department(world, client_for):
    """A new enterprise has no department yet: the add page needs no parent, and the enterprise
    (the root, created then) becomes the top of the tree."""
    gina = client_for("globex", world.gina)
    with enterprise_schema(world.globex):
        assert not Department.objects.exists()
    assert "No departments in your scope." in gina.get("/console/org/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert gina.get("/console/org/departments/new/").status_code == 200
    assert gina.post("/console/org/departments/new/", {"name": "Finance", "parent": ""}).status_code == 302
    with enterprise_schema(world.globex):
        finance = Department.objects.get(name="Finance")
        assert finance.parent is not None and finance.parent.parent_id is None
    html = gina.get("/console/org/").content.decode()
    assert set(tree_counts(html)) == {finance.pk, finance.parent_id}
    # nowhere else to go yet: the move page says so instead of an empty choice
    move = gina.get(f"/console/org/departments/{finance.pk}/move/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "There is no other department to move it under yet" in move and 'name="parent"' not in move


def test_positions_and_ranks_are_named_not_people(world, client_for):
    """UI-3: the column and the field read 名称 (a thing's name), not 姓名 (a person's)."""
    alice = client_for("acme", world.alice)
    for path in ("/console/org/positions/", "/console/org/ranks/new/", "/console/org/departments/new/"):
        html = alice.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        main = html[html.index("<main") : html.index("</main>")]
        assert "名称" in main and "姓名" not in main, path
