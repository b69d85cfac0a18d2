"""Reads of the instruction ledger (ENT-10): the filtered, keyset-paginated list shown in the
console and the API, the member names shown next to entries (one query per page), and the rows
of a CSV export (streamed in keyset batches).

The ledger is an enterprise-wide category (ENTERPRISE_WIDE_CATEGORIES): an administrator whose
scope holds `ledger` sees every entry of the enterprise; anyone else sees none."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import BooleanField, ExpressionWrapper, Model, Q, QuerySet, Value
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext, pgettext_lazy

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
    Action.PUBLISH_NOTICE: gettext_lazy("Publish the notice"),
    Action.VIEW_OWN: gettext_lazy("View own data"),
}
# The verb of a row's sentence: "Amy Admin <revealed> Bob Member's mobile number".
ACTION_VERBS: dict[str, Any] = {
    Action.CREATE: pgettext_lazy("ledger verb", "created"),
    Action.CHANGE: pgettext_lazy("ledger verb", "changed"),
    Action.DELETE: pgettext_lazy("ledger verb", "deleted"),
    Action.REVEAL: pgettext_lazy("ledger verb", "revealed"),
    Action.EXPORT: pgettext_lazy("ledger verb", "exported"),
    Action.ENROLL: pgettext_lazy("ledger verb", "enrolled"),
    Action.REVOKE: pgettext_lazy("ledger verb", "revoked"),
    Action.INVITE: pgettext_lazy("ledger verb", "invited"),
    Action.GRANT: pgettext_lazy("ledger verb", "granted"),
    Action.RETENTION_CHANGE: pgettext_lazy("ledger verb", "changed"),
    Action.ANSWER_REQUEST: pgettext_lazy("ledger verb", "answered"),
    Action.LEGAL_BASIS: pgettext_lazy("ledger verb", "recorded a legal basis in"),
    Action.REMIND: pgettext_lazy("ledger verb", "sent a reminder to"),
    Action.IMPORT: pgettext_lazy("ledger verb", "imported"),
    Action.PUBLISH_NOTICE: pgettext_lazy("ledger verb", "published"),
    Action.VIEW_OWN: pgettext_lazy("ledger verb", "viewed their own"),
}
# What an entry's `object_type` (`app_label.model`) names, for people. Models with a translated
# verbose_name of their own need no line here (object_type_label falls back to it).
OBJECT_TYPE_LABELS: dict[str, Any] = {
    "enterprise_data.geofence": gettext_lazy("Geofence"),
    "enterprise_data.attendancepolicy": gettext_lazy("Attendance policy"),
    "enterprise_data.clockevent": gettext_lazy("Clock event"),
    "enterprise_data.clockeventlocation": gettext_lazy("Clock event location"),
    "enterprise_data.clockeventphoto": gettext_lazy("Clock event photo"),
    "enterprise_data.attendanceday": gettext_lazy("Attendance day"),
    "enterprise_data.device": gettext_lazy("Device"),
    "enterprise_data.biometrictemplate": gettext_lazy("Biometric template"),
    "enterprise_data.templatechange": gettext_lazy("Biometric template change"),
    "enterprise_data.membership": gettext_lazy("Member card"),
    "enterprise_data.memberdatakey": gettext_lazy("Member data key"),
    "enterprise_data.enterprisesettings": gettext_lazy("Enterprise settings"),
    "enterprise_data.healthreport": gettext_lazy("Health report"),
    "enterprise_data.invitation": gettext_lazy("Invitation"),
    "enterprise_data.ledgercheckpoint": gettext_lazy("Ledger checkpoint"),
    "enterprise_data.retentionsetting": gettext_lazy("Retention setting"),
    "enterprise_data.purgerun": gettext_lazy("Purge run"),
    "enterprise_data.purgestep": gettext_lazy("Purge step"),
    "enterprise_data.erasureplan": gettext_lazy("Erasure plan"),
    "consent.policyacceptance": gettext_lazy("Policy acceptance"),
    "consent.devicepermission": gettext_lazy("Device permission"),
    "consent.guardianconsent": gettext_lazy("Guardian consent"),
    "consent.notification": gettext_lazy("Notification"),
    "consent.policynoticedismissal": gettext_lazy("Policy notice dismissal"),
    "consent.devicepermissionevent": gettext_lazy("Device permission change"),
}
# Names in `details` ("fields", "field") that are no model field of the object or of a member
# card (stored encrypted, or a group of values).
FIELD_LABELS: dict[str, Any] = {
    "id_number": gettext_lazy("ID number"),
    "coordinates": gettext_lazy("coordinates"),
    "symptoms": gettext_lazy("symptoms"),
    "close_contacts": gettext_lazy("close contacts"),
    "special_circumstances": gettext_lazy("special circumstances"),
    "display_name": pgettext_lazy("a person's", "name"),
    "department": gettext_lazy("department"),
    "departments": gettext_lazy("departments"),
    "wifi_bssids": gettext_lazy("Wi-Fi BSSIDs"),
}
MAX_FIELDS_SHOWN = 6
# Purposes the platform writes itself (codes or English phrases, not an admin's words): shown as
# labels on the page; the CSV keeps the stored text (it is hashed).
PURPOSE_LABELS: dict[str, Any] = {
    "attendance": gettext_lazy("For attendance"),
    "door_access": gettext_lazy("For door access"),
    "retention purge": gettext_lazy("Retention purge (data past its retention period)"),
    "scheduled erasure": gettext_lazy("Scheduled erasure"),
}
SYSTEM_PURPOSE = re.compile(r"^DSR \w+ request: \w+$")  # requests.workflow: "DSR access request: approve"


def action_label(action: str) -> str:
    return str(ACTION_LABELS[action]) if action in ACTION_LABELS else _("Other action")


def action_verb(action: str) -> str:
    return str(ACTION_VERBS[action]) if action in ACTION_VERBS else pgettext("ledger verb", "processed")


def category_label(category: str) -> str:
    return str(Category(category).label) if category in Category.values else _("Other data")


def _model(object_type: str) -> type[Model] | None:
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def object_type_label(object_type: str) -> str:
    """`enterprise_data.biometrictemplate` → "Biometric template" (translated); "" for none."""
    if not object_type:
        return ""
    if object_type in OBJECT_TYPE_LABELS:
        return str(OBJECT_TYPE_LABELS[object_type])
    model = _model(object_type)
    if model is not None and isinstance(model._meta.verbose_name, Promise):
        return capfirst(str(model._meta.verbose_name))
    return _("Record")


def field_label(object_type: str, name: str) -> str:
    """A name in `details` as the field's label: the object's own model field, else a member
    card's, else FIELD_LABELS; never the raw name (a generic "another field" at worst)."""
    if name in FIELD_LABELS:
        return str(FIELD_LABELS[name])
    for model in (_model(object_type) if object_type else None, Membership):
        if model is None:
            continue
        try:
            verbose = model._meta.get_field(name).verbose_name  # type: ignore[union-attr]
        except FieldDoesNotExist:
            continue
        if isinstance(verbose, Promise):
            return str(verbose)
    return _("another field")


