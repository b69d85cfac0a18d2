"""What `/me/`'s "Today" and "What I have agreed to" sections show, read in one statement.

The four sections — today's attendance day, today's health report, the member's active separate
consents and their biometric enrolments — used to be four ORM queries issued from the templates.
At concurrency 8 (PERF-7, docs/performance.md) each query's build in the ORM and its round trip
cost more than the page's own work, so they are one SQL statement here: each section a scalar
subquery answering JSON, turned back into the models' own instances so the templates keep
`get_…_display` and the filters they use. The statement is written once from the models' table
and column names; `tests/requests/test_me_today.py` checks it answers what the ORM answers.

It runs in the connection's current schema (the member's enterprise) and reads only the rows of
`membership` (its own attendance, reports, consents and enrolments, and the display name of who
enrolled each template)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from django.db import connection
from django.utils import timezone

from attendance.models import AttendanceDay
from biometrics.models import BiometricTemplate, Purpose
from consent.models import ConsentPurpose, ConsentRecord, SensitiveCategory
from core.models import Membership
from health.models import HealthReport


@dataclass(frozen=True)
class MeToday:
    day: AttendanceDay | None  # today's attendance record, if any
    health: HealthReport | None  # today's report, if any
    consents: list[ConsentRecord]  # active separate consents and legal bases, newest first
    enrolments: list[BiometricTemplate]  # metadata only, newest first, with `enrolled_by` loaded


def _column(model: Any, name: str) -> str:
    """The quoted column of the model's field `name`."""
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _columns(model: Any, *names: str) -> list[tuple[str, str]]:
    """(JSON key, quoted column) of each field, by the model's own column names."""
    return [(name, _column(model, name)) for name in names]


def _object(alias: str, columns: list[tuple[str, str]]) -> str:
    return "json_build_object(" + ", ".join(f"'{key}', {alias}.{column}" for key, column in columns) + ")"


_DAY_FIELDS = ("id", "date", "first_in", "last_out", "exceptions")
_HEALTH_FIELDS = ("id", "date", "city", "unwell")
_CONSENT_FIELDS = ("id", "category", "purpose", "basis", "given_at")
_ENROLMENT_FIELDS = ("id", "modality", "purpose", "enrolled_at", "enrolled_by_id", "revoked_at")
_DATETIMES = {"first_in", "last_out", "given_at", "enrolled_at", "revoked_at"}


@cache
def _statement() -> str:
    quote = connection.ops.quote_name
    table = {
        model: quote(model._meta.db_table)
        for model in (AttendanceDay, HealthReport, ConsentRecord, BiometricTemplate, Membership)
    }
    member = {
        model: _column(model, "membership") for model in (AttendanceDay, HealthReport, ConsentRecord, BiometricTemplate)
    }
    day_date = _column(AttendanceDay, "date")
    health_date = _column(HealthReport, "date")
    withdrawn = _column(ConsentRecord, "withdrawn_at")
    given_at = _column(ConsentRecord, "given_at")
    enrolled_at = _column(BiometricTemplate, "enrolled_at")
    enrolled_by = _column(BiometricTemplate, "enrolled_by")
    display_name = _column(Membership, "display_name")
    pk = quote("id")
    return f"""
SELECT
  (SELECT {_object("d", _columns(AttendanceDay, *_DAY_FIELDS))} FROM {table[AttendanceDay]} d
    WHERE d.{member[AttendanceDay]} = %(member)s AND d.{day_date} = %(today)s),
  (SELECT {_object("h", _columns(HealthReport, *_HEALTH_FIELDS))} FROM {table[HealthReport]} h
    WHERE h.{member[HealthReport]} = %(member)s AND h.{health_date} = %(today)s),
  (SELECT json_agg({_object("c", _columns(ConsentRecord, *_CONSENT_FIELDS))} ORDER BY c.{given_at} DESC, c.{pk} DESC)
    FROM {table[ConsentRecord]} c WHERE c.{member[ConsentRecord]} = %(member)s AND c.{withdrawn} IS NULL),
  (SELECT json_agg(json_build_object('row', {_object("b", _columns(BiometricTemplate, *_ENROLMENT_FIELDS))},
                                     'by', m.{display_name}) ORDER BY b.{enrolled_at} DESC, b.{pk} DESC)
    FROM {table[BiometricTemplate]} b LEFT JOIN {table[Membership]} m ON m.{pk} = b.{enrolled_by}
    WHERE b.{member[BiometricTemplate]} = %(member)s)
"""  # noqa: S608 — the models' table and column names, every value a parameter


def _decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _instance(model: Any, row: dict[str, Any], **extra: Any) -> Any:
    values: dict[str, Any] = {
        key: datetime.fromisoformat(value) if key in _DATETIMES and value else value for key, value in row.items()
    }
    if "date" in row:
        values["date"] = date.fromisoformat(row["date"])
    return model(**values, **extra)


def _label(choices: Any, value: str) -> str:
    """The reader's words for a stored choice (the value itself if it is no longer a choice):
    what `get_…_display` gives, without building the whole choice list on every call."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _local_day(value: datetime | None) -> str:
    """`|date:"Y-m-d"` of an aware time: its day in the current time zone."""
    return timezone.localdate(value).isoformat() if value else ""


def me_today(*, membership: Membership, today: date) -> MeToday:
    """The four sections of `membership`'s `/me/` for the local day `today` (one query). Consents
    and enrolments carry their labels and local days ready to show (`category_label`,
    `given_on`, `modality_label`, `enrolled_on`, …: PERF-7, the page shows them as they are)."""
    with connection.cursor() as cursor:
        cursor.execute(_statement(), {"member": membership.pk, "today": today})
        day, health, consents, enrolments = (_decoded(value) for value in cursor.fetchone())
    records = []
    for row in consents or ():
        record = _instance(ConsentRecord, row, membership_id=membership.pk)
        record.category_label = _label(SensitiveCategory, record.category)
        record.purpose_label = _label(ConsentPurpose, record.purpose)
        record.given_on = _local_day(record.given_at)
        records.append(record)
    templates = []
    for item in enrolments or ():
        template = _instance(BiometricTemplate, item["row"], membership_id=membership.pk)
        by_id = template.enrolled_by_id
        template.enrolled_by = None if by_id is None else Membership(id=by_id, display_name=item["by"] or "")
        template.modality_label = _label(BiometricTemplate.Modality, template.modality)
        template.purpose_label = _label(Purpose, template.purpose)
        template.enrolled_on = _local_day(template.enrolled_at)
        template.revoked_on = _local_day(template.revoked_at)
        templates.append(template)
    return MeToday(
        day=_instance(AttendanceDay, day, membership_id=membership.pk) if day else None,
        health=_instance(HealthReport, health, membership_id=membership.pk) if health else None,
        consents=records,
        enrolments=templates,
    )
