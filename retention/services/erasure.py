"""Erasure primitives: delete one member's data of one sensitive category and purpose in the
current enterprise, with set-based SQL (CON-6; the retention engine, RET-*, builds on these).

What each (category, purpose) covers:

- biometrics / attendance | door_access: the member's templates for that purpose (deleted;
  devices learn it from the change feed);
- health / health_monitoring: the member's health reports;
- precise_location / attendance: the raw coordinates kept with the member's clock events and the
  location cell derived from them (the events themselves, attendance records, stay);
- id_documents / hr_records: the ID number on the member's directory card;
- contacts / contact_matching: nothing — matching keeps none of the hashes (ENT-7).

`sensitive_data_counts` answers "what would be deleted" for the member's confirmation page;
`sensitive_processing_stop` stops, in the withdrawal's own transaction, what would otherwise go on
until the deletion runs (devices' templates); `sensitive_data_erase` deletes it and writes one
ledger entry with the counts.

Also here: anonymising departed members' directory cards (`cards_anonymise`, used by the
retention purge, and `member_profile_anonymise` for one member), crypto-shredding
(`departed_data_keys_destroy`: the data key of a member whose card is anonymised is destroyed as
the final step of their erasure, RET-6), and scheduled erasures (`schedule_member_erasure`,
`erasure_plan_cancel`, `erasure_plans_run_due`): plans are ErasurePlan rows run by a
beat-dispatched task once due, so a restart loses nothing and a cancelled plan never runs
(docs/retention.md, docs/encryption.md)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from attendance.models import ClockEvent, ClockEventLocation, ClockEventPhoto
from biometrics.models import BiometricTemplate
from biometrics.services import templates_delete_for_member, templates_revoke_for_member
from consent.consents.services import withdrawal_reason
from consent.models import (
    ConsentPurpose,
    ConsentRecord,
    SensitiveCategory,
)
from consent.models.enterprise import ADMIN_CATEGORY
from core.models import MemberDataKey, Membership
from health.models import HealthReport
from ledger.services import Action, ledger_record
from retention.models import ErasurePlan
from tenants.categories import Category
from tenants.context import current_schema, enterprise_schema
from tenants.locks import exclusive_run
from tenants.models import Enterprise


def sensitive_data_counts(*, enterprise: Enterprise, membership_id: int, category: str, purpose: str) -> dict[str, int]:
    """How many items of each kind `sensitive_data_erase` would remove now (one query per kind)."""
    with enterprise_schema(enterprise):
        if category == SensitiveCategory.BIOMETRICS:
            counts = {
                "templates": BiometricTemplate.objects.filter(membership_id=membership_id, purpose=purpose).count()
            }
            if purpose == ConsentPurpose.ATTENDANCE:
                counts["clock_photos"] = ClockEventPhoto.objects.filter(event__membership_id=membership_id).count()
            return counts
        if category == SensitiveCategory.HEALTH:
            return {"health_reports": HealthReport.objects.filter(membership_id=membership_id).count()}
        if category == SensitiveCategory.PRECISE_LOCATION:
            return {
                "raw_locations": ClockEventLocation.objects.filter(event__membership_id=membership_id).count(),
                "location_cells": ClockEvent.objects.filter(membership_id=membership_id)
                .exclude(location_cell="")
                .count(),
            }
        if category == SensitiveCategory.ID_DOCUMENTS:
            return {
                "id_numbers": Membership.objects.filter(pk=membership_id, id_number_encrypted__isnull=False).count()
            }
        return {}


def sensitive_processing_stop(
    *,
    enterprise: Enterprise,
    membership_id: int,
    category: str,
    purpose: str,
    actor: Membership | None = None,
    reason: str = "",
) -> dict[str, int]:
    """What must stop before a withdrawal (or the end of a legal basis) answers, when no basis for
    (`category`, `purpose`) is left (CON-6), in the caller's transaction. Collection needs nothing
    here: every collecting service asks `require_basis` on each call, which refuses from the moment
    the record closes (health reports, raw coordinates, clock-in photos, enrolments, ID numbers,
    contact matching). What runs without asking is the devices' use of templates they already
    hold: biometrics templates of that purpose are revoked now — ciphertext erased, a delete row in
    the feed of that purpose's devices — so the device's next poll drops them, worker or no
    worker (the feed also never ships a template without a basis, selectors.biometrics). The
    scheduled erasure (`sensitive_data_erase`) deletes the rest later. Returns counts per kind."""
    if category != SensitiveCategory.BIOMETRICS:
        return {}

    return {
        "templates_revoked": templates_revoke_for_member(
            enterprise=enterprise, actor=actor, membership_id=membership_id, purpose=purpose, reason=reason
        )
    }


def sensitive_data_erase(
    *,
    enterprise: Enterprise,
    membership_id: int,
    category: str,
    purpose: str,
    actor: Membership | None = None,
    reason: str = "",
) -> dict[str, int]:
    """Delete the member's data of (`category`, `purpose`) in this enterprise, in one
    transaction, and record it in the ledger (action delete, the system as actor unless given).
    Idempotent: a second run deletes nothing and writes no entry."""
    counts: dict[str, int] = {}
    with enterprise_schema(enterprise), transaction.atomic():
        if category == SensitiveCategory.BIOMETRICS:
            member = Membership.objects.get(pk=membership_id)
            counts["templates"] = templates_delete_for_member(
                enterprise=enterprise, actor=actor, membership=member, purpose=purpose, reason=reason
            )
            if purpose != ConsentPurpose.ATTENDANCE:
                return counts  # templates_delete_for_member writes its own ledger entry
            # the clock-in photos (faces, taken for attendance) go with the attendance consent
            counts = {
                "clock_photos": ClockEventPhoto.objects.filter(
                    event__in=ClockEvent.objects.filter(membership_id=membership_id).values("pk")
                ).delete()[0],
                **counts,
            }
            if counts["clock_photos"]:
                ledger_record(
                    enterprise=enterprise,
                    actor=actor,
                    action=Action.DELETE,
                    category=Category.ATTENDANCE,
                    subject=membership_id,
                    purpose=reason,
                    details={
                        "sensitive_category": category,
                        "consent_purpose": purpose,
                        "clock_photos": counts["clock_photos"],
                    },
                )
            return counts
        if category == SensitiveCategory.HEALTH:
            counts["health_reports"] = HealthReport.objects.filter(membership_id=membership_id).delete()[0]
        elif category == SensitiveCategory.PRECISE_LOCATION:
            counts["raw_locations"] = ClockEventLocation.objects.filter(
                event__in=ClockEvent.objects.filter(membership_id=membership_id).values("pk")
            ).delete()[0]
            counts["location_cells"] = (
                ClockEvent.objects.filter(membership_id=membership_id)
                .exclude(location_cell="")
                .update(location_cell="")
            )
        elif category == SensitiveCategory.ID_DOCUMENTS:
            counts["id_numbers"] = Membership.objects.filter(
                pk=membership_id, id_number_encrypted__isnull=False
            ).update(id_number_encrypted=None)
        if any(counts.values()):
            ledger_record(
                enterprise=enterprise,
                actor=actor,
                action=Action.DELETE,
                category=ADMIN_CATEGORY[SensitiveCategory(category)],
                subject=membership_id,
                purpose=reason,
                details={"sensitive_category": category, "consent_purpose": purpose, **counts},
            )
    return counts


# --- anonymising directory cards (DSR-5, RET "departed profiles") ------------------------------

# Every identifying column of the card is emptied, the name becomes a random pseudonym (derived
# from nothing), the account link and department memberships go. `{condition}` is a fixed SQL
# fragment chosen by the caller (never input); `{member}`/`{member_departments}` are table names.
_CARDS_ANONYMISE = """
WITH due AS (SELECT id, photo FROM {member}
             WHERE status = 'left' AND anonymised_at IS NULL AND {condition}
             ORDER BY id LIMIT %(limit)s FOR UPDATE),
     unfiled AS (DELETE FROM {member_departments} WHERE membership_id IN (SELECT id FROM due))
