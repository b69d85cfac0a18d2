"""The instruction ledger (ENT-10): append-only and hash-chained.

Each entry's hash is SHA-256 over the previous entry's hash and a canonical JSON of its own
fields; the first entry follows GENESIS (or the newest LedgerCheckpoint after a purge).
Entries of one enterprise are appended under a transaction-level advisory lock, so two
concurrent writers can never fork the chain. PostgreSQL refuses UPDATE and DELETE on the table
(trigger in migration 0002); `verify_ledger` recomputes the chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from enterprise_data.models import LedgerCheckpoint, LedgerEntry, Membership
from tenants.context import current_schema, enterprise_schema
from tenants.models import Enterprise

GENESIS = "0" * 64
HASHED_FIELDS = (
    "created_at", "actor_kind", "actor_membership_id", "actor_device_id", "action", "category",
    "subject_membership_id", "purpose", "object_type", "object_id", "details", "request_id",
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


def _canonical(values: dict[str, Any]) -> bytes:
    def encode(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return value

    return json.dumps({k: encode(values[k]) for k in HASHED_FIELDS}, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode()


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
        actor_kind = (LedgerEntry.ActorKind.ADMIN if actor is not None and actor.is_admin
                      else LedgerEntry.ActorKind.MEMBER if actor is not None else LedgerEntry.ActorKind.SYSTEM)
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


@dataclass(frozen=True)
class LedgerVerification:
    schema: str
    entries: int
    first_broken_id: int | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


def ledger_verify(*, enterprise: Enterprise, batch_size: int = 5000) -> LedgerVerification:
    """Recompute the chain in id order, in batches; report the first entry that does not fit."""
    with enterprise_schema(enterprise):
        checkpoint = LedgerCheckpoint.objects.order_by("-upto_id").first()
        prev = checkpoint.upto_hash if checkpoint else GENESIS
        last_id = checkpoint.upto_id if checkpoint else 0
        count = 0
        while True:
            batch = list(LedgerEntry.objects.filter(id__gt=last_id).order_by("id").values(
                "id", "prev_hash", "entry_hash", *HASHED_FIELDS)[:batch_size])
            if not batch:
                return LedgerVerification(enterprise.schema_name, count, None)
            for row in batch:
                count += 1
                if row["prev_hash"] != prev:
                    return LedgerVerification(enterprise.schema_name, count, row["id"],
                                              "its previous-hash does not match the entry before it")
                if entry_hash(prev, row) != row["entry_hash"]:
                    return LedgerVerification(enterprise.schema_name, count, row["id"],
                                              "its content does not match its hash")
                prev = row["entry_hash"]
                last_id = row["id"]