def join_labels(labels: Iterable[str]) -> str:
    """Labels in a list as the reader's language writes one ("a, b" / "a、b")."""
    return pgettext("list separator", ", ").join(labels)


def detail_fields(entry: LedgerEntry) -> list[str]:
    """The field names an entry's details mention (`fields` list or one `field`)."""
    details = entry.details if isinstance(entry.details, dict) else {}
    names = details.get("fields")
    if isinstance(names, list):
        return [str(name) for name in names]
    if isinstance(details.get("field"), str):
        return [details["field"]]
    return []


def purpose_label(purpose: str) -> str:
    """An entry's purpose for people: a label for the purposes the platform writes itself (codes
    such as `door_access`), an administrator's own words as they were written."""
    if purpose in PURPOSE_LABELS:
        return str(PURPOSE_LABELS[purpose])
    if SYSTEM_PURPOSE.match(purpose):
        return _("Answering a personal-data request")
    return purpose


def details_summary(entry: LedgerEntry) -> str:
    """What an entry's `details` say that a person can read, in their language: the data
    categories and the fields it touched, the kind of object. Other keys are facts for machines
    (counts, ids, formats) and are left out rather than shown as codes (issue 17 §5)."""
    details = entry.details if isinstance(entry.details, dict) else {}
    parts: list[str] = []
    categories = details.get("categories")
    if isinstance(categories, list) and categories:
        parts.append(join_labels(category_label(str(category)) for category in categories))
    fields = [field_label(entry.object_type, name) for name in detail_fields(entry)]
    if fields:
        parts.append(join_labels(fields))
    object_type = details.get("object_type")
    if isinstance(object_type, str) and object_type and not entry.object_type:
        parts.append(object_type_label(object_type))
    return pgettext("list separator", ", ").join(parts)


