"""The instruction ledger (ENT-10): append-only and hash-chained.

Each entry's hash is SHA-256 over the previous entry's hash and a canonical JSON of its own
fields; the first entry follows GENESIS (or the newest LedgerCheckpoint after a purge).
Entries of one enterprise are appended under a transaction-level advisory lock, so two
concurrent writers can never fork the chain. PostgreSQL refuses UPDATE and DELETE on the table
(trigger in migration 0003) and ids <= 0 (CHECK, migration 0009); `ledger_verify` recomputes the
chain and reports every row that is not part of it by id (docs/ledger.md)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from core.models import Membership
from ledger.models import LedgerCheckpoint, LedgerEntry
from tenants.categories import Category
from tenants.context import current_schema, enterprise_schema
from tenants.models import Enterprise

GENESIS = "0" * 64
HASHED_FIELDS = (
    "created_at",
    "actor_kind",
    "actor_membership_id",
    "actor_device_id",
    "action",
    "category",
    "subject_membership_id",
    "purpose",
    "object_type",
    "object_id",
    "details",
    "request_id",
)


class Action:
    CREATE = "create"
    CHANGE = "change"
    DELETE = "delete"
    REVEAL = "reveal"
    EXPORT = "export"
    ENROLL = "enroll"
    REVOKE = "revoke"
    INVITE = "invite"
    GRANT = "grant"
    RETENTION_CHANGE = "retention_change"
    ANSWER_REQUEST = "answer_request"
    LEGAL_BASIS = "legal_basis"
    REMIND = "remind"
    IMPORT = "import"
    # written by consent.notices.services (its PUBLISH); named here so the ledger can label it
    PUBLISH_NOTICE = "publish_notice"
    # a member's own access to their masked values on /me/data/ (issue 17 §1): actor = subject
    VIEW_OWN = "view_own"


def _canonical(values: dict[str, Any]) -> bytes:
    def encode(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return value

    return json.dumps(
        {k: encode(values[k]) for k in HASHED_FIELDS}, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    ).encode()


def entry_hash(prev_hash: str, values: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + _canonical(values)).hexdigest()


def _lock_chain() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"ledger:{current_schema()}"])


def _chain_head() -> str:
    last = LedgerEntry.objects.order_by("-id").values_list("entry_hash", flat=True).first()
    if last is not None:
        return last
    checkpoint = LedgerCheckpoint.objects.order_by("-upto_id").values_list("upto_hash", flat=True).first()
    return checkpoint or GENESIS


def ledger_record(
    *,
    enterprise: Enterprise,
    actor: Membership | None,
    action: str,
    category: str,
    subject: Membership | int | None = None,
    purpose: str = "",
    obj: Any = None,
    details: dict[str, Any] | None = None,
    request_id: str = "",
    actor_kind: str | None = None,
    actor_device_id: int | None = None,
    object_id: Any = None,
) -> LedgerEntry:
    """Append one entry. Call it inside the service's own transaction, so the entry exists
    exactly when the change does."""
    if actor_kind is None:
        actor_kind = (
            LedgerEntry.ActorKind.ADMIN
            if actor is not None and actor.is_admin
            else LedgerEntry.ActorKind.MEMBER
            if actor is not None
            else LedgerEntry.ActorKind.SYSTEM
        )
    values: dict[str, Any] = {
        "created_at": timezone.now(),
        "actor_kind": actor_kind,
        "actor_membership_id": actor.pk if actor is not None else None,
        "actor_device_id": actor_device_id,
        "action": action,
        "category": category,
        "subject_membership_id": subject.pk if isinstance(subject, Membership) else subject,
        "purpose": purpose[:200],
        "object_type": obj._meta.label_lower if obj is not None else "",
        "object_id": str(obj.pk) if obj is not None else ("" if object_id is None else str(object_id)),
        "details": details or {},
        "request_id": request_id[:64],
    }
    with enterprise_schema(enterprise), transaction.atomic():
        _lock_chain()
        prev = _chain_head()
        return LedgerEntry.objects.create(prev_hash=prev, entry_hash=entry_hash(prev, values), **values)


# Why a row is not part of the verified chain (translated for people by views.ledger).
REASON_LINK = "its previous-hash does not match the entry before it"
REASON_CONTENT = "its content does not match its hash"
REASON_ID_NOT_POSITIVE = "its id is not positive, so it lies outside the chain"
REASON_BELOW_CHECKPOINT = "it lies at or below the newest purge checkpoint, where no entry may remain"
MAX_REPORTED = 100  # problems listed by id; `problem_count` counts them all


@dataclass(frozen=True)
class LedgerProblem:
    id: int
    reason: str


@dataclass(frozen=True)
class LedgerVerification:
    """The outcome of `ledger_verify`. Every row of the table is either part of the verified
    chain or one of the problems: `problems` lists the first MAX_REPORTED by id (in id order),
    `problem_count` counts them all; `first_broken_id`/`reason` are the first of them."""

    schema: str
    entries: int
    first_broken_id: int | None
    reason: str = ""
    problems: tuple[LedgerProblem, ...] = ()
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0 and self.first_broken_id is None


def ledger_verify(*, enterprise: Enterprise, batch_size: int = 5000) -> LedgerVerification:
    """Check every row of the enterprise's ledger (ENT-10); none is left unseen.

    - Rows with an id at or below the chain's start — 0 without a checkpoint, else the newest
      checkpoint's `upto_id` — cannot be part of the chain: ids <= 0 (the CHECK constraint refuses
      them, but a superuser may drop it) and rows a purge should have removed (an entry altered or
      inserted below the checkpoint). Each is reported by id.
    - The rest is recomputed in id order, in batches: a row whose previous-hash is not the hash of
      the row before it (a removal or insertion) or whose content does not match its own hash (a
      change) is reported, and the check goes on from that row's stored hash, so every damaged row
      is named, not only the first."""
    problems: list[LedgerProblem] = []
    problem_count = 0

    def report(pk: int, reason: str) -> None:
        nonlocal problem_count
        problem_count += 1
        if len(problems) < MAX_REPORTED:
            problems.append(LedgerProblem(pk, reason))

    with enterprise_schema(enterprise):
        checkpoint = LedgerCheckpoint.objects.order_by("-upto_id").first()
        prev = checkpoint.upto_hash if checkpoint else GENESIS
        floor = max(checkpoint.upto_id, 0) if checkpoint else 0
        outside = LedgerEntry.objects.filter(id__lte=floor)
        problem_count = count = outside.count()
        problems.extend(
            LedgerProblem(pk, REASON_ID_NOT_POSITIVE if pk <= 0 else REASON_BELOW_CHECKPOINT)
            for pk in outside.order_by("id").values_list("id", flat=True)[:MAX_REPORTED]
        )
        last_id = floor
        while True:
            batch = list(
                LedgerEntry.objects.filter(id__gt=last_id)
                .order_by("id")
                .values("id", "prev_hash", "entry_hash", *HASHED_FIELDS)[:batch_size]
            )
            if not batch:
                break
            for row in batch:
                count += 1
                if row["prev_hash"] != prev:
                    report(row["id"], REASON_LINK)
                elif entry_hash(row["prev_hash"], row) != row["entry_hash"]:
                    report(row["id"], REASON_CONTENT)
                prev = row["entry_hash"]
                last_id = row["id"]
    first = problems[0] if problems else None
    return LedgerVerification(
        schema=enterprise.schema_name,
        entries=count,
        first_broken_id=first.id if first else None,
        reason=first.reason if first else "",
        problems=tuple(problems),
        problem_count=problem_count,
    )


def ledger_export_record(
    *, enterprise: Enterprise, actor: Membership, subject_id: int | None, filters: dict[str, Any], purpose: str
) -> LedgerEntry:
    """Record an export of the ledger (ENT-10: exporting is processing) before its rows are read;
    the export then covers the entries up to and including this record."""
    return ledger_record(
        enterprise=enterprise,
        actor=actor,
        action=Action.EXPORT,
        category=Category.LEDGER,
        subject=subject_id,
        purpose=purpose,
        details={"format": "csv", "filters": filters},
    )
