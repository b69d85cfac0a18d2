"""The readable `index.html` of an export (DSR-2; issue 17 §3): the same data as `data.json`,
as a document a person reads — a heading per section, a table per list (one row per record,
columns labelled in the reader's language), every timestamp in the enterprise's local time with
its offset (`2026-12-07 13:05 +08:00`), yes/no and choices as words, field names, purposes,
categories and actions as their labels (the ledger's label helpers, `ledger.selectors`).

The document is built from the JSON-ready data the export collected (`export_collect` for a
member, `account_export_collect` for an account), never from a second read, so both files
always hold the same rows. Rendering runs inside `translation.override(language)`: the language
the person used when asking (stored on the export row). The template
(`templates/requests/export_document.html`) is self-contained: its CSS is inline in the file (a
downloaded file, not a page served under the portal's CSP), no script, no external resource.

Structure handed to the template: a list of `Section` (id, title, blocks); a block is either
`Fields` (one record: label → value) or `Table` (headers and rows); every cell is a list of lines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import IdDocument, User
from attendance.models import ClockEvent
from biometrics.models import BiometricTemplate
from consent.consents.selectors import PREVIEW_LABELS
from consent.models import (
    ConsentRecord,
    DevicePermission,
    DevicePermissionEvent,
    NoticeAcknowledgement,
    PolicyAcceptance,
)
from core.models import Membership
from invitations.models import Invitation
from ledger.models import LedgerEntry
from ledger.selectors import LedgerRow, action_label, category_label, field_label, join_labels, object_type_label
from requests.models import Request, RequestEvent

Cell = list[str]
DASH = "—"


class Moment(str):
    """A timestamp (`2026-12-07 13:05 +08:00`) or a date as shown, keeping its ISO 8601 form for
    the `<time datetime>` element."""

    iso: str

    def __new__(cls, shown: str, iso: str) -> Moment:
        value = super().__new__(cls, shown)
        value.iso = iso
        return value


# What the attendance day's exception codes mean (as templates/enterprise_data/attendance/_exceptions.html).
EXCEPTION_LABELS: dict[str, Any] = {
    "late": gettext_lazy("Late"),
    "missing_in": gettext_lazy("No clock-in"),
    "missing_out": gettext_lazy("No clock-out"),
    "out_of_range": gettext_lazy("Out of range"),
}
# What a withdrawal deleted (ConsentRecord.erased_counts), beyond the preview's kinds.
ERASED_LABELS: dict[str, Any] = {
    **PREVIEW_LABELS,
    "clock_photos": gettext_lazy("Clock-in photos"),
    "templates_revoked": gettext_lazy("Biometric templates revoked"),
}


@dataclass(frozen=True)
class Fields:
    """One record shown as label → value rows."""

    pairs: list[tuple[str, Cell]]
    title: str = ""
    kind: str = "fields"


@dataclass(frozen=True)
class Table:
    """A list of records: one row per record, one labelled column per field."""

    headers: list[str]
    rows: list[list[Cell]]
    title: str = ""
    note: str = ""
    kind: str = "table"

    @property
    def kept(self) -> list[int]:
        """The columns shown: a column empty in every row ("—" throughout) is left out, so the
        columns that hold something get the width (a single record, `Fields`, keeps its "—")."""
        return [i for i in range(len(self.headers)) if any(row[i] != [DASH] for row in self.rows)]

    @property
    def shown_headers(self) -> list[str]:
        return [self.headers[i] for i in self.kept]

    @property
    def labelled_rows(self) -> list[list[tuple[str, Cell]]]:
        """Each row's shown cells with their column's label (a phone shows a row as label: value
        lines)."""
        kept = self.kept
        return [[(self.headers[i], row[i]) for i in kept] for row in self.rows]


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    blocks: list[Fields | Table] = field(default_factory=list)
    note: str = ""

    @property
    def count(self) -> int | None:
        """The number of records of a section made of tables (None for a single record)."""
        tables = [block for block in self.blocks if isinstance(block, Table)]
        return sum(len(table.rows) for table in tables) if tables and len(tables) == len(self.blocks) else None


# --- values as words ------------------------------------------------------------------------------


def moment(value: Any) -> Cell:
    """A timestamp (ISO 8601 text or datetime) as `2026-12-07 13:05 +08:00`, in the enterprise's
    time zone whatever offset it was written with."""
    if value in (None, ""):
        return [DASH]
    when = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    local = timezone.localtime(when)
    offset = local.utcoffset() or dt.timedelta(0)
    sign = "-" if offset < dt.timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return [Moment(f"{local:%Y-%m-%d %H:%M} {sign}{minutes // 60:02d}:{minutes % 60:02d}", local.isoformat())]


def day(value: Any) -> Cell:
    if value in (None, ""):
        return [DASH]
    shown = value.isoformat() if isinstance(value, dt.date) else str(value)[:10]
    return [Moment(shown, shown)]


def yes_no(value: Any) -> Cell:
    if value is None:
        return [DASH]
    return [_("Yes") if value else _("No")]


def text(value: Any) -> Cell:
    if value in (None, ""):
        return [DASH]
    lines = [line for line in str(value).splitlines() if line.strip()]
    return lines or [DASH]


def words(values: Iterable[Any]) -> Cell:
    listed = [str(value) for value in values if value not in (None, "")]
    return [join_labels(listed)] if listed else [DASH]


def choice(model: type[models.Model], name: str, value: Any) -> Cell:
    """A stored choice as its label (the model field's choices); an unknown code as "Other"."""
    if value in (None, ""):
        return [DASH]
    labels = dict(model._meta.get_field(name).flatchoices)  # type: ignore[union-attr]
    return [str(labels[value])] if value in labels else [_("Other")]


def _number(value: Any) -> str:
    return f"{float(value):.6f}".rstrip("0").rstrip(".") if value not in (None, "") else ""


# --- the member's export ----------------------------------------------------------------------


def _card(data: dict[str, Any]) -> Section:
    card = data["member"]
    shown = [
        capfirst(field_label("enterprise_data.membership", name))
        for name in card.get("shown_outside_the_company") or []
    ]
    pairs: list[tuple[str, Cell]] = [
        (_("Name"), text(card.get("display_name"))),
        (_("Status"), choice(Membership, "status", card.get("status"))),
        (_("Role"), choice(Membership, "role", card.get("role"))),
        (_("Photo"), yes_no(bool(card.get("photo")))),
        (_("Gender"), choice(Membership, "gender", card.get("gender")) if card.get("gender") else [DASH]),
        (_("Mobile number"), text(card.get("mobile"))),
        (_("Resident ID number"), text(card.get("id_number"))),
        (_("Company"), text(card.get("company"))),
        (_("Invoice title"), text(card.get("invoice_title"))),
        (_("Work signature"), text(card.get("work_signature"))),
        (_("Landline"), text(card.get("landline"))),
        (_("Email"), text(card.get("email"))),
        (_("Position"), text(card.get("position"))),
        (_("Rank"), text(card.get("rank"))),
        (_("Title"), text(card.get("title"))),
        (_("Departments"), words(card.get("departments") or [])),
        (_("Fax"), text(card.get("fax"))),
        (_("Seat"), text(card.get("seat"))),
        (_("Enterprise mailbox"), text(card.get("enterprise_mailbox"))),
        (_("Shown outside the company"), words(shown)),
        (_("Card created"), moment(card.get("created_at"))),
        (_("Member since"), moment(card.get("joined_at"))),
        (_("Left"), moment(card.get("left_at"))),
    ]
    return Section("member", _("Directory card and membership"), [Fields(pairs)])


def _location(event: dict[str, Any]) -> Cell:
    lines: list[str] = []
    raw = event.get("raw_location")
    if isinstance(raw, dict) and raw.get("latitude") not in (None, ""):
        lines.append(f"{_number(raw.get('latitude'))}, {_number(raw.get('longitude'))}")
    if event.get("accuracy_m") is not None:
        lines.append(_("accuracy %(metres)s m") % {"metres": event["accuracy_m"]})
    return lines or [DASH]


def _attendance(data: dict[str, Any]) -> Section:
    attendance = data["attendance"]
    events = Table(
        [_("Time"), _("Kind"), _("How"), _("In range"), _("Place"), _("Coordinates")],
        [
            [
                moment(event.get("occurred_at")),
                choice(ClockEvent, "kind", event.get("kind")),
                choice(ClockEvent, "source", event.get("source")),
                yes_no(event.get("within_geofence")),
                text(event.get("geofence") or event.get("device")),
                _location(event),
            ]
            for event in attendance["events"]
        ],
        title=_("Clock-ins and clock-outs"),
    )
    days = Table(
        [_("Day"), _("First in"), _("Last out"), _("Exceptions")],
        [
            [
                day(row.get("date")),
                moment(row.get("first_in")),
                moment(row.get("last_out")),
                words(str(EXCEPTION_LABELS.get(code, _("Other"))) for code in row.get("exceptions") or []),
            ]
            for row in attendance["days"]
        ],
        title=_("Daily records"),
    )
    return Section("attendance", _("Attendance"), [events, days])


def _health(data: dict[str, Any]) -> Section:
    def detail(report: dict[str, Any], name: str) -> Cell:
        details = report.get("details")
        if details is None:
            return [_("Deleted")]
        return text(details.get(name))

    table = Table(
        [
            _("Day"),
            _("City"),
            _("Unwell"),
            _("Symptoms"),
            _("Close contacts"),
            _("Special circumstances"),
            _("Reported"),
        ],
        [
            [
                day(report.get("date")),
                text(report.get("city")),
                yes_no(report.get("unwell")),
                detail(report, "symptoms"),
                detail(report, "close_contacts"),
                detail(report, "special_circumstances"),
                moment(report.get("created_at")),
            ]
            for report in data["health_reports"]
        ],
    )
    return Section("health_reports", _("Health reports"), [table])


def _biometrics(data: dict[str, Any]) -> Section:
    table = Table(
        [_("Kind"), _("Purpose"), _("Enrolled"), _("Revoked")],
        [
            [
                choice(BiometricTemplate, "modality", row.get("modality")),
                choice(BiometricTemplate, "purpose", row.get("purpose")),
                moment(row.get("enrolled_at")),
                moment(row.get("revoked_at")),
            ]
            for row in data["biometric_enrolments"]
        ],
    )
    return Section(
        "biometric_enrolments",
        _("Biometric enrolments"),
        [table],
        note=_("Only when and why a template was enrolled: the templates themselves are never exported."),
    )


def _erased(counts: Any) -> Cell:
    if not isinstance(counts, dict) or not counts:
        return [DASH]
    return [
        f"{ERASED_LABELS[key] if key in ERASED_LABELS else _('Other records')}: {count}"
        for key, count in counts.items()
    ]


def _consents(data: dict[str, Any]) -> Section:
    consents = Table(
        [
            _("Data category"),
            _("Purpose"),
            _("Basis"),
            _("Given"),
            _("Channel"),
            _("Reason"),
            _("Withdrawn"),
            _("Data deletion"),
            _("What was deleted"),
        ],
        [
            [
                choice(ConsentRecord, "category", row.get("category")),
                choice(ConsentRecord, "purpose", row.get("purpose")),
                choice(ConsentRecord, "basis", row.get("basis")),
                moment(row.get("given_at")),
                choice(ConsentRecord, "channel", row.get("channel")),
                text(row.get("reason")),
                moment(row.get("withdrawn_at")),
                choice(ConsentRecord, "erasure", row.get("erasure")) if row.get("erasure") else [DASH],
                _erased(row.get("erased_counts")) if row.get("erased_at") else [DASH],
            ]
            for row in data["consents"]
        ],
    )
    return Section("consents", _("Consents"), [consents])


def _notices(data: dict[str, Any]) -> Section:
    table = Table(
        [_("Notice version"), _("Acknowledged"), _("Channel")],
        [
            [
                text(row.get("notice_version")),
                moment(row.get("acknowledged_at")),
                choice(NoticeAcknowledgement, "channel", row.get("channel")),
            ]
            for row in data["notice_acknowledgements"]
        ],
    )
    return Section("notice_acknowledgements", _("Acknowledged notices"), [table])


def _permission_tables(permissions: dict[str, Any]) -> list[Fields | Table]:
    current = Table(
        [_("Permission"), _("Allowed"), _("Changed")],
        [
            [
                choice(DevicePermission, "kind", row.get("kind")),
                yes_no(row.get("granted")),
                moment(row.get("changed_at")),
            ]
            for row in permissions.get("current", [])
        ],
        title=_("Now"),
    )
    history = Table(
        [_("When"), _("Permission"), _("Change"), _("Channel")],
        [
            [
                moment(row.get("at")),
                choice(DevicePermissionEvent, "kind", row.get("kind")),
                choice(DevicePermissionEvent, "action", row.get("action")),
                choice(DevicePermissionEvent, "channel", row.get("channel")),
            ]
            for row in permissions.get("history", [])
        ],
        title=_("History"),
    )
    return [current, history]


def _device_permissions(data: dict[str, Any]) -> Section:
    return Section("device_permissions", _("Device permissions"), _permission_tables(data["device_permissions"]))


def _invitations(data: dict[str, Any]) -> Section:
    table = Table(
        [_("Kind"), _("Mobile number"), _("Role"), _("Status"), _("Sent"), _("Valid until"), _("Answered")],
        [
            [
                choice(Invitation, "kind", row.get("kind")),
                text(row.get("mobile")),
                choice(Membership, "role", row.get("role")),
                choice(Invitation, "status", row.get("status")),
                moment(row.get("created_at")),
                moment(row.get("expires_at")),
                moment(row.get("responded_at")),
            ]
            for row in data["invitations"]
        ],
    )
    return Section("invitations", _("Invitations"), [table])


def _history(events: list[dict[str, Any]]) -> Cell:
    lines = []
    for event in events:
        step = {
            "what": choice(RequestEvent, "action", event.get("action"))[0],
            "who": choice(RequestEvent, "actor_kind", event.get("actor_kind"))[0],
            "when": moment(event.get("created_at"))[0],
        }
        lines.append(_("%(what)s (%(who)s), %(when)s") % step)
    return lines or [DASH]


def requests_table(rows: list[dict[str, Any]], *, with_category: bool = True) -> Table:
    headers = [_("Submitted"), _("Kind"), _("Status")]
    if with_category:
        headers.append(_("Data category"))
    headers += [_("Description"), _("Due"), _("Closed"), _("Refusal ground"), _("Outcome"), _("Steps")]
    table_rows = []
    for row in rows:
        cells = [
            moment(row.get("submitted_at")),
            choice(Request, "kind", row.get("kind")),
            choice(Request, "status", row.get("status")),
        ]
        if with_category:
            cells.append([category_label(row["category"])] if row.get("category") else [DASH])
        cells += [
            text(row.get("description")),
            day(row.get("due_on")),
            moment(row.get("closed_at")),
            choice(Request, "refusal_ground", row.get("refusal_ground")) if row.get("refusal_ground") else [DASH],
            text(row.get("resolution")),
            _history(row.get("history") or []),
        ]
        table_rows.append(cells)
    return Table(headers, table_rows)


def _requests(data: dict[str, Any]) -> Section:
    return Section("requests", _("Requests"), [requests_table(data["requests"])])


def _ledger(data: dict[str, Any]) -> Section:
    member_id = data.get("membership_id")
    rows = []
    for entry in data["ledger"]:
        record = LedgerEntry(
            action=entry.get("action") or "",
            category=entry.get("category") or "",
            purpose=entry.get("purpose") or "",
            actor_kind=entry.get("actor_kind") or "",
            object_type=entry.get("object_type") or "",
            details=entry.get("details") or {},
        )
        row = LedgerRow(record, "", "")
        who = _("You") if entry.get("actor_membership_id") == member_id else row.actor_kind_label
        rows.append(
            [
                moment(entry.get("created_at")),
                [who],
                [action_label(record.action)],
                [category_label(record.category)],
                text(row.purpose_label),
                text(object_type_label(record.object_type)),
                words(capfirst(label) for label in row.field_labels),
            ]
        )
    table = Table([_("Time"), _("Who"), _("Action"), _("Data category"), _("Purpose"), _("Record"), _("Fields")], rows)
    return Section(
        "ledger",
        _("Processing records about you"),
        [table],
        note=_(
            "Who acted is given as a kind only (an administrator, a device, the system): other people's "
            "identities are not your data."
        ),
    )


MEMBER_SECTIONS: tuple[Callable[[dict[str, Any]], Section], ...] = (
    _card,
    _attendance,
    _health,
    _biometrics,
    _consents,
    _notices,
    _device_permissions,
    _invitations,
    _requests,
    _ledger,
)


def member_sections(data: dict[str, Any]) -> list[Section]:
    """The member export's sections (data as `export_collect` returns it), in data.json's order."""
    return [build(data) for build in MEMBER_SECTIONS]


# --- the account's export ---------------------------------------------------------------------


def _account(data: dict[str, Any]) -> Section:
    account = data["account"]
    pairs: list[tuple[str, Cell]] = [
        (_("Mobile number"), text(account.get("mobile"))),
        (_("Nickname"), text(account.get("nickname"))),
        (_("Email"), text(account.get("email"))),
        (_("Gender"), choice(User, "gender", account.get("gender")) if account.get("gender") else [DASH]),
        (_("Birthday"), day(account.get("birthday"))),
        (_("Avatar"), yes_no(bool(account.get("avatar")))),
        (_("Registered"), moment(account.get("date_joined"))),
        (_("Last sign-in"), moment(account.get("last_login"))),
        (_("Real-name verification"), choice(User, "real_name_status", account.get("real_name_status"))),
        (_("Legal name"), text(account.get("legal_name"))),
        (_("Resident ID number"), text(account.get("id_number"))),
        (_("Verified at"), moment(account.get("real_name_verified_at"))),
    ]
    documents = Table(
        [_("Side"), _("Uploaded")],
        [
            [choice(IdDocument, "side", row.get("side")), moment(row.get("uploaded_at"))]
            for row in data.get("id_documents", [])
        ],
        title=_("ID document photos"),
        note=_("The photos themselves are not in this file; they are kept encrypted."),
    )
    return Section("account", _("Account and profile"), [Fields(pairs), documents])


def _acceptances(data: dict[str, Any]) -> Section:
    chinese = (translation.get_language() or "").lower().startswith("zh")
    table = Table(
        [_("Version"), _("Title"), _("Accepted"), _("Channel"), _("Address")],
        [
            [
                text(row.get("version")),
                text(row.get("title_zh") if chinese else row.get("title_en")),
                moment(row.get("accepted_at")),
                choice(PolicyAcceptance, "channel", row.get("channel")),
                text(row.get("ip")),
            ]
            for row in data["policy_acceptances"]
        ],
    )
    dismissed = Table(
        [_("Version"), _("Dismissed")],
        [
            [text(row.get("version")), moment(row.get("dismissed_at"))]
            for row in data.get("policy_notice_dismissals", [])
        ],
        title=_("Notices of minor changes you dismissed"),
    )
    return Section("policy_acceptances", _("Privacy policy acceptances"), [table, dismissed])


def _account_permissions(data: dict[str, Any]) -> Section:
    return Section("device_permissions", _("Device permissions"), _permission_tables(data["device_permissions"]))


def _guardians(data: dict[str, Any]) -> Section:
    table = Table(
        [_("Relation"), _("Recorded"), _("Revoked")],
        [
            [text(row.get("relation")), moment(row.get("recorded_at")), moment(row.get("revoked_at"))]
            for row in data["guardian_consents"]
        ],
    )
    return Section("guardian_consents", _("Guardian consents"), [table])


def _memberships(data: dict[str, Any]) -> Section:
    table = Table(
        [_("Enterprise"), _("Role"), _("Member since")],
        [
            [text(row.get("enterprise")), choice(Membership, "role", row.get("role")), moment(row.get("joined_at"))]
            for row in data["memberships"]
        ],
    )
    return Section(
        "memberships",
        _("Memberships"),
        [table],
        note=_(
            "What each enterprise holds about you is exported on that enterprise's site (My data → Export my data)."
        ),
    )


def _inbox(data: dict[str, Any]) -> Section:
    table = Table(
        [_("Received"), _("Title"), _("Message"), _("Read at")],
        [
            [moment(row.get("created_at")), text(row.get("title")), text(row.get("body")), moment(row.get("read_at"))]
            for row in data["notifications"]
        ],
    )
    return Section("notifications", _("Inbox"), [table])


def _account_requests(data: dict[str, Any]) -> Section:
    return Section(
        "requests", _("Requests about your account"), [requests_table(data["requests"], with_category=False)]
    )


ACCOUNT_SECTIONS: tuple[Callable[[dict[str, Any]], Section], ...] = (
    _account,
    _acceptances,
    _account_permissions,
    _memberships,
    _guardians,
    _inbox,
    _account_requests,
)


def account_sections(data: dict[str, Any]) -> list[Section]:
    return [build(data) for build in ACCOUNT_SECTIONS]


# --- rendering ----------------------------------------------------------------------------------


def document_render(*, data: dict[str, Any], language: str, account: bool = False) -> str:
    """index.html of a member's export (or, with `account`, of an account's export), in `language`."""
    with translation.override(language):
        sections = account_sections(data) if account else member_sections(data)
        if account:
            title = _("Your account data on the platform")
        else:
            title = _("Your data held by %(name)s") % {"name": data["enterprise"]["name"]}
        return render_to_string(
            "requests/export_document.html",
            {
                "title": title,
                "sections": sections,
                "generated": moment(data["generated_at"])[0],
                "language": translation.get_language(),
                "dash": DASH,
            },
        )
