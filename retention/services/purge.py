"""Retention purges (RET-2..RET-5): every category past its cut-off, set-based, in batches.

`purge_run(enterprise=…)` is what the daily per-enterprise task calls:

1. **Lock** (RET-4): `pg_try_advisory_xact_lock(PURGE_LOCK_CLASS, hashtext(schema))`, held for
   the run by a transaction of its own (tenants.locks.exclusive_run; transaction-level, so it
   works behind a transaction pooler: issue 18 §4). A second run for the same enterprise —
   another beat, another worker — does not wait: it returns `skipped`. A worker that dies loses
   its connection and with it the lock.
2. **Plan**: an unfinished run (status running: its worker crashed or was killed) is resumed with
   the cut-offs it was started with; otherwise a new run fixes one cut-off per category
   (start time − the enterprise's retention period) in PurgeStep rows, committed before any row
   is deleted. A re-run therefore deletes exactly what was due when the run started. In the same
   transaction one query asks which parts of the unfinished steps have anything due (_DUE,
   _parts_due); the categories with nothing due are finished there at once, their empty
   receipts written in one statement (_finish_empty), and only the parts with rows due run.
3. **Batches** (RET-3): each category deletes (or, for departed members' cards, anonymises) at
   most `batch_size` rows per statement and commits each batch together with the step's running
   row count and start. The plain deletions address the due rows by `ctid` — `DELETE … WHERE
   ctid = ANY(ARRAY(SELECT ctid … WHERE <due> LIMIT n))`, a TID scan with no sort and no join —
   and repeat until a batch removes nothing (a row updated concurrently is skipped by its batch
   and caught by the next). The categories that need the deleted ids (the device feed, the
   public invitation index) take them in id order, one batch at a time. No ORM object is
   loaded. A clock event's raw location and photo are deleted with it by the database
   (set-based triggers, migration 0008; docs/retention.md).
4. **Receipts** (RET-5): the batch that finds a category done also, in the same transaction,
   marks its step finished, appends a ledger entry (when rows were removed) and writes the
   operators' PurgeReceipt in the public schema. A crash before that commit replays the (empty)
   last batch and writes the receipt once.
5. **Commits** (`_asynchronous_commits`): the run's transactions commit without waiting for the
   disk (`synchronous_commit = off`); the final update of the run commits synchronously, so a
   run reported done is durable, and a server crash before it is an interrupted run (item 2).

The categories, their order and bounds are in retention.bounds; docs/retention.md."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from attendance.models import AttendanceDay, ClockEvent, ClockEventLocation, ClockEventPhoto
from biometrics.models import BiometricTemplate, TemplateChange
from biometrics.services import _lock_feed
from core.models import MemberDataKey, Membership
from health.models import HealthReport
from invitations.models import Invitation
from ledger.models import LedgerCheckpoint, LedgerEntry
from ledger.services import Action, _lock_chain, ledger_record
from retention.bounds import BOUNDS, PURGE_ORDER, RetentionCategory
from retention.models import PurgeRun, PurgeStep
from retention.selectors import retention_days_for
from retention.services.erasure import (
    CARDS_LEFT_BEFORE,
    cards_anonymise,
    departed_data_keys_destroy,
)
from tenants.citus import set_local_propagated
from tenants.context import current_schema, enterprise_schema
from tenants.locks import exclusive_run
from tenants.models import Enterprise, InvitationIndex, PurgeReceipt

# Rows per batch: each batch also costs a statement, the step's counter update and a commit
# (about 1 ms together), against roughly 0.7 µs per deleted row; 10,000 rows keep that overhead
# near 10 % while a batch stays a transaction of a few milliseconds on rows nobody else touches.
BATCH_SIZE = 10_000
# The first key of the two-key advisory lock: a lock space of its own ("RP").
PURGE_LOCK_CLASS = 0x5250
RECEIPT_PURPOSE = "retention purge"

# Called after each committed batch with (category, rows so far in this step); tests raise from
# it to simulate a crash between batches.
AfterBatch = Callable[[str, int], None]


@dataclass
class PurgeOutcome:
    schema: str
    status: str  # "done" or "skipped" (another run holds the enterprise's lock)
    run_id: int | None = None
    resumed: bool = False
    rows: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "status": self.status,
            "run_id": self.run_id,
            "resumed": self.resumed,
            "rows": self.rows,
        }


# --- the lock ---------------------------------------------------------------------------------


@contextmanager
def _asynchronous_commits() -> Iterator[None]:
    """`synchronous_commit = off` for this session while the run's batches commit, restored after.

    A commit then returns without waiting for its WAL to reach the disk; a server crash can lose
    the last few hundred milliseconds of committed transactions — always a suffix, never one in
    the middle, and each transaction whole (a batch with its step counter, a receipt with its
    step). Losing a suffix of a run is a crash of the run: it is still `running`, and the next
    attempt resumes it and redoes exactly the lost part (RET-4). The run's final update commits
    synchronously, which makes the whole run durable before the task reports it done.

    Behind a transaction pooler (POOL_MODE "transaction") a session setting would stay on the
    server connection for other clients: the run's commits are then synchronous (issue 18 §4)."""
    if connection.settings_dict.get("POOL_MODE") == "transaction":
        yield
        return
    with connection.cursor() as cursor:
        # (the target list is evaluated in order: the current value, then the change)
        cursor.execute("SELECT current_setting('synchronous_commit'), set_config('synchronous_commit', 'off', false)")
        previous = cursor.fetchone()[0]
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('synchronous_commit', %s, false)", [previous])
        except DatabaseError:  # the connection broke: its session, and the setting, are gone
            connection.close()


