"""Reads of the instruction ledger (ENT-10): the filtered, keyset-paginated list shown in the
console and the API, the member names shown next to entries (one query per page), and the rows
of a CSV export (streamed in keyset batches).

The ledger is an enterprise-wide category (ENTERPRISE_WIDE_CATEGORIES): an administrator whose
scope holds `ledger` sees every entry of the enterprise; anyone else sees none."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.models import Membership
from core.scopes import AdminScope
from ledger.models import LedgerEntry
from ledger.services import Action
from tenants.categories import Category
from tenants.context import enterprise_schema
from tenants.models import Enterprise

PAGE_SIZE = 50
EXPORT_BATCH_SIZE = 1000
# Every action a ledger entry may record (the constants of services.ledger.Action).
ACTIONS: tuple[str, ...] = tuple(
    value for name, value in vars(Action).items() if name.isupper() and isinstance(value, str)
)
ACTION_LABELS: dict[str, Any] = {
    Action.CREATE: gettext_lazy("Create"),
    Action.CHANGE: gettext_lazy("Change"),
    Action.DELETE: gettext_lazy("Delete"),
    Action.REVEAL: gettext_lazy("Reveal"),
    Action.EXPORT: gettext_lazy("Export"),
    Action.ENROLL: gettext_lazy("Enroll"),
    Action.REVOKE: gettext_lazy("Revoke"),
    Action.INVITE: gettext_lazy("Invite"),
    Action.GRANT: gettext_lazy("Grant"),
    Action.RETENTION_CHANGE: gettext_lazy("Change a retention setting"),
    Action.ANSWER_REQUEST: gettext_lazy("Answer a request"),
    Action.LEGAL_BASIS: gettext_lazy("Record a legal basis"),
    Action.REMIND: gettext_lazy("Send a reminder"),
    Action.IMPORT: gettext_lazy("Import"),
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def category_label(category: str) -> str:
    return str(Category(category).label) if category in Category.values else category


@dataclass(frozen=True)
class LedgerFilters:
    """The filters of the ledger list and export; empty values do not filter."""

    category: str = ""
    action: str = ""
    subject_id: int | None = None
    actor_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    def as_details(self) -> dict[str, Any]:
        """The filters that were set, as non-personal facts for an export's own ledger entry."""
        values: dict[str, Any] = {
            "category": self.category,
            "action": self.action,
            "subject": self.subject_id,
            "actor": self.actor_id,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
        }
        return {key: value for key, value in values.items() if value not in (None, "")}


@dataclass(frozen=True)
class LedgerRow:
    """An entry with the names of its actor and subject, as the console and the API show it."""

    entry: LedgerEntry
    actor_name: str
    subject_name: str

    @property
    def action_label(self) -> str:
        return action_label(self.entry.action)

    @property
    def category_label(self) -> str:
        return category_label(self.entry.category)