UPDATE {member} AS m SET
    display_name = 'former-' || substr(md5(%(salt)s || m.id::text), 1, 12),
    photo = '', gender = '', mobile = '', id_number_encrypted = NULL, company = '', invoice_title = '',
    work_signature = '', landline = '', email = '', position_id = NULL, rank_id = NULL, title = '', fax = '',
    seat = '', secretary_id = NULL, enterprise_mailbox = '', external_fields = '[]'::jsonb, account_id = NULL,
    anonymised_at = now()
FROM due WHERE m.id = due.id
RETURNING m.id, due.photo
"""
CARDS_LEFT_BEFORE = "left_at < %(cutoff)s"
CARD_WITH_ID = "id = %(membership_id)s"


def _delete_file(name: str) -> Callable[[], None]:
    return lambda: default_storage.delete(name)


def cards_anonymise(*, condition: str, params: dict[str, Any], limit: int) -> list[int]:
    """Anonymise at most `limit` departed, not yet anonymised cards matching `condition` (one of
    CARDS_LEFT_BEFORE, CARD_WITH_ID), in the caller's transaction and schema, with one statement.
    Photo files are deleted once the transaction commits. Returns the anonymised ids."""
    if condition not in (CARDS_LEFT_BEFORE, CARD_WITH_ID):
        raise ValueError("unknown card condition")
    quote = connection.ops.quote_name
    sql = _CARDS_ANONYMISE.format(
        member=quote(Membership._meta.db_table),
        condition=condition,
        member_departments=quote(Membership.departments.through._meta.db_table),
    )
    with connection.cursor() as cursor:
        # the name's randomness comes from a salt drawn here: Citus refuses volatile functions
        # (random(), clock_timestamp()) in an UPDATE of a distributed table (issue 18 §5)
        cursor.execute(sql, {**params, "limit": limit, "salt": secrets.token_hex(16)})
        rows = cursor.fetchall()
    for _pk, photo in rows:
        if photo:
            transaction.on_commit(_delete_file(photo))
    return [pk for pk, _photo in rows]


def member_profile_anonymise(
    *,
    enterprise: Enterprise,
    membership_id: int,
    actor: Membership | None = None,
    reason: str = "",
    destroy_key: bool = True,
) -> bool:
    """Anonymise one departed member's card now (one ledger entry), then — unless `destroy_key`
    is False (a plan destroys it after its last step) — destroy the member's data key
    (`departed_data_keys_destroy`, RET-6). Idempotent; a member who is not (or no longer)
    departed is left alone. Returns whether the card was anonymised."""
    with enterprise_schema(enterprise), transaction.atomic():
        done = cards_anonymise(condition=CARD_WITH_ID, params={"membership_id": membership_id}, limit=1)
        if done:
            ledger_record(
                enterprise=enterprise,
                actor=actor,
                action=Action.DELETE,
                category=Category.DIRECTORY,
                subject=membership_id,
                purpose=reason,
                details={"anonymised": "profile"},
            )
        if destroy_key:
            departed_data_keys_destroy(enterprise=enterprise, membership_ids=[membership_id], reason=reason)
    return bool(done)


# --- crypto-shredding (RET-6) ------------------------------------------------------------------

# The data keys of members whose card is anonymised — never of an active or invited member, nor
# of one who left but is not anonymised yet (they may come back within the grace period, and
# their card still carries their data). `{ids}` is empty or a fixed "AND m.id = ANY(…)" fragment.
_DATA_KEYS_DESTROY = """
DELETE FROM {key} WHERE membership_id IN (
    SELECT k.membership_id FROM {key} AS k JOIN {member} AS m ON m.id = k.membership_id
    WHERE m.status = 'left' AND m.anonymised_at IS NOT NULL {ids}
    ORDER BY k.membership_id LIMIT %(limit)s FOR UPDATE OF k)