# --- one batch per category -------------------------------------------------------------------
# Each function removes at most `limit` due rows of its part of a category, in the caller's
# transaction, and returns how many it removed and whether more may be due. The statements are
# templates over the tables' names ({loc}, {event} …, filled by _sql); values are parameters.

# Due rows by ctid: a TID scan over at most `limit` rows found by the inner scan (no sort, no
# join). Each statement is one batch; see _plain_delete.
_BY_CTID = "DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} WHERE {due} LIMIT %(limit)s))"
# Each part's due rows are a WHERE condition over its table; the statement and the run's check
# for anything due (_DUE, below) share it, so they cannot disagree.
_DUE_RAW_COORDINATES = ("{loc}", "created_at < %(cutoff)s")
_DUE_CLOCK_PHOTOS = ("{photo}", "created_at < %(cutoff)s")
_DUE_CLOCK_EVENTS = ("{event}", "occurred_at < %(cutoff)s")
_DUE_ATTENDANCE_DAYS = ("{day}", "date < %(day)s")
_DUE_HEALTH_REPORTS = ("{report}", "date < %(day)s")
_DUE_BIOMETRIC_TEMPLATES = (
    "{template} t",
    """t.revoked_at < %(cutoff)s
       OR t.membership_id IN (SELECT id FROM {member} WHERE status = 'left' AND left_at < %(cutoff)s)""",
)
_DUE_INVITATIONS = ("{invitation}", "coalesce(responded_at, expires_at) < %(cutoff)s")
_RAW_COORDINATES = _BY_CTID.format(table="{loc}", due=_DUE_RAW_COORDINATES[1])
_CLOCK_PHOTOS = _BY_CTID.format(table="{photo}", due=_DUE_CLOCK_PHOTOS[1])
# an event's raw coordinates and photo, if any are left (normally long gone under their own,
# shorter period), are deleted with it by the trigger clock_event_details_delete (migration 0008)
_CLOCK_EVENTS = _BY_CTID.format(table="{event}", due=_DUE_CLOCK_EVENTS[1])
_ATTENDANCE_DAYS = _BY_CTID.format(table="{day}", due=_DUE_ATTENDANCE_DAYS[1])
_HEALTH_REPORTS = _BY_CTID.format(table="{report}", due=_DUE_HEALTH_REPORTS[1])
# (S608: the fragments are the constants above, not input)
_BIOMETRIC_TEMPLATES = f"""
DELETE FROM {{template}} WHERE id IN (
    SELECT t.id FROM {_DUE_BIOMETRIC_TEMPLATES[0]}
    WHERE {_DUE_BIOMETRIC_TEMPLATES[1]}
    ORDER BY t.id LIMIT %(limit)s)
RETURNING id, membership_id, purpose, revoked_at IS NULL
"""  # noqa: S608
_INVITATIONS = f"""
DELETE FROM {{invitation}} WHERE id IN (
    SELECT id FROM {_DUE_INVITATIONS[0]} WHERE {_DUE_INVITATIONS[1]} ORDER BY id LIMIT %(limit)s)
RETURNING id, membership_id
"""  # noqa: S608
# The longest prefix of the chain (in id order, at most `limit` entries) whose entries are all due.
_LEDGER_PREFIX = """
WITH head AS (SELECT id, entry_hash, created_at < %(cutoff)s AS due FROM {entry} ORDER BY id LIMIT %(limit)s),
     stop AS (SELECT min(id) AS id FROM head WHERE NOT due)
SELECT id, entry_hash, (SELECT id FROM stop) IS NOT NULL FROM head
WHERE due AND id < coalesce((SELECT id FROM stop), 9223372036854775807)
ORDER BY id DESC LIMIT 1
"""
_LEDGER_DELETE = "DELETE FROM {entry} WHERE id <= %(upto)s"


