"""Reads of the org editor (ENT-1, ENT-8, issue 16 §6): the department tree of an admin's scope
with member counts, and positions and ranks with how many members hold them.

Every figure counts the members the admin may see (`AdminScope.members(Category.DIRECTORY)`:
active and invited cards in the scope), so a scoped admin's counts never reveal people outside
it. The counts are correlated subqueries of ONE query, whatever the number of departments."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Exists, F, Func, IntegerField, OuterRef, QuerySet, Subquery

from core.models import Department, Membership, Position, Rank
from core.scopes import AdminScope
from tenants.categories import Category

DepartmentMembers = Membership.departments.through
OPEN_DEPTH = 2  # nodes above this depth start expanded: the root and the first level


class _CountDistinct(Func):
    """`COUNT(DISTINCT …)` as a plain expression: a whole-subquery aggregate without GROUP BY."""

    function = "COUNT"
    template = "COUNT(DISTINCT %(expressions)s)"
    output_field = IntegerField()


def _count(queryset: QuerySet, column: str) -> Subquery:
    return Subquery(queryset.order_by().values(n=_CountDistinct(F(column))), output_field=IntegerField())


@dataclass
class OrgNode:
    department: Department
    level: int  # 0 for the top of the visible tree (the root, or a scoped admin's departments)
    direct: int  # members in this department itself
    total: int  # distinct members in its subtree (one person in two sub-departments counts once)
    empty: bool  # no sub-departments and no card at all (departed ones included): it may be deleted
    has_children: bool = False
    closes: range = range(0)  # how many open <details> end after this node (the flat template)

    @property
    def pk(self) -> int:
        return self.department.pk

    @property
    def name(self) -> str:
        return self.department.name

    @property
    def is_root(self) -> bool:
        return self.department.parent_id is None

    @property
    def open(self) -> bool:
        return self.level < OPEN_DEPTH


def departments_with_counts(scope: AdminScope) -> QuerySet[Department]:
    """The scope's departments annotated with `direct`, `total` and `has_cards` (one query)."""
    members = scope.members(Category.DIRECTORY).values("pk")
    in_scope = DepartmentMembers.objects.filter(membership_id__in=members)
    return scope.departments(Category.DIRECTORY).annotate(
        direct=_count(in_scope.filter(department_id=OuterRef("pk")), "membership_id"),
        total=_count(in_scope.filter(department__path__startswith=OuterRef("path")), "membership_id"),
        has_cards=Exists(DepartmentMembers.objects.filter(department_id=OuterRef("pk"))),
    )


def org_tree(scope: AdminScope) -> list[OrgNode]:
    """The visible departments as a tree in display order (siblings by order, then name), flat:
    each node knows its level and how many levels close after it."""
    rows = list(departments_with_counts(scope))
    visible = {d.pk for d in rows}
    children: dict[int | None, list[Department]] = defaultdict(list)
    for department in rows:
        parent = department.parent_id if department.parent_id in visible else None
        children[parent].append(department)
    has_child = {d.parent_id for d in rows}
    flat: list[OrgNode] = []

    def walk(parent: int | None, level: int) -> None:
        for department in sorted(children.get(parent, ()), key=lambda d: (d.sort_order, d.name)):
            node = OrgNode(
                department=department,
                level=level,
                direct=department.direct,  # type: ignore[attr-defined]  # annotated
                total=department.total,  # type: ignore[attr-defined]
                empty=department.pk not in has_child and not department.has_cards,  # type: ignore[attr-defined]
            )
            flat.append(node)
            if department.pk in children:
                node.has_children = True
                walk(department.pk, level + 1)

    walk(None, 0)
    # after the last node of a subtree, its open ancestors close
    for index, node in enumerate(flat):
        following = flat[index + 1].level if index + 1 < len(flat) else 0
        node.closes = range(max(node.level - following, 0))
    return flat


def move_targets(scope: AdminScope, department: Department) -> QuerySet[Department]:
    """Where `department` may move: every visible department outside its own subtree except its
    current parent, in tree order (the select indents each name by its depth)."""
    targets = scope.departments(Category.DIRECTORY).exclude(path__startswith=department.path)
    if department.parent_id is not None:
        targets = targets.exclude(pk=department.parent_id)
    return targets.order_by("path")


def positions_with_counts(scope: AdminScope) -> QuerySet[Position]:
    members = scope.members(Category.DIRECTORY)
    return Position.objects.annotate(members_count=_count(members.filter(position_id=OuterRef("pk")), "pk")).order_by(
        "name"
    )


def ranks_with_counts(scope: AdminScope) -> QuerySet[Rank]:
    members = scope.members(Category.DIRECTORY)
    return Rank.objects.annotate(members_count=_count(members.filter(rank_id=OuterRef("pk")), "pk")).order_by(
        "level", "name"
    )