@dataclass(frozen=True)
class LedgerFilters:
    """The filters of the ledger list and export; empty values do not filter."""

    category: str = ""
    action: str = ""
    subject_id: int | None = None
    actor_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    text: str = ""  # in the purpose (the console's free-text filter)

    def as_details(self) -> dict[str, Any]:
        """The filters that were set, as non-personal facts for an export's own ledger entry."""
        values: dict[str, Any] = {
            "category": self.category,
            "action": self.action,
            "subject": self.subject_id,
            "actor": self.actor_id,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "text": self.text,
        }
        return {key: value for key, value in values.items() if value not in (None, "")}


@dataclass(frozen=True)
class LedgerRow:
    """An entry with the names of its actor and subject, as the console and the API show it.

    `actor_card` / `subject_card`: the member's card is in the reading admin's directory scope
    (the console links the name to it; otherwise the name is plain text)."""

    entry: LedgerEntry
    actor_name: str
    subject_name: str
    actor_card: bool = False
    subject_card: bool = False

    @property
    def action_label(self) -> str:
        return action_label(self.entry.action)

    @property
    def action_verb(self) -> str:
        return action_verb(self.entry.action)

    @property
    def category_label(self) -> str:
        return category_label(self.entry.category)

    @property
    def purpose_label(self) -> str:
        return purpose_label(self.entry.purpose)

    @property
    def actor_kind_label(self) -> str:
        kind = self.entry.actor_kind
        return str(LedgerEntry.ActorKind(kind).label) if kind in LedgerEntry.ActorKind.values else _("Other")

    @property
    def object_label(self) -> str:
        object_type = self.entry.object_type or (self.entry.details or {}).get("object_type", "")
        return object_type_label(object_type if isinstance(object_type, str) else "")

    @property
    def field_labels(self) -> list[str]:
        labels = [field_label(self.entry.object_type, name) for name in detail_fields(self.entry)]
        if len(labels) > MAX_FIELDS_SHOWN:
            more = len(labels) - MAX_FIELDS_SHOWN
            labels = labels[:MAX_FIELDS_SHOWN] + [ngettext("%(n)s more", "%(n)s more", more) % {"n": more}]
        return labels


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
    if filters.text:
        queryset = queryset.filter(purpose__icontains=filters.text)
    return queryset.order_by("-id")


@dataclass(frozen=True)
class MemberName:
    name: str
    card: bool  # in the reading admin's directory scope


def ledger_member_names(*, ids: Iterable[int | None], scope: AdminScope | None = None) -> dict[int, MemberName]:
    """Display names of the memberships an entry mentions, and whether `scope` may open their
    card (the directory category): one query for a whole page.

    Left members keep their names here (the ledger outlives memberships)."""
    wanted = {pk for pk in ids if pk is not None}
    if not wanted:
        return {}
    queryset = Membership.objects.filter(pk__in=wanted).order_by()
    if scope is not None and scope.has_category(Category.DIRECTORY):
        visible = scope.members(Category.DIRECTORY).values("pk")
        queryset = queryset.annotate(card=ExpressionWrapper(Q(pk__in=visible), output_field=BooleanField()))
    else:
        queryset = queryset.annotate(card=Value(False, output_field=BooleanField()))
    return {pk: MemberName(name, card) for pk, name, card in queryset.values_list("pk", "display_name", "card")}