def _sql(template: str) -> str:
    quote = connection.ops.quote_name
    return template.format(
        loc=quote(ClockEventLocation._meta.db_table),
        event=quote(ClockEvent._meta.db_table),
        photo=quote(ClockEventPhoto._meta.db_table),
        day=quote(AttendanceDay._meta.db_table),
        report=quote(HealthReport._meta.db_table),
        template=quote(BiometricTemplate._meta.db_table),
        member=quote(Membership._meta.db_table),
        invitation=quote(Invitation._meta.db_table),
        entry=quote(LedgerEntry._meta.db_table),
        step=quote(PurgeStep._meta.db_table),
        receipt=quote(PurgeReceipt._meta.db_table),
        key=quote(MemberDataKey._meta.db_table),
        export=quote(apps.get_model("requests", "Export")._meta.db_table),
    )


def _plain_delete(template: str, params: dict[str, Any]) -> tuple[int, bool]:
    """One batch of a _BY_CTID statement. More may be due until a batch removes nothing: a due
    row that another transaction updates meanwhile is skipped by its batch (its new version has
    another ctid) but found again by the next one, so a run still deletes every row that was
    due, and a batch that happens to remove fewer than `limit` rows does not end the part early.
    (Asking the scan for one row more than it deletes, to spare the last, empty batch, made
    every batch slower than that batch costs.)"""
    with connection.cursor() as cursor:
        cursor.execute(_sql(template), params)
        removed = int(cursor.rowcount)
    return removed, removed > 0


def _local_date(moment: datetime) -> date:
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def _raw_coordinates(enterprise: Enterprise, cutoff: datetime, limit: int) -> tuple[int, bool]:
    return _plain_delete(_RAW_COORDINATES, {"cutoff": cutoff, "limit": limit})


# The exports' files and rows are deleted by requests (requests.export.services
# .exports_purge_expired), which registers that function when the apps are ready
# (requests/apps.py): requests sits above retention, which never imports it.
_EXPORTS_PURGE: list[Callable[..., tuple[int, bool]]] = []


def exports_purge_register(purge: Callable[..., tuple[int, bool]]) -> None:
    """Called once by requests' AppConfig.ready with its exports' purge."""
    _EXPORTS_PURGE[:] = [purge]


