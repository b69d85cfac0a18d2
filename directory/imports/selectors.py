"""The import's plan (issue 16 §5): every row validated the way the add-member form validates a
card (directory.services: the same limits, phonenumbers for mobiles, Django's e-mail check), in
one pass with batched lookups — a fixed number of queries whatever the number of rows.

Each row comes out `new` (no card has its mobile number), `update` (the card with its number
would change), `unchanged`, or `bad` with its field errors. Rows are matched by mobile number in
E.164 (the card's number, or an active member's account number). A scoped administrator's rows
may name only departments of their subtree (others are unknown to them, ENT-8) and may match only
cards within their scope; a new member needs a department there."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import F, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.validators import normalize_mobile
from core.models import Department, Membership, Position, Rank
from core.scopes import AdminScope
from directory.imports.files import FIELDS
from directory.services import PHONE_RE, TEXT_LIMITS
from invitations.models import Invitation
from tenants.categories import Category

NEW, UPDATE, UNCHANGED, BAD = "new", "update", "unchanged", "bad"
# Card fields an import writes (besides departments); an empty cell keeps the card's value.
CARD_FIELDS = (
    "display_name",
    "gender",
    "title",
    "email",
    "enterprise_mailbox",
    "landline",
    "seat",
    "position_id",
    "rank_id",
)
FIELD_LABELS: dict[str, Any] = {
    "display_name": gettext_lazy("Name"),
    "mobile": gettext_lazy("Mobile number"),
    "departments": gettext_lazy("Department"),
    "position": gettext_lazy("Position"),
    "rank": gettext_lazy("Rank"),
    "title": gettext_lazy("Title"),
    "gender": gettext_lazy("Gender"),
    "email": gettext_lazy("Email"),
    "enterprise_mailbox": gettext_lazy("Enterprise mailbox"),
    "landline": gettext_lazy("Landline"),
    "seat": gettext_lazy("Seat"),
    "": gettext_lazy("Row"),
}
GENDERS = {
    "男": Membership.Gender.MALE,
    "女": Membership.Gender.FEMALE,
    "其他": Membership.Gender.OTHER,
    "未说明": Membership.Gender.UNKNOWN,
    "male": Membership.Gender.MALE,
    "m": Membership.Gender.MALE,
    "female": Membership.Gender.FEMALE,
    "f": Membership.Gender.FEMALE,
    "other": Membership.Gender.OTHER,
    "not stated": Membership.Gender.UNKNOWN,
}
# A mainland mobile number as spreadsheets hold it: 11 digits starting with 1, maybe after +86/86.
MAINLAND_MOBILE = re.compile(r"(?:\+?86)?(1\d{10})")
DEPARTMENT_SEPARATORS = re.compile(r"[;；\n]")
PATH_SEPARATORS = re.compile(r"[/／]")


@dataclass
class RowPlan:
    number: int
    kind: str
    name: str = ""
    mobile: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)  # model-ready card values given in the row
    departments: list[int] | None = None  # None: the row names none (kept)
    member_id: int | None = None
    current: dict[str, Any] = field(default_factory=dict)  # the matched card's values

    def fail(self, field_name: str, message: str) -> None:
        self.errors.setdefault(field_name, []).append(message)

    @property
    def error_list(self) -> list[tuple[str, str]]:
        """(field label, message) pairs, for pages."""
        return [(str(FIELD_LABELS.get(f, f)), message) for f, messages in self.errors.items() for message in messages]


@dataclass
class ImportPlan:
    rows: list[RowPlan]
    in_scope_departments: frozenset[int] | None  # None: the whole enterprise

    def count(self, kind: str) -> int:
        return sum(1 for row in self.rows if row.kind == kind)

    @property
    def counts(self) -> dict[str, int]:
        return {kind: self.count(kind) for kind in (NEW, UPDATE, UNCHANGED, BAD)}

    @property
    def bad_rows(self) -> list[RowPlan]:
        return [row for row in self.rows if row.kind == BAD]

    @property
    def to_write(self) -> int:
        return self.count(NEW) + self.count(UPDATE)


class _Departments:
    """Departments by name or name path (`Sales/East`, with or without the root's name), among
    those in the acting admin's scope; one query for the tree, one for the scope."""

    def __init__(self, scope: AdminScope) -> None:
        tree = {pk: (name, parent) for pk, name, parent in Department.objects.values_list("pk", "name", "parent_id")}
        whole = Category.DIRECTORY in scope.whole
        self.in_scope: frozenset[int] | None = (
            None if whole else frozenset(scope.departments(Category.DIRECTORY).values_list("pk", flat=True))
        )
        self.paths: list[tuple[tuple[str, ...], int, tuple[str, ...]]] = []
        for pk in tree:
            names: list[str] = []
            node: int | None = pk
            while node is not None and node in tree and len(names) < 64:
                names.append(tree[node][0])
                node = tree[node][1]
            names.reverse()
            if self.in_scope is None or pk in self.in_scope:
                self.paths.append((tuple(n.strip().casefold() for n in names), pk, tuple(names)))
        self.memo: dict[str, tuple[int | None, str]] = {}

    def resolve(self, text: str) -> tuple[int | None, str]:
        """(department id, "") or (None, the error message)."""
        if text in self.memo:
            return self.memo[text]
        key = tuple(part.strip().casefold() for part in PATH_SEPARATORS.split(text) if part.strip())
        found = [(pk, names) for path, pk, names in self.paths if key and path[-len(key) :] == key]
        if len(found) == 1:
            result: tuple[int | None, str] = (found[0][0], "")
        elif not found:
            result = (None, _("No department “%(name)s” in your scope.") % {"name": text})
        else:
            example = "/".join(found[0][1][1:] or found[0][1])
            result = (
                None,
                _("Several departments are called “%(name)s”: write its path, e.g. %(example)s.")
                % {"name": text, "example": example},
            )
        self.memo[text] = result
        return result


def _by_name(model: type[Position] | type[Rank]) -> dict[str, int]:
    return {name.strip().casefold(): pk for pk, name in model.objects.values_list("pk", "name")}


def _mobile(text: str, memo: dict[str, bool]) -> str:
    """`normalize_mobile` (phonenumbers), with a shortcut for the common case: whether an 11-digit
    mainland number is a valid mobile number depends on its first digits only (libphonenumber's
    CN mobile patterns are prefixes of fixed-length numbers), so phonenumbers decides once per
    7-digit prefix and the E.164 form is +86 and the digits. Anything else goes through
    `normalize_mobile` as it is."""
    found = MAINLAND_MOBILE.fullmatch(text.strip().replace(" ", "").replace("-", ""))
    if found is None:
        return normalize_mobile(text)
    digits = found.group(1)
    prefix = digits[:7]
    if prefix not in memo:
        try:
            memo[prefix] = normalize_mobile(digits) == f"+86{digits}"
        except ValidationError:
            memo[prefix] = False
    if not memo[prefix]:
        return normalize_mobile(digits)  # raises its own message
    return f"+86{digits}"


def _clean_row(
    row: RowPlan,
    cells: dict[str, str],
    departments: _Departments,
    positions: dict[str, int],
    ranks: dict[str, int],
    mobiles: dict[str, bool],
) -> None:
    """Field checks of one row that need no lookup beyond the batched ones."""
    name = cells.get("display_name", "")
    row.name = name[:100]
    if not name:
        row.fail("display_name", _("Enter the member's name."))
    elif len(name) > TEXT_LIMITS["display_name"]:
        row.fail("display_name", _("At most %(n)d characters.") % {"n": TEXT_LIMITS["display_name"]})
    else:
        row.values["display_name"] = name
    try:
        row.mobile = _mobile(cells.get("mobile", ""), mobiles)
    except ValidationError as error:
        row.fail("mobile", error.messages[0])
    for field_name in ("title", "seat"):
        value = cells.get(field_name, "")
        if len(value) > TEXT_LIMITS[field_name]:
            row.fail(field_name, _("At most %(n)d characters.") % {"n": TEXT_LIMITS[field_name]})
        elif value:
            row.values[field_name] = value
    landline = cells.get("landline", "")
    if landline:
        if not PHONE_RE.match(landline) or len(landline) > 32:
            row.fail("landline", _("Enter digits, spaces, hyphens and an optional leading +."))
        else:
            row.values["landline"] = landline
    for field_name in ("email", "enterprise_mailbox"):
        value = cells.get(field_name, "")
        if value:
            try:
                validate_email(value)
            except ValidationError:
                row.fail(field_name, _("Enter a valid email address."))
            else:
                row.values[field_name] = value
    gender = cells.get("gender", "")
    if gender:
        code = GENDERS.get(gender.strip().casefold())
        if code is None:
            row.fail("gender", _("Choose a valid gender."))
        elif code:
            row.values["gender"] = code
    for field_name, names, message in (
        ("position", positions, _("No position called “%(name)s”: add it under Organisation first.")),
        ("rank", ranks, _("No rank called “%(name)s”: add it under Organisation first.")),
    ):
        value = cells.get(field_name, "")
        if value:
            pk = names.get(value.strip().casefold())
            if pk is None:
                row.fail(field_name, message % {"name": value})
            else:
                row.values[f"{field_name}_id"] = pk
    text = cells.get("departments", "")
    if text:
        found: list[int] = []
        for part in DEPARTMENT_SEPARATORS.split(text):
            if not part.strip():
                continue
            pk, problem = departments.resolve(part.strip())
            if pk is None:
                row.fail("departments", problem)
            elif pk not in found:
                found.append(pk)
        row.departments = found


def import_plan(*, scope: AdminScope, rows: list[tuple[int, dict[str, str]]]) -> ImportPlan:
    """Validate every row (the current schema is the enterprise's). Nothing is written."""
    departments = _Departments(scope)
    positions, ranks = _by_name(Position), _by_name(Rank)
    plans: list[RowPlan] = []
    first_row: dict[str, int] = {}
    mobile_prefixes: dict[str, bool] = {}
    for number, cells in rows:
        row = RowPlan(number=number, kind=NEW)
        _clean_row(row, {k: v for k, v in cells.items() if k in FIELDS}, departments, positions, ranks, mobile_prefixes)
        if row.mobile:
            if row.mobile in first_row:
                row.fail("mobile", _("This mobile number is also on row %(row)d.") % {"row": first_row[row.mobile]})
            else:
                first_row[row.mobile] = number
        plans.append(row)

    mobiles = [row.mobile for row in plans if row.mobile and not row.errors]
    cards = _cards_by_mobile(mobiles)
    matched_ids = {card["pk"] for found in cards.values() for card in found}
    whole = Category.DIRECTORY in scope.whole
    in_scope_members = (
        matched_ids
        if whole
        else set(scope.members(Category.DIRECTORY).filter(pk__in=matched_ids).values_list("pk", flat=True))
    )
    current_departments: dict[int, set[int]] = defaultdict(set)
    if matched_ids:
        through = Membership.departments.through
        for member_id, department_id in through.objects.filter(membership_id__in=matched_ids).values_list(
            "membership_id", "department_id"
        ):
            current_departments[member_id].add(department_id)
    pending = set(
        Invitation.objects.filter(status=Invitation.Status.PENDING, mobile__in=mobiles).values_list("mobile", flat=True)
    )

    for row in plans:
        if row.errors:
            row.kind = BAD
            continue
        found = cards.get(row.mobile, [])
        if len(found) > 1:
            row.fail("mobile", _("Several cards in the directory have this mobile number: correct them first."))
        elif found:
            card = found[0]
            if card["pk"] not in in_scope_members:
                row.fail("mobile", _("A member with this mobile number is in the directory outside your scope."))
            else:
                row.member_id = card["pk"]
                row.current = card
                _compare(row, current_departments[card["pk"]], departments.in_scope)
        else:
            if row.mobile in pending:
                row.fail("mobile", _("This mobile number already has a pending invitation."))
            elif not whole and not row.departments:
                row.fail("departments", _("Choose at least one department in your scope."))
        if row.errors:
            row.kind = BAD
    return ImportPlan(rows=plans, in_scope_departments=departments.in_scope)


def _cards_by_mobile(mobiles: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Active and invited cards with these numbers (the card's, or an active member's account's)."""
    if not mobiles:
        return {}
    statuses = [Membership.Status.ACTIVE, Membership.Status.INVITED]
    wanted = set(mobiles)
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    # An account's number differs from its card's only after the member changed it: those few
    # cards are read whole (filtering on `account__mobile IN (…)` would parse every number
    # through the phone-number field again, a third of the import's time).
    for card in (
        Membership.objects.filter(status__in=statuses)
        .filter(
            Q(mobile__in=mobiles)
            | (Q(status=Membership.Status.ACTIVE, account__isnull=False) & ~Q(account__mobile=F("mobile")))
        )
        .values("pk", "mobile", "account__mobile", *CARD_FIELDS)
    ):
        keys = {card["mobile"], str(card.pop("account__mobile") or "")} & wanted
        for key in keys:
            found[key].append(card)
    return found


def _compare(row: RowPlan, current: set[int], in_scope: frozenset[int] | None) -> None:
    """`update` when a given value differs from the card's, else `unchanged`."""
    changed = [f for f, value in row.values.items() if row.current.get(f) != value]
    if row.departments is not None:
        mine = current if in_scope is None else current & in_scope
        if mine != set(row.departments):
            changed.append("departments")
    row.kind = UPDATE if changed else UNCHANGED
    row.values = {f: v for f, v in row.values.items() if f in changed}
    if "departments" not in changed:
        row.departments = None