RETURNING membership_id
"""
DATA_KEY_DESTROYED = {"data_key": "destroyed"}


def departed_data_keys_destroy(
    *, enterprise: Enterprise, membership_ids: list[int] | None = None, limit: int = 5000, reason: str = ""
) -> list[int]:
    """Crypto-shredding as the final step of a member's erasure (RET-6): delete the data key
    (MemberDataKey) of each member in `membership_ids` — or, with None, of any member — whose
    card is anonymised (status left, `anonymised_at` set), at most `limit`, with one statement,
    in the caller's transaction (so after the rows themselves are gone or anonymised). Every
    ciphertext of those members — ID number, raw coordinates, health details, biometric
    templates, clock-in photos, in the database and in every later copy of it — is unreadable
    from then on, although the enterprise key is intact.

    An active (or invited, or departed but not yet anonymised) member's key is never destroyed:
    they still produce or may come back to their encrypted data; a member is shredded once their
    card is anonymised, which only happens after they left. Each destroyed key gets one ledger
    entry (action delete, the system as actor, details {"data_key": "destroyed"} — no personal
    value). Idempotent: a key already destroyed is not counted or recorded again. Returns the
    membership ids whose key was destroyed."""
    if limit < 1 or (membership_ids is not None and not membership_ids):
        return []
    quote = connection.ops.quote_name
    sql = _DATA_KEYS_DESTROY.format(
        key=quote(MemberDataKey._meta.db_table),
        member=quote(Membership._meta.db_table),
        ids="" if membership_ids is None else "AND m.id = ANY(%(ids)s)",
    )
    params: dict[str, Any] = {"limit": limit, "ids": [int(pk) for pk in membership_ids or []]}
    with enterprise_schema(enterprise), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            destroyed = sorted(pk for (pk,) in cursor.fetchall())
        for membership_id in destroyed:
            ledger_record(
                enterprise=enterprise,
                actor=None,
                action=Action.DELETE,
                category=Category.DIRECTORY,
                subject=membership_id,
                purpose=reason,
                details=dict(DATA_KEY_DESTROYED),
            )
    return destroyed


# --- scheduled erasures (DSR-5, DSR-6) -----------------------------------------------------------

# What a plan may contain: (category, action) pairs, executed in the plan's order.
ERASURE_STEPS: dict[tuple[str, str], str] = {
    ("biometric_templates", "delete"): "every biometric template (devices learn it from the feed)",
    ("health_reports", "delete"): "every health report",
    ("raw_coordinates", "delete"): "raw clock-in coordinates and location cells",
    ("id_documents", "delete"): "the ID number on the directory card",
    ("profile", "anonymise"): "the directory card (only once the member has left)",
}
# How the sensitive-data steps map onto sensitive_data_erase (category, purpose).
_SENSITIVE_STEP = {
    "health_reports": (SensitiveCategory.HEALTH, "health_monitoring"),
    "raw_coordinates": (SensitiveCategory.PRECISE_LOCATION, "attendance"),
    "id_documents": (SensitiveCategory.ID_DOCUMENTS, "hr_records"),
}
PROFILE_STEP = {"category": "profile", "action": "anonymise"}
ERASURE_LOCK_CLASS = 0x4550  # "EP": the key space of the per-enterprise plan runner's lock


def _clean_plan(plan: Any) -> dict[str, Any]:
    steps = plan.get("steps") if isinstance(plan, dict) else None
    if not isinstance(steps, list) or not steps or len(steps) > len(ERASURE_STEPS):
        raise ValidationError(
            {"plan": _("A plan is a list of steps, each a known category and action.")}, code="invalid"
        )
    cleaned = []
    for step in steps:
        key = (step.get("category"), step.get("action")) if isinstance(step, dict) else None
        if key not in ERASURE_STEPS or {"category": key[0], "action": key[1]} in cleaned:  # type: ignore[index]
            raise ValidationError(
                {"plan": _("A plan is a list of steps, each a known category and action.")}, code="invalid"
            )
        cleaned.append({"category": key[0], "action": key[1]})  # type: ignore[index]
    return {"steps": cleaned}


def erasure_plan_counts(
    *, enterprise: Enterprise, membership_id: int, plan: dict[str, Any]
) -> dict[str, dict[str, int]]:
    """What `plan` would remove for the member if it ran now, per step ("category:action"), for
    the page a member confirms before leaving or deleting their account (DSR-5, DSR-6)."""
    cleaned = _clean_plan(plan)
    counts: dict[str, dict[str, int]] = {}
    with enterprise_schema(enterprise):
        for step in cleaned["steps"]:
            category, action = step["category"], step["action"]
            if (category, action) == ("profile", "anonymise"):
                due = Membership.objects.filter(pk=membership_id, anonymised_at__isnull=True).count()
                counts[f"{category}:{action}"] = {"profiles": due}
            elif (category, action) == ("biometric_templates", "delete"):
                counts[f"{category}:{action}"] = {
                    "templates": BiometricTemplate.objects.filter(membership_id=membership_id).count()
                }
            else:
                sensitive, purpose = _SENSITIVE_STEP[category]
                counts[f"{category}:{action}"] = sensitive_data_counts(
                    enterprise=enterprise, membership_id=membership_id, category=sensitive, purpose=purpose
                )
    return counts


def schedule_member_erasure(
    *,
    enterprise: Enterprise,
    member: Membership,
    plan: dict[str, Any],
    not_before: datetime,
    actor: Membership | None = None,
    reason: str = "",
) -> ErasurePlan:
    """Schedule `plan` for `member` to run at or after `not_before` (RET-2's runner executes due
    plans). Refused with field errors for an unknown step, a naive time or a member this
    enterprise does not have."""
    errors: dict[str, str] = {}
    try:
        cleaned = _clean_plan(plan)
    except ValidationError as error:
        errors.update({k: v[0] for k, v in error.message_dict.items()})
    if not isinstance(not_before, datetime) or timezone.is_naive(not_before):
        errors["not_before"] = _("Give a time with its time zone.")
    if errors:
        raise ValidationError(errors)
    with enterprise_schema(enterprise), transaction.atomic():
        if not Membership.objects.filter(pk=member.pk).exists():
            raise ValidationError({"member": _("No such member.")}, code="invalid")
        return ErasurePlan.objects.create(
            membership_id=member.pk, plan=cleaned, not_before=not_before, created_by=actor, reason=reason[:200]
        )


def erasure_plan_cancel(*, enterprise: Enterprise, plan: ErasurePlan) -> ErasurePlan:
    """Cancel a scheduled plan (e.g. an account deletion cancelled during its cooling-off): it
    will never run. Idempotent for a cancelled plan; refused once it is running or done."""
    with enterprise_schema(enterprise), transaction.atomic():
        cancelled = ErasurePlan.objects.filter(pk=plan.pk, status=ErasurePlan.Status.SCHEDULED).update(
            status=ErasurePlan.Status.CANCELLED, cancelled_at=timezone.now()
        )
        current = ErasurePlan.objects.get(pk=plan.pk)
    if not cancelled and current.status != ErasurePlan.Status.CANCELLED:
        raise ValidationError({"plan": _("This erasure has already started and cannot be cancelled.")}, code="started")
    return current


def _execute_step(*, enterprise: Enterprise, plan: ErasurePlan, category: str, action: str) -> dict[str, int]:
    """One step; every step is idempotent, so a plan re-run after a crash repeats them safely."""
    reason = plan.reason or "scheduled erasure"
    if (category, action) == ("profile", "anonymise"):  # the data key goes after the last step
        done = member_profile_anonymise(
            enterprise=enterprise, membership_id=plan.membership_id, reason=reason, destroy_key=False
        )
        return {"profiles": int(done)}
    if (category, action) == ("biometric_templates", "delete"):
        with enterprise_schema(enterprise):
            member = Membership.objects.get(pk=plan.membership_id)
        return {
            "templates": templates_delete_for_member(
                enterprise=enterprise, actor=None, membership=member, reason=reason
            )
        }
    sensitive, purpose = _SENSITIVE_STEP[category]
    return sensitive_data_erase(
        enterprise=enterprise, membership_id=plan.membership_id, category=sensitive, purpose=purpose, reason=reason
    )


_CLAIM_DUE = """
UPDATE {plan} SET status = 'running', started_at = now(), attempts = attempts + 1
WHERE id = (SELECT id FROM {plan} WHERE status = 'scheduled' AND not_before <= %(now)s
            ORDER BY not_before, id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id
"""


def erasure_plans_run_due(
    *,
    enterprise: Enterprise,
    now: datetime | None = None,
    before_step: Callable[[ErasurePlan, dict[str, str]], None] | None = None,
) -> list[int]:
    """Run every plan of `enterprise` that is due (and any left running by a crashed worker), one
    at a time, under a per-enterprise transaction-level advisory lock held for the run
    (tenants.locks.exclusive_run, issue 18 §4; a second runner returns at once). A plan is
    claimed by a conditional UPDATE (scheduled → running), so a plan cancelled before that moment
    never runs. A plan with the `profile/anonymise` step ends by destroying the member's data key
    (crypto-shredding, RET-6) in the transaction that marks it done — only if the card is now
    anonymised; the result then holds `data_key:destroy`. Returns the ids of the plans
    completed. `before_step` is a test hook."""
    now = now or timezone.now()
    completed: list[int] = []
    with enterprise_schema(enterprise):
        schema = current_schema()
        with exclusive_run(ERASURE_LOCK_CLASS, schema) as held:
            if not held:
                return completed
            # holding the lock, a plan still running was left by a worker that died: finish it
            pending = list(ErasurePlan.objects.filter(status=ErasurePlan.Status.RUNNING).values_list("pk", flat=True))
            while True:
                if pending:
                    plan_id = pending.pop(0)
                    ErasurePlan.objects.filter(pk=plan_id).update(attempts=F("attempts") + 1)
                else:
                    with connection.cursor() as cursor:
                        cursor.execute(
                            _CLAIM_DUE.format(plan=connection.ops.quote_name(ErasurePlan._meta.db_table)), {"now": now}
                        )
                        claimed = cursor.fetchone()
                    if claimed is None:
                        return completed
                    plan_id = claimed[0]
                plan = ErasurePlan.objects.get(pk=plan_id)
                result: dict[str, Any] = {}
                for step in plan.plan["steps"]:
                    if before_step is not None:
                        before_step(plan, step)
                    counts = _execute_step(
                        enterprise=enterprise, plan=plan, category=step["category"], action=step["action"]
                    )
                    result[f"{step['category']}:{step['action']}"] = counts
                with transaction.atomic():  # RET-6: the key goes last, once the rows are gone, with the plan
                    if PROFILE_STEP in plan.plan["steps"] and departed_data_keys_destroy(
                        enterprise=enterprise,
                        membership_ids=[plan.membership_id],
                        reason=plan.reason or "scheduled erasure",
                    ):
                        result["data_key:destroy"] = {"data_keys": 1}
                    ErasurePlan.objects.filter(pk=plan.pk).update(
                        status=ErasurePlan.Status.DONE, finished_at=timezone.now(), result=result
                    )
                completed.append(plan.pk)


def withdrawn_data_erase(*, enterprise: Enterprise, record_id: int) -> dict[str, int] | None:
    """Run the deletion scheduled by a withdrawal (the Celery task's body). Idempotent: only a
    record whose erasure is still "scheduled" is processed; if a legal basis now covers the data
    nothing is deleted. Returns the counts, or None when there was nothing to do."""
    with enterprise_schema(enterprise), transaction.atomic():
        record = (
            ConsentRecord.objects.select_for_update()
            .filter(pk=record_id, erasure=ConsentRecord.Erasure.SCHEDULED)
            .first()
        )
        if record is None:
            return None
        legal = (
            ConsentRecord.objects.filter(
                membership_id=record.membership_id,
                category=record.category,
                purpose=record.purpose,
                withdrawn_at__isnull=True,
            )
            .exclude(basis=ConsentRecord.Basis.CONSENT)
            .exists()
        )
        counts: dict[str, int] = {}
        if legal:
            record.erasure = ConsentRecord.Erasure.NOT_NEEDED
        else:
            counts = sensitive_data_erase(
                enterprise=enterprise,
                membership_id=record.membership_id,
                category=record.category,
                purpose=record.purpose,
                reason=withdrawal_reason(record),
            )
            record.erasure = ConsentRecord.Erasure.DONE
        record.erased_at = timezone.now()
        record.erased_counts = counts
        record.save(update_fields=["erasure", "erased_at", "erased_counts"])
    return counts


# --- leaving an enterprise (DSR-5; account deletion leaves every enterprise the same way, DSR-6) ---

# Deleted at once when a member leaves.
DEPARTURE_NOW_PLAN = {
    "steps": [
        {"category": "biometric_templates", "action": "delete"},
        {"category": "health_reports", "action": "delete"},
    ]
}
# Run by the erasure engine once the grace period is over (the first two find nothing left
# unless something slipped in between; every step is idempotent).
DEPARTURE_PLAN = {
    "steps": [
        {"category": "biometric_templates", "action": "delete"},
        {"category": "health_reports", "action": "delete"},
        {"category": "raw_coordinates", "action": "delete"},
        {"category": "id_documents", "action": "delete"},
        {"category": "profile", "action": "anonymise"},
    ]
}


def departure_erase_now(*, enterprise: Enterprise, member: Membership, reason: str) -> tuple[int, int]:
    """What leaving deletes at once, in the caller's transaction, the member as the actor of the
    ledger entries: their biometric templates and health reports. Returns (templates, reports)."""
    templates = templates_delete_for_member(enterprise=enterprise, actor=member, membership=member, reason=reason)
    health = sensitive_data_erase(
        enterprise=enterprise,
        membership_id=member.pk,
        category=SensitiveCategory.HEALTH,
        purpose="health_monitoring",
        actor=member,
        reason=reason,
    )["health_reports"]
    return templates, health


def departure_plan_schedule(
    *, enterprise: Enterprise, member: Membership, not_before: datetime, reason: str
) -> ErasurePlan:
    """The rest of a departed member's erasure (DEPARTURE_PLAN), run by the erasure engine after
    `not_before` (the departed-profiles grace period)."""
    return schedule_member_erasure(
        enterprise=enterprise, member=member, plan=DEPARTURE_PLAN, not_before=not_before, actor=member, reason=reason
    )