def _exports(enterprise: Enterprise, cutoff: datetime, limit: int) -> tuple[int, bool]:
    if not _EXPORTS_PURGE:
        raise ImproperlyConfigured("The exports' purge is registered by requests when the apps are ready.")
    return _EXPORTS_PURGE[0](enterprise=enterprise, cutoff=cutoff, limit=limit)


def _clock_photos(enterprise: Enterprise, cutoff: datetime, limit: int) -> tuple[int, bool]:
    return _plain_delete(_CLOCK_PHOTOS, {"cutoff": cutoff, "limit": limit})


def _clock_events(enterprise: Enterprise, cutoff: datetime, limit: int) -> tuple[int, bool]:
    return _plain_delete(_CLOCK_EVENTS, {"cutoff": cutoff, "limit": limit})


def _attendance_days(enterprise: Enterprise, cutoff: datetime, limit: int) -> tuple[int, bool]:
    return _plain_delete(_ATTENDANCE_DAYS, {"day": _local_date(cutoff), "limit": limit})


def _health_reports(enterprise: Enterprise, cutoff: datetime, limit: int) -> tuple[int, bool]:
    return _plain_delete(_HEALTH_REPORTS, {"day": _local_date(cutoff), "limit": limit})


def _biometric_templates(enterprise: Enterprise, cutoff: datetime, limit: int) -> tuple[int, bool]:
    """Withdrawn templates, and templates still held for members who left (DSR-5 deletes them at
    once; this catches any left behind). Devices still holding a deleted template — one that was
    not withdrawn before — get a delete row in their change feed (ENT-6)."""

    with connection.cursor() as cursor:
        cursor.execute(_sql(_BIOMETRIC_TEMPLATES), {"cutoff": cutoff, "limit": limit})
        deleted = cursor.fetchall()
    held = [(pk, membership_id, purpose) for pk, membership_id, purpose, active in deleted if active]
    if held:
        _lock_feed()
        TemplateChange.objects.bulk_create(
            [
                TemplateChange(
                    template_id=pk, membership_id=membership_id, purpose=purpose, change=TemplateChange.Change.DELETE
                )
                for pk, membership_id, purpose in sorted(held)
            ]
        )
    return len(deleted), len(deleted) == limit


def _invitations(enterprise: Enterprise, cutoff: datetime, limit: int) -> tuple[int, bool]:
    """Closed invitations (answered, withdrawn or expired) by the answer or expiry time; their
    rows in the public index of pending invitations go with them. The card of an invitation that
    expired unanswered (still "invited", with no other invitation open) leaves the directory, as
    expiring it would have done; departed profiles then anonymise it."""
    with connection.cursor() as cursor:
        cursor.execute(_sql(_INVITATIONS), {"cutoff": cutoff, "limit": limit})
        deleted = cursor.fetchall()
    if deleted:
        ids = [pk for pk, _card in deleted]
        InvitationIndex.objects.filter(enterprise_id=enterprise.pk, invitation_id__in=ids).delete()
        cards = {card for _pk, card in deleted if card is not None}
        open_invitations = Invitation.objects.filter(
            membership_id=OuterRef("pk"), status=Invitation.Status.PENDING, expires_at__gte=timezone.now()
        )
        Membership.objects.filter(pk__in=cards, status=Membership.Status.INVITED).exclude(
            Exists(open_invitations)
        ).update(status=Membership.Status.LEFT, left_at=timezone.now())
    return len(deleted), len(deleted) == limit