@dataclass(frozen=True)
class LedgerPage:
    rows: list[LedgerRow]
    # The `before` value of the next (older) page, None on the last page.
    next_before: int | None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def ledger_entries(*, scope: AdminScope, filters: LedgerFilters) -> QuerySet[LedgerEntry]:
    """Entries this admin may read, newest first, filtered. Call it in the enterprise's schema."""
    if not scope.has_category(Category.LEDGER):
        return LedgerEntry.objects.none()
    queryset = LedgerEntry.objects.all()
    if filters.category:
        queryset = queryset.filter(category=filters.category)
    if filters.action:
        queryset = queryset.filter(action=filters.action)
    if filters.subject_id is not None:
        queryset = queryset.filter(subject_membership_id=filters.subject_id)
    if filters.actor_id is not None:
        queryset = queryset.filter(actor_membership_id=filters.actor_id)
    if filters.date_from is not None:
        queryset = queryset.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to is not None:  # inclusive: up to the start of the next day
        queryset = queryset.filter(created_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    return queryset.order_by("-id")


def ledger_member_names(*, ids: Iterable[int | None]) -> dict[int, str]:
    """Display names of the memberships an entry mentions: one query for a whole page.

    Left members keep their names here (the ledger outlives memberships)."""
    wanted = {pk for pk in ids if pk is not None}
    if not wanted:
        return {}
    return dict(Membership.objects.filter(pk__in=wanted).order_by().values_list("pk", "display_name"))


def ledger_actor_label(entry: LedgerEntry, names: dict[int, str]) -> str:
    if entry.actor_membership_id is not None:
        return names.get(entry.actor_membership_id) or _("Member #%(id)s") % {"id": entry.actor_membership_id}
    if entry.actor_device_id is not None:
        return _("Device #%(id)s") % {"id": entry.actor_device_id}
    return (
        str(LedgerEntry.ActorKind(entry.actor_kind).label)
        if entry.actor_kind in LedgerEntry.ActorKind.values
        else entry.actor_kind
    )


def ledger_subject_label(entry: LedgerEntry, names: dict[int, str]) -> str:
    if entry.subject_membership_id is None:
        return ""
    return names.get(entry.subject_membership_id) or _("Member #%(id)s") % {"id": entry.subject_membership_id}


def _rows(entries: list[LedgerEntry]) -> list[LedgerRow]:
    names = ledger_member_names(
        ids=[pk for entry in entries for pk in (entry.actor_membership_id, entry.subject_membership_id)]
    )
    return [LedgerRow(entry, ledger_actor_label(entry, names), ledger_subject_label(entry, names)) for entry in entries]


def ledger_page(
    *,
    enterprise: Enterprise,
    scope: AdminScope,
    filters: LedgerFilters,
    before: int | None = None,
    size: int = PAGE_SIZE,
) -> LedgerPage:
    """One page of entries older than `before` (keyset pagination: two queries whatever the
    page number — the entries and their names)."""
    with enterprise_schema(enterprise):
        queryset = ledger_entries(scope=scope, filters=filters)
        if before is not None:
            queryset = queryset.filter(id__lt=before)
        entries = list(queryset[: size + 1])
        more = len(entries) > size
        entries = entries[:size]
        return LedgerPage(_rows(entries), entries[-1].id if more and entries else None)


def ledger_member_choices(*, enterprise: Enterprise, scope: AdminScope) -> list[tuple[int, str]]:
    """Members in the admin's ledger scope, for the subject and actor selects (one query)."""
    with enterprise_schema(enterprise):
        return list(scope.members(Category.LEDGER).order_by("display_name", "id").values_list("pk", "display_name"))


def _cell(value: Any) -> str:
    """A CSV cell that spreadsheet programs will not run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def ledger_export_header() -> list[str]:
    return [
        _("Entry"),
        _("Time"),
        _("Actor kind"),
        _("Actor id"),
        _("Actor"),
        _("Action"),
        _("Category"),
        _("Subject id"),
        _("Whose data"),
        _("Purpose"),
        _("Object type"),
        _("Object id"),
        _("Details"),
        _("Request id"),
        _("Previous hash"),
        _("Entry hash"),
    ]


def ledger_export_rows(
    *,
    enterprise: Enterprise,
    scope: AdminScope,
    filters: LedgerFilters,
    upto_id: int | None = None,
    batch_size: int | None = None,
) -> Iterator[list[str]]:
    """The header, then every matching entry (newest first, ids up to `upto_id`) as CSV cells.

    Read in keyset batches of `batch_size` (two queries per batch: entries and names), each in
    the enterprise's schema, so a streamed response never holds the whole ledger in memory."""
    batch_size = batch_size or EXPORT_BATCH_SIZE
    yield ledger_export_header()
    last_id = upto_id + 1 if upto_id is not None else None
    while True:
        page = ledger_page(enterprise=enterprise, scope=scope, filters=filters, before=last_id, size=batch_size)
        for row in page.rows:
            entry = row.entry
            yield [
                str(entry.id),
                timezone.localtime(entry.created_at).isoformat(timespec="microseconds"),
                entry.actor_kind,
                _cell(entry.actor_membership_id or entry.actor_device_id),
                _cell(row.actor_name),
                entry.action,
                entry.category,
                _cell(entry.subject_membership_id),
                _cell(row.subject_name),
                _cell(entry.purpose),
                _cell(entry.object_type),
                _cell(entry.object_id),
                _cell(json.dumps(entry.details, sort_keys=True, ensure_ascii=False)),
                _cell(entry.request_id),
                entry.prev_hash,
                entry.entry_hash,
            ]
        if page.next_before is None:
            return
        last_id = page.next_before