def ledger_device_names(*, ids: Iterable[int | None]) -> dict[int, str]:
    """Names of the devices (biometric terminals) that acted: one query, none without devices.

    The model belongs to a higher package (biometrics), so it is looked up by name in the app
    registry rather than imported; only its `name` is read."""
    wanted = {pk for pk in ids if pk is not None}
    if not wanted:
        return {}
    device = apps.get_model("enterprise_data", "device")
    return dict(device.objects.filter(pk__in=wanted).order_by().values_list("pk", "name"))


def ledger_actor_label(entry: LedgerEntry, names: dict[int, MemberName], devices: dict[int, str] | None = None) -> str:
    if entry.actor_membership_id is not None:
        known = names.get(entry.actor_membership_id)
        return known.name if known else _("Member #%(id)s") % {"id": entry.actor_membership_id}
    if entry.actor_device_id is not None:
        return (devices or {}).get(entry.actor_device_id) or _("Device #%(id)s") % {"id": entry.actor_device_id}
    return (
        str(LedgerEntry.ActorKind(entry.actor_kind).label)
        if entry.actor_kind in LedgerEntry.ActorKind.values
        else _("Other")
    )


def ledger_subject_label(entry: LedgerEntry, names: dict[int, MemberName]) -> str:
    if entry.subject_membership_id is None:
        return ""
    known = names.get(entry.subject_membership_id)
    return known.name if known else _("Member #%(id)s") % {"id": entry.subject_membership_id}


def _rows(entries: list[LedgerEntry], scope: AdminScope | None = None) -> list[LedgerRow]:
    names = ledger_member_names(
        ids=[pk for entry in entries for pk in (entry.actor_membership_id, entry.subject_membership_id)], scope=scope
    )
    devices = ledger_device_names(ids=[entry.actor_device_id for entry in entries])

    def card(pk: int | None) -> bool:
        return pk is not None and pk in names and names[pk].card

    return [
        LedgerRow(
            entry,
            ledger_actor_label(entry, names, devices),
            ledger_subject_label(entry, names),
            actor_card=card(entry.actor_membership_id),
            subject_card=card(entry.subject_membership_id),
        )
        for entry in entries
    ]


def ledger_page(
    *,
    enterprise: Enterprise,
    scope: AdminScope,
    filters: LedgerFilters,
    before: int | None = None,
    size: int = PAGE_SIZE,
) -> LedgerPage:
    """One page of entries older than `before` (keyset pagination: two queries whatever the
    page number or size — the entries and their names — plus one for device names when a
    device acted on the page)."""
    with enterprise_schema(enterprise):
        queryset = ledger_entries(scope=scope, filters=filters)
        if before is not None:
            queryset = queryset.filter(id__lt=before)
        entries = list(queryset[: size + 1])
        more = len(entries) > size
        entries = entries[:size]
        return LedgerPage(_rows(entries, scope), entries[-1].id if more and entries else None)


def ledger_member_choices(*, enterprise: Enterprise, scope: AdminScope) -> list[tuple[int, str]]:
    """Members in the admin's ledger scope, for the subject and actor selects (one query)."""
    with enterprise_schema(enterprise):
        return list(scope.members(Category.LEDGER).order_by("display_name", "id").values_list("pk", "display_name"))


def _cell(value: Any) -> str:
    """A CSV cell that spreadsheet programs will not run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def ledger_export_header() -> list[str]:
    """Readable columns first (labels in the reader's language), then the raw values a program
    needs to filter or to recompute the hash chain (docs/ledger.md)."""
    return [
        _("Entry"),
        _("Time"),
        _("Actor"),
        _("Actor kind"),
        _("Action"),
        _("Whose data"),
        _("Category"),
        _("Object"),
        _("Fields"),
        _("Purpose"),
        _("Actor id"),
        _("Actor kind (code)"),
        _("Action (code)"),
        _("Category (code)"),
        _("Subject id"),
        _("Object type (code)"),
        _("Object id"),
        _("Details (JSON)"),
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
                _cell(row.actor_name),
                row.actor_kind_label,
                row.action_label,
                _cell(row.subject_name),
                row.category_label,
                row.object_label,
                _cell(join_labels(row.field_labels)),
                _cell(entry.purpose),
                _cell(entry.actor_membership_id or entry.actor_device_id),
                entry.actor_kind,
                entry.action,
                entry.category,
                _cell(entry.subject_membership_id),
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