def _departed_profiles(enterprise: Enterprise, cutoff: datetime, limit: int) -> tuple[int, bool]:
    """Anonymise the cards of members who left (and of invitations never accepted) before the
    cut-off (retention.services.erasure.cards_anonymise). The rows stay: attendance kept
    under its own period and the ledger refer to them by id, which identifies no one once the
    card is empty. Their data keys are destroyed in the same batch (crypto-shredding, RET-6)."""
    done = cards_anonymise(condition=CARDS_LEFT_BEFORE, params={"cutoff": cutoff}, limit=limit)
    # RET-6: in the same batch, after the cards: the data keys of anonymised members (these and
    # any an earlier run left behind) are destroyed, one ledger entry each
    shredded = departed_data_keys_destroy(enterprise=enterprise, limit=limit, reason=RECEIPT_PURPOSE)
    return len(done), len(done) == limit or len(shredded) == limit


def _ledger(enterprise: Enterprise, cutoff: datetime, limit: int) -> tuple[int, bool]:
    """The oldest entries, always a prefix of the chain (ids in order up to the first entry that
    is not due), deleted under the chain's lock with the trigger's purge switch on for this
    statement only; a LedgerCheckpoint records where the chain now starts (ENT-10)."""

    _lock_chain()
    with connection.cursor() as cursor:
        cursor.execute(_sql(_LEDGER_PREFIX), {"cutoff": cutoff, "limit": limit})
        last = cursor.fetchone()
        if last is None:
            return 0, False
        upto_id, upto_hash, stopped = last
        set_local_propagated(cursor)  # Citus: the switch must reach the worker's trigger (issue 18 §5)
        cursor.execute("SET LOCAL portal.ledger_purge = 'on'")
        cursor.execute(_sql(_LEDGER_DELETE), {"upto": upto_id})
        rows = int(cursor.rowcount)
        cursor.execute("SET LOCAL portal.ledger_purge = 'off'")
    LedgerCheckpoint.objects.create(upto_id=upto_id, upto_hash=upto_hash, rows_purged=rows)
    # a batch cut short by an entry that is not due yet is the last one
    return rows, rows == limit and not stopped


Part = Callable[[Enterprise, datetime, int], tuple[int, bool]]
PARTS: dict[str, tuple[Part, ...]] = {
    RetentionCategory.RAW_COORDINATES: (_raw_coordinates, _clock_photos),
    RetentionCategory.EXPORTS: (_exports,),
    RetentionCategory.ATTENDANCE: (_clock_events, _attendance_days),
    RetentionCategory.HEALTH_REPORTS: (_health_reports,),
    RetentionCategory.BIOMETRIC_TEMPLATES: (_biometric_templates,),
    RetentionCategory.INVITATIONS: (_invitations,),
    RetentionCategory.DEPARTED_PROFILES: (_departed_profiles,),
    RetentionCategory.LEDGER: (_ledger,),
}
assert set(PARTS) == set(PURGE_ORDER)


def _exists(due: tuple[str, str]) -> str:
    return f"EXISTS (SELECT 1 FROM {due[0]} WHERE {due[1]})"  # noqa: S608 — constants above


