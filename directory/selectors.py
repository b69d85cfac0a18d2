"""Reads of the member directory (ENT-11, PERF-3): the filtered, sorted member list and the rows a
page (or an export) shows.

Everything starts from `AdminScope.members(Category.DIRECTORY)`, so a filter can only narrow the
scope. The department tree is read once per request (`DirectoryLookups`) and serves the filter
panel, the tree beside the list, the validation of the department filter and the department
column; a page then costs a constant number of queries whatever its size: the count, the rows,
the rows' departments (one query over the link table) and the under-18 badge.

Rows are plain tuples of ready-to-print strings (`MemberRow`): the template does a handful of
lookups per row instead of walking model attributes and choice labels (PERF-3)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.contrib.postgres.expressions import ArraySubquery
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import CharField, Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.masking import mask_email, mask_mobile, mask_phone
from consent.minors.services import MINOR_FIELDS
from core.models import Department, Membership, Position, Rank
from core.scopes import AdminScope
from tenants.categories import Category

# sort key (as in the URL) → ORDER BY; `id` breaks ties so pages never overlap
# The name order is read off the (display_name, id) index (a page of 50 is not a sort of 10,000
# rows: PERF-3); the other orders fall back to it for ties.
SORTS: dict[str, tuple[Any, ...]] = {
    "name": ("display_name", "id"),
    "-name": ("-display_name", "-id"),
    "department": (F("first_department").asc(nulls_last=True), "display_name", "id"),
    "-department": (F("first_department").desc(nulls_last=True), "-display_name", "-id"),
    "joined": (F("joined_at").asc(nulls_last=True), "display_name", "id"),
    "-joined": (F("joined_at").desc(nulls_last=True), "-display_name", "-id"),
    "status": ("status", "display_name", "id"),
    "-status": ("-status", "-display_name", "-id"),
}
DEFAULT_SORT = "name"
LISTED_STATUSES = (Membership.Status.ACTIVE, Membership.Status.INVITED)


@dataclass
class DirectoryLookups:
    """The department tree, positions and ranks an admin may choose from, read once per request
    (3 queries) and reused by the filter form, the tree and the department column."""

    departments: list[Department]
    positions: list[Position]
    ranks: list[Rank]
    by_id: dict[int, Department] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {d.pk: d for d in self.departments}


def directory_lookups(scope: AdminScope) -> DirectoryLookups:
    """One query (UNION ALL of the three tables): every console request of the list pays one
    round trip instead of three (PERF-3)."""
    kind = Value("", output_field=CharField())
    departments = (
        scope.departments(Category.DIRECTORY)
        .order_by()
        .annotate(kind=Value("d", output_field=CharField()), level=Value(0))
        .values_list("kind", "id", "name", "path", "parent_id", "level")
    )
    positions = (
        Position.objects.order_by()
        .annotate(kind=Value("p", output_field=CharField()), path=kind, parent=Value(None, output_field=IntegerField()))
        .values_list("kind", "id", "name", "path", "parent", Value(0))
    )
    ranks = (
        Rank.objects.order_by()
        .annotate(kind=Value("r", output_field=CharField()), path=kind, parent=Value(None, output_field=IntegerField()))
        .values_list("kind", "id", "name", "path", "parent", "level")
    )
    found: dict[str, list[tuple[Any, ...]]] = {"d": [], "p": [], "r": []}
    for row in departments.union(positions, ranks, all=True):
        found[row[0]].append(row)
    return DirectoryLookups(
        departments=[
            Department(pk=pk, name=name, path=path, parent_id=parent)
            for _k, pk, name, path, parent, _l in sorted(found["d"], key=lambda r: r[3])
        ],
        positions=[Position(pk=pk, name=name) for _k, pk, name, *_rest in sorted(found["p"], key=lambda r: r[2])],
        ranks=[
            Rank(pk=pk, name=name, level=level)
            for _k, pk, name, _p, _parent, level in sorted(found["r"], key=lambda r: (r[5], r[2]))
        ],
    )


# the filters that name a row of the lookups (validated against the admin's tree and lists)
LOOKUP_FILTERS = ("department", "position", "rank")


def filter_lookups(scope: AdminScope, params: Any) -> DirectoryLookups:
    """The lookups a filter's validation needs: `directory_lookups` when `params` name a
    department, position or rank, else none (no query: the API's plain list, PERF-7)."""
    if any(params.get(name) for name in LOOKUP_FILTERS):
        return directory_lookups(scope)
    return DirectoryLookups(departments=[], positions=[], ranks=[])


@dataclass(frozen=True)
class MemberFilters:
    """Validated filters (directory.forms.MemberFilterForm, the API's serializer)."""

    department: Department | None = None
    status: str = ""
    position: int | None = None
    rank: int | None = None
    joined_from: datetime.date | None = None
    joined_to: datetime.date | None = None
    q: str = ""
    sort: str = DEFAULT_SORT

    def as_ledger_details(self) -> dict[str, Any]:
        """What an export records of the filters (ids and dates, no personal data)."""
        values = {
            "department": self.department.pk if self.department else None,
            "status": self.status,
            "position": self.position,
            "rank": self.rank,
            "joined_from": self.joined_from.isoformat() if self.joined_from else None,
            "joined_to": self.joined_to.isoformat() if self.joined_to else None,
            "search": bool(self.q),
            "sort": self.sort,
        }
        return {k: v for k, v in values.items() if v not in (None, "", False)}


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def member_list(scope: AdminScope, filters: MemberFilters) -> QuerySet[Membership]:
    """The members `scope` may see, narrowed by `filters`, in the requested order."""
    members = scope.members(Category.DIRECTORY)
    link = Membership.departments.through
    if filters.department is not None:
        members = members.filter(
            pk__in=link.objects.filter(department__path__startswith=filters.department.path).values("membership_id")
        )
    if filters.status:
        members = members.filter(status=filters.status)
    if filters.position:
        members = members.filter(position_id=filters.position)
    if filters.rank:
        members = members.filter(rank_id=filters.rank)
    if filters.joined_from:  # the enterprise's local day (Asia/Shanghai)
        members = members.filter(joined_at__gte=_local_midnight(filters.joined_from))
    if filters.joined_to:
        members = members.filter(joined_at__lt=_local_midnight(filters.joined_to + datetime.timedelta(days=1)))
    if filters.q:
        members = members.filter(Q(display_name__icontains=filters.q) | Q(mobile__contains=filters.q))
    sort = filters.sort if filters.sort in SORTS else DEFAULT_SORT
    if sort.lstrip("-") == "department":
        first = (
            link.objects.filter(membership_id=OuterRef("pk"))
            .order_by(Lower("department__name"), "department_id")
            .values("department__name")[:1]
        )
        members = members.annotate(first_department=Subquery(first))
    return members.order_by(*SORTS[sort])


class MemberRow(NamedTuple):
    pk: int
    name: str
    departments: str
    mobile: str
    title: str
    status: str
    status_label: str
    joined: str
    minor: bool


def department_names(member_ids: list[int], lookups: DirectoryLookups) -> dict[int, list[str]]:
    """Each member's departments (names, in tree order) that the admin's tree holds: one query."""
    link = Membership.departments.through
    names: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for membership_id, department_id in link.objects.filter(membership_id__in=member_ids).values_list(
        "membership_id", "department_id"
    ):
        department = lookups.by_id.get(department_id)
        if department is not None:
            names[membership_id].append((department.path, department.name))
    return {pk: [name for _path, name in sorted(pairs)] for pk, pairs in names.items()}


# a page's columns; the account's, for the under-18 badge (ACC-4, `consent.minors.minors_among`)
PAGE_FIELDS = ("pk", "account_id", "display_name", "mobile", "title", "status", "role", "joined_at") + tuple(
    f"account__{name}" for name in MINOR_FIELDS
)


def member_page(
    members: QuerySet[Membership], number: Any, per_page: int, *, strict: bool = False
) -> tuple[Page, list[dict[str, Any]]]:
    """One page of `members` (what `member_list` returns) in one statement: the page's columns,
    each member's department ids, and the filtered list's count as an uncorrelated subquery
    PostgreSQL runs once (a window count would visit every row in the list's order; a count, a
    page and the departments apart are three round trips: PERF-3). Returns the `Page` (for the
    links) and its rows as dicts.

    As Django's `Paginator.get_page` (the console): a bad or missing number is page 1, one past
    the end the last page. `strict` (the API, as DRF's `PageNumberPagination`): "last" is the last
    page, and a bad number or one past the end raises `InvalidPage` (page 1 of an empty list is
    valid)."""
    link = Membership.departments.through
    count = members.order_by().values(all=Value(1)).annotate(n=Count("*")).values("n")
    values = members.values(*PAGE_FIELDS).annotate(
        total=Subquery(count, output_field=IntegerField()),
        department_ids=ArraySubquery(link.objects.filter(membership_id=OuterRef("pk")).values("department_id")),
    )
    paginator = Paginator(members, per_page)
    if strict and number in ("last",):
        wanted = paginator.num_pages  # a count first: the last page's number is needed
    elif strict:  # Paginator.validate_number without its count (the statement brings it)
        try:
            wanted = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(paginator.error_messages["invalid_page"]) from None
        if wanted < 1:
            raise EmptyPage(paginator.error_messages["min_page"])
    else:
        try:
            wanted = max(int(number), 1)
        except (TypeError, ValueError):
            wanted = 1
    rows = list(values[(wanted - 1) * per_page : wanted * per_page])
    if rows:
        total = rows[0]["total"]
    else:
        total = members.count() if wanted > 1 else 0
        last = max(1, -(-total // per_page))
        if wanted > last:  # past the end
            if strict:
                raise EmptyPage(paginator.error_messages["no_results"])
            wanted = last  # the last page, as get_page does
            rows = list(values[(wanted - 1) * per_page : wanted * per_page])
    paginator.__dict__["count"] = total  # the cached_property, known from the statement
    return Page(rows, wanted, paginator), rows


def member_rows(members: list[dict[str, Any]], lookups: DirectoryLookups, minor_ids: set[int]) -> list[MemberRow]:
    """The page's rows (from `member_page`) with every label computed here, no query: each
    member's departments that the admin's tree holds, by name in tree order."""
    labels = {value: str(label) for value, label in Membership.Status.choices}
    rows = []
    for m in members:
        joined = m["joined_at"]
        departments = sorted(
            (department.path, department.name)
            for department in (lookups.by_id.get(pk) for pk in m["department_ids"] or ())
            if department is not None
        )
        rows.append(
            MemberRow(
                pk=m["pk"],
                name=m["display_name"],
                departments=", ".join(name for _path, name in departments),
                mobile=mask_mobile(m["mobile"]) if m["mobile"] else "",
                title=m["title"],
                status=m["status"],
                status_label=labels.get(m["status"], ""),
                joined=timezone.localdate(joined).isoformat() if joined else "",
                minor=m["account_id"] in minor_ids if m["account_id"] else False,
            )
        )
    return rows


# --- export ------------------------------------------------------------------------------------

# the card's values an export holds; the sensitive ones are masked unless the admin asked for
# them unmasked and holds their category (ENT-9, ENT-11). The resident ID number is never
# exported: reading it needs each person's consent basis (CON-6), it is revealed one at a time.
SENSITIVE_EXPORT_FIELDS: dict[str, str] = {
    "mobile": Category.DIRECTORY,
    "email": Category.DIRECTORY,
    "landline": Category.DIRECTORY,
    "enterprise_mailbox": Category.DIRECTORY,
}
MASKS = {"mobile": mask_mobile, "email": mask_email, "landline": mask_phone, "enterprise_mailbox": mask_email}


def export_rows(
    members: QuerySet[Membership], lookups: DirectoryLookups, *, unmasked: bool, batch: int = 2000
) -> list[list[Any]]:
    """Rows of the export, in the list's order: name, departments, status, position, rank,
    title, gender, mobile, email, landline, enterprise mailbox, joined (a constant number of
    queries per `batch` members)."""
    positions = {p.pk: p.name for p in lookups.positions}
    ranks = {r.pk: r.name for r in lookups.ranks}
    statuses = dict(Membership.Status.choices)
    genders = dict(Membership.Gender.choices)
    fields: tuple[str, ...] = ("id", "display_name", "status", "position_id", "rank_id", "title", "gender", "joined_at")
    fields += tuple(SENSITIVE_EXPORT_FIELDS)
    rows: list[list[Any]] = []
    chunk: list[Membership] = []

    def flush() -> None:
        names = department_names([m.pk for m in chunk], lookups)
        for m in chunk:
            sensitive = [
                getattr(m, f) if unmasked else (MASKS[f](getattr(m, f)) if getattr(m, f) else "")
                for f in SENSITIVE_EXPORT_FIELDS
            ]
            rows.append(
                [
                    m.display_name,
                    ", ".join(names.get(m.pk, ())),
                    str(statuses.get(m.status, "")),
                    positions.get(m.position_id or 0, ""),
                    ranks.get(m.rank_id or 0, ""),
                    m.title,
                    str(genders.get(m.gender, "")) if m.gender else "",
                    *sensitive,
                    timezone.localdate(m.joined_at) if m.joined_at else None,
                ]
            )
        chunk.clear()

    for member in members.only(*fields).iterator(chunk_size=batch):
        chunk.append(member)
        if len(chunk) >= batch:
            flush()
    if chunk:
        flush()
    return rows