# Whether a part may have anything due, as one boolean SQL expression (parameters `cutoff` and
# `day`, as its statement's, and `now`). The run asks for all of them in one query (_parts_due) and
# skips the parts that have nothing due; a category none of whose parts has anything due is finished with
# the other empty ones in bulk, without a batch of its own. An expression may say "due" when a
# batch then removes nothing (the part just runs), never "nothing" when there is something.
_DUE: dict[Part, str] = {
    _raw_coordinates: _exists(_DUE_RAW_COORDINATES),
    _clock_photos: _exists(_DUE_CLOCK_PHOTOS),
    _clock_events: _exists(_DUE_CLOCK_EVENTS),
    _attendance_days: _exists(_DUE_ATTENDANCE_DAYS),
    _health_reports: _exists(_DUE_HEALTH_REPORTS),
    _biometric_templates: _exists(_DUE_BIOMETRIC_TEMPLATES),
    _invitations: _exists(_DUE_INVITATIONS),
    # requests.export.services.exports_purge_expired: links expired with their file still kept
    # (as of this query; one expiring during the run is caught by the next run), or made before
    # the cut-off
    # (`now` is the application's clock, as exports_purge_expired's, never the database's now())
    _exports: "EXISTS (SELECT 1 FROM {export} WHERE (expires_at <= %(now)s AND file_path <> '') "
    "OR created_at < %(cutoff)s)",
    # retention.services.erasure: cards_anonymise(CARDS_LEFT_BEFORE), then
    # departed_data_keys_destroy (the keys of any anonymised member)
    _departed_profiles: "(EXISTS (SELECT 1 FROM {member} WHERE status = 'left' AND anonymised_at IS NULL "
    "AND left_at < %(cutoff)s) OR EXISTS (SELECT 1 FROM {key} k JOIN {member} m "
    "ON m.id = k.membership_id WHERE m.status = 'left' AND m.anonymised_at IS NOT NULL))",
    # _LEDGER_PREFIX: the chain's first entry is due
    _ledger: "EXISTS (SELECT 1 FROM (SELECT created_at FROM {entry} ORDER BY id LIMIT 1) AS head "
    "WHERE head.created_at < %(cutoff)s)",
}
assert set(_DUE) == {part for parts in PARTS.values() for part in parts}


def _parts_due(steps: list[PurgeStep]) -> dict[int, tuple[Part, ...]]:
    """{step id: its parts that may have rows due, in order} for the unfinished steps, with one
    query. A step whose batches removed rows but which is not finished (a crash between its last
    batches) keeps at least its last part, whose empty batch finishes it with its ledger entry."""
    columns: list[str] = []
    params: dict[str, Any] = {"now": timezone.now()}
    keys: list[tuple[PurgeStep, Part]] = []
    for step in steps:
        if step.finished_at is not None:
            continue
        names = {"cutoff": f"cutoff_{step.pk}", "day": f"day_{step.pk}"}
        params[names["cutoff"]], params[names["day"]] = step.cutoff, _local_date(step.cutoff)
        for part in PARTS[step.category]:
            # (a part without an expression — none in PARTS, a test's stand-in — is always run)
            columns.append(
                _DUE.get(part, "true")
                .replace("%(cutoff)s", f"%({names['cutoff']})s")
                .replace("%(day)s", f"%({names['day']})s")
            )
            keys.append((step, part))
    if not columns:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_sql("SELECT " + ", ".join(columns)), params)
        flags = cursor.fetchone()
    due: dict[int, tuple[Part, ...]] = {}
    for step in steps:
        if step.finished_at is None:
            parts = tuple(part for (s, part), flag in zip(keys, flags, strict=True) if s is step and flag)
            due[step.pk] = parts or (PARTS[step.category][-1:] if step.rows else ())
    return due


# The categories with nothing due, finished together: their steps and their (empty) receipts.
_STEPS_FINISH_EMPTY = """
UPDATE {step} SET started_at = coalesce(started_at, %(finished)s), finished_at = %(finished)s
WHERE id = ANY(%(ids)s) AND finished_at IS NULL AND rows = 0
RETURNING id
"""


def _finish_empty(*, enterprise: Enterprise, steps: list[PurgeStep]) -> None:
    """Finish `steps` (nothing removed, nothing due) in the caller's transaction: one update of
    the steps and one insert of their receipts (RET-5: a receipt per category, with 0 rows and no
    ledger entry, as an empty batch would have written it)."""
    if not steps:
        return
    finished = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_sql(_STEPS_FINISH_EMPTY), {"finished": finished, "ids": [step.pk for step in steps]})
        counted = {pk for (pk,) in cursor.fetchall()}
        done = [step for step in steps if step.pk in counted]  # (all of them under the lock)
        if not done:
            return
        values, params = [], {"enterprise": enterprise.pk, "schema": enterprise.schema_name, "finished": finished}
        for step in done:
            step.started_at, step.finished_at = step.started_at or finished, finished
            n = step.pk
            values.append(
                f"(%(enterprise)s, %(schema)s, %(run_{n})s, %(category_{n})s, %(cutoff_{n})s, 0, "
                f"%(days_{n})s, %(started_{n})s, %(finished)s, NULL)"
            )
            params.update(
                {
                    f"run_{n}": step.run_id,
                    f"category_{n}": step.category,
                    f"cutoff_{n}": step.cutoff,
                    f"days_{n}": step.retention_days,
                    f"started_{n}": step.started_at,
                }
            )
        cursor.execute(_sql(_RECEIPTS_HEAD) + ", ".join(values), params)


# --- runs and steps ---------------------------------------------------------------------------


def _start_or_resume(
    *, enterprise: Enterprise, now: datetime | None
) -> tuple[PurgeRun, bool, list[PurgeStep], dict[int, tuple[Part, ...]]]:
    """(the run, whether it is resumed, its steps in order, {unfinished step id: its parts that
    may have rows due}). In the same transaction, the steps with nothing due are finished with
    their receipts (_finish_empty)."""
    with transaction.atomic():
        run = PurgeRun.objects.select_for_update().filter(status=PurgeRun.Status.RUNNING).first()
        resumed = run is not None
        if run is not None:
            PurgeRun.objects.filter(pk=run.pk).update(attempts=F("attempts") + 1)
            steps = list(PurgeStep.objects.filter(run=run).order_by("position"))
        else:
            started = now or timezone.now()
            days = retention_days_for(enterprise)
            run = PurgeRun.objects.create(started_at=started)
            steps = PurgeStep.objects.bulk_create(
                [
                    PurgeStep(
                        run=run,
                        category=category,
                        position=position,
                        retention_days=days[category],
                        cutoff=started - timedelta(days=days[category]),
                    )
                    for position, category in enumerate(PURGE_ORDER)
                ]
            )
        due = _parts_due(steps)
        _finish_empty(enterprise=enterprise, steps=[step for step in steps if due.get(step.pk) == ()])
    return run, resumed, steps, due


# The step's bookkeeping, in each batch's transaction (plain SQL: it runs once per batch, where
# the ORM's query compilation would cost more than the statement).
_STEP_COUNT = """
UPDATE {step} SET rows = rows + %(removed)s, batches = batches + %(batches)s,
    started_at = coalesce(started_at, %(began)s)
WHERE id = %(id)s AND finished_at IS NULL
"""
# A step's last batch: counted, the step finished, and its receipt written from the updated row.
_STEP_FINISH = """
WITH step AS (
    UPDATE {step} SET rows = rows + %(removed)s, batches = batches + %(batches)s,
        started_at = coalesce(started_at, %(began)s), finished_at = %(finished)s, ledger_entry_id = %(entry)s
    WHERE id = %(id)s AND finished_at IS NULL
    RETURNING run_id, category, cutoff, rows, retention_days, started_at, finished_at, ledger_entry_id)
INSERT INTO {receipt} (enterprise_id, schema_name, run_id, category, cutoff, rows, retention_days, started_at,
                       finished_at, ledger_entry_id)
SELECT %(enterprise)s, %(schema)s, run_id, category, cutoff, rows, retention_days, started_at, finished_at,
       ledger_entry_id FROM step
"""
_RECEIPTS_HEAD = """
INSERT INTO {receipt} (enterprise_id, schema_name, run_id, category, cutoff, rows, retention_days, started_at,
                       finished_at, ledger_entry_id)
VALUES """


def _purge_step(
    *, enterprise: Enterprise, step: PurgeStep, parts: tuple[Part, ...], batch_size: int, after_batch: AfterBatch | None
) -> int:
    """Run `parts` (the step's parts that may have rows due, _parts_due) batch by batch, one
    transaction each, the step's counters updated in the batch's transaction; the batch that
    finds the last of them done also finishes the step (its receipt), in the same transaction."""
    began = step.started_at or timezone.now()
    for position, part in enumerate(parts):
        while True:
            with transaction.atomic():
                removed, more = part(enterprise, step.cutoff, batch_size)
                if not more and position == len(parts) - 1:
                    _finish_step(enterprise=enterprise, step=step, removed=removed, began=began)
                elif removed:
                    with connection.cursor() as cursor:
                        cursor.execute(
                            _sql(_STEP_COUNT), {"removed": removed, "batches": 1, "began": began, "id": step.pk}
                        )
                    step.rows += removed
                    step.started_at = step.started_at or began
            if removed and after_batch is not None:
                after_batch(step.category, step.rows)
            if not more:
                break
    return step.rows


def _finish_step(*, enterprise: Enterprise, step: PurgeStep, removed: int, began: datetime) -> None:
    """The step's last batch (which removed `removed` rows) finishes it, in the batch's
    transaction: the ledger entry (RET-5, when the step removed rows), then one statement that
    counts the batch, marks the step finished with the entry's id and writes the operators'
    PurgeReceipt from the updated step — all commit with the batch, or none."""
    finished = timezone.now()
    rows, started = step.rows + removed, step.started_at or began
    entry_id = None
    if rows:
        entry_id = ledger_record(
            enterprise=enterprise,
            actor=None,
            action=Action.DELETE,
            category=BOUNDS[step.category].admin_category,
            purpose=RECEIPT_PURPOSE,
            obj=step,
            details={
                "retention_category": step.category,
                "rows": rows,
                "cutoff": step.cutoff.isoformat(),
                "retention_days": step.retention_days,
                "run": step.run_id,
                "started_at": started.isoformat(),
                "finished_at": finished.isoformat(),
            },
        ).pk
    with connection.cursor() as cursor:
        cursor.execute(
            _sql(_STEP_FINISH),
            {
                "removed": removed,
                "batches": 1 if removed else 0,
                "began": began,
                "finished": finished,
                "entry": entry_id,
                "id": step.pk,
                "enterprise": enterprise.pk,
                "schema": enterprise.schema_name,
            },
        )
        if cursor.rowcount != 1:
            # the step was finished already: impossible under the run's lock; roll the batch back
            # (and the ledger entry with it) rather than count it twice
            raise RuntimeError(f"purge step {step.pk} is finished already")
    step.rows, step.started_at, step.finished_at, step.ledger_entry_id = rows, started, finished, entry_id


def purge_run(
    *,
    enterprise: Enterprise,
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
    after_batch: AfterBatch | None = None,
) -> PurgeOutcome:
    """Purge every category of `enterprise` past its cut-off (see the module docstring).
    `now` fixes the start of a new run (tests); a resumed run keeps its own."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    with enterprise_schema(enterprise):
        schema = current_schema()
        with exclusive_run(PURGE_LOCK_CLASS, schema) as held:
            if not held:
                return PurgeOutcome(schema=schema, status="skipped")
            with _asynchronous_commits():
                run, resumed, steps, due = _start_or_resume(enterprise=enterprise, now=now)
                for step in steps:
                    if step.finished_at is None:
                        _purge_step(
                            enterprise=enterprise,
                            step=step,
                            parts=due[step.pk],
                            batch_size=batch_size,
                            after_batch=after_batch,
                        )
            # a synchronous commit: it flushes the WAL of every transaction of the run before it
            PurgeRun.objects.filter(pk=run.pk).update(status=PurgeRun.Status.DONE, finished_at=timezone.now())
            rows = {step.category: step.rows for step in steps}
            return PurgeOutcome(schema=schema, status="done", run_id=run.pk, resumed=resumed, rows=rows)


# Minimisation does not pause while an enterprise is suspended or serving its termination
# notice; a terminated enterprise's schema is dropped by the termination flow (docs/retention.md).
PURGE_STATES = [Enterprise.State.ACTIVE, Enterprise.State.SUSPENDED, Enterprise.State.TERMINATING]
