"""Importing members (issue 16 §5; ENT-2 cards, ENT-3 invitations, ENT-8 scopes, ENT-10 ledger).

1. `member_import_preview`: the dry run. The file is read and every row validated
   (directory.imports.selectors.import_plan); nothing is written to the database. The rows read
   from the file are kept for an hour in the cache under a random token (the cache's keys carry
   the enterprise's schema, and the token is bound to the acting admin), so that confirming
   needs no second upload.
2. `member_import_start`: the admin confirms. The file's rows as read (JSON: row number and
   cells; the workbook is not read twice) move into a `MemberImport` row of the enterprise's own
   schema, with the file's name and SHA-256, and the Celery task `directory.imports.tasks.member_import_run` is
   sent after the commit.
3. `member_import_run` (the worker): the rows are validated again (the directory may have changed
   since the preview) with the admin's scope as it is now, then written in batches of BATCH_SIZE
   rows with bulk operations, each batch atomic; a batch that fails is retried row by row, each
   row atomic, so a row that cannot be saved leaves nothing half-written and is reported as bad.
   A new member gets what the add-member form gives them (directory.services.member_card_create):
   an invited card, a pending mobile-number invitation with its public index row and, unless
   the admin unticked it, the invitation SMS. A matched card gets the values its row gives
   (an empty cell keeps the card's value; departments replace those within the admin's scope).
   One ledger entry (action `import`) records the counts when anything was written; the file's
   content is emptied at the end.

Re-importing the same file finds every row unchanged and writes nothing."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from consent.inbox.delivery import deliveries_schedule
from consent.models import NotificationDelivery
from core.models import Membership
from core.scopes import AdminScope, admin_scope_for
from directory.imports.files import FileRefused, ParsedFile, file_read
from directory.imports.models import MemberImport
from directory.imports.selectors import BAD, NEW, UNCHANGED, UPDATE, ImportPlan, RowPlan, import_plan
from invitations.models import Invitation
from ledger.services import Action, ledger_record
from tenants.categories import Category
from tenants.context import enterprise_schema
from tenants.locks import exclusive_run
from tenants.models import Enterprise, InvitationIndex
from tenants.queue import task_send_on_commit

BATCH_SIZE = 500
PREVIEW_SECONDS = 60 * 60
INVITATION_DAYS = 7  # as an invitation from the add-member form
TASK_NAME = "directory.imports.tasks.member_import_run"
MAX_STORED_ERRORS = 20_000


def _cache_key(actor: Membership, token: str) -> str:
    # the default cache's KEY_FUNCTION (django_tenants.cache.make_key) adds the schema
    return f"member-import:{actor.pk}:{token}"


def member_import_preview(
    *, enterprise: Enterprise, actor: Membership, scope: AdminScope, name: str, content: bytes
) -> tuple[ParsedFile, ImportPlan, str]:
    """The dry run: (the file's rows, the plan, a token to confirm it with). Writes nothing to
    the database. ValidationError on `file` for a file that cannot be imported at all."""
    try:
        parsed = file_read(name=name, content=content)
    except FileRefused as refused:
        raise ValidationError({"file": refused.message}, code="invalid") from refused
    with enterprise_schema(enterprise):
        plan = import_plan(scope=scope, rows=parsed.rows)
        token = secrets.token_urlsafe(24)
        cache.set(
            _cache_key(actor, token),
            {"name": name[:200], "sha256": hashlib.sha256(content).hexdigest(), "rows": rows_encode(parsed)},
            PREVIEW_SECONDS,
        )
    return parsed, plan, token


def member_import_start(
    *, enterprise: Enterprise, actor: Membership, token: str, send_invitations: bool = True
) -> MemberImport:
    """Confirm a previewed file: store it and send the job. ValidationError when the preview has
    expired (or the token is not this admin's)."""
    with enterprise_schema(enterprise):
        stashed = cache.get(_cache_key(actor, token)) if token else None
        if not stashed:
            raise ValidationError(
                {"token": _("This preview has expired or was already imported. Upload the file again.")},
                code="expired",
            )
        with transaction.atomic():
            job = MemberImport.objects.create(
                created_by=actor,
                file_name=stashed["name"],
                file_sha256=stashed["sha256"],
                content=stashed["rows"],
                rows_total=len(rows_decode(stashed["rows"])),
                language=translation.get_language() or "zh-hans",
                send_invitations=send_invitations,
            )
            task_send_on_commit(TASK_NAME, kwargs={"import_id": job.pk}, schema=enterprise.schema_name)
        cache.delete(_cache_key(actor, token))
    return job


def rows_encode(parsed: ParsedFile) -> bytes:
    """The file's rows as read (row number, cells by field), as stored for the job: the job
    checks them again but need not read the workbook again (a third of its time)."""
    return json.dumps(parsed.rows, ensure_ascii=False, separators=(",", ":")).encode()


def rows_decode(content: bytes) -> list[tuple[int, dict[str, str]]]:
    return [(int(number), {str(k): str(v) for k, v in cells.items()}) for number, cells in json.loads(content)]


def member_import_for(*, scope: AdminScope, pk: Any) -> MemberImport | None:
    """An import the acting admin may see: their own, or any when they administer the whole
    directory. None otherwise (the caller answers 404, as for a missing one)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    imports = MemberImport.objects.filter(pk=pk)
    if Category.DIRECTORY not in scope.whole:
        imports = imports.filter(created_by=scope.membership)
    return imports.defer("content").first()


def member_imports_recent(*, scope: AdminScope, limit: int = 10) -> list[MemberImport]:
    imports = MemberImport.objects.defer("content")
    if Category.DIRECTORY not in scope.whole:
        imports = imports.filter(created_by=scope.membership)
    return list(imports[:limit])


# --- the worker ---------------------------------------------------------------------------------


def _fail(job: MemberImport, message: str) -> MemberImport:
    MemberImport.objects.filter(pk=job.pk).update(
        state=MemberImport.State.FAILED,
        finished_at=timezone.now(),
        content=None,
        errors=[{"row": 0, "errors": {"": [message]}}],
    )
    job.refresh_from_db()
    return job


def member_import_run(*, enterprise: Enterprise, import_id: int) -> MemberImport | None:
    """Run a confirmed import (the Celery task). Safe to run twice: a finished import is left
    as it is, two workers never run one import at once (a transaction-level advisory lock held
    for the run: tenants.locks.exclusive_run, issue 18 §4), and rows already
    written by an interrupted run are found unchanged. None when the import does not exist."""
    with enterprise_schema(enterprise):
        lock = f"member-import:{enterprise.schema_name}:{import_id}"
        with exclusive_run(lock) as held:
            if not held:
                return MemberImport.objects.filter(pk=import_id).defer("content").first()
            job = MemberImport.objects.filter(pk=import_id).select_related("created_by").first()
            if job is None or job.finished:
                return job
            with translation.override(job.language):
                try:
                    return _run(enterprise, job)
                except Exception:
                    # the page stops polling and says so; the batches already written stay
                    # (each was atomic) and a new import of the file finds them unchanged
                    _fail(job, _("The import stopped because of an error. Import the file again."))
                    raise


def _run(enterprise: Enterprise, job: MemberImport) -> MemberImport:
    now = timezone.now()
    MemberImport.objects.filter(pk=job.pk).update(state=MemberImport.State.RUNNING, started_at=now, progress=1)
    actor = job.created_by
    scope = admin_scope_for(actor) if actor is not None and actor.is_active else None
    if scope is None or not scope.has_category(Category.DIRECTORY):
        return _fail(job, _("The administrator who started this import no longer administers the directory."))
    try:
        rows = rows_decode(bytes(job.content or b"[]"))
    except (ValueError, TypeError, AttributeError):
        return _fail(job, _("The stored file could not be read. Upload it again."))
    plan = import_plan(scope=scope, rows=rows)
    counts = {NEW: 0, UPDATE: 0, UNCHANGED: plan.count(UNCHANGED), BAD: 0}
    bad: list[RowPlan] = plan.bad_rows
    to_write = [row for row in plan.rows if row.kind in (NEW, UPDATE)]
    total = max(1, len(to_write))
    done = 0
    for start in range(0, len(to_write), BATCH_SIZE):
        batch = to_write[start : start + BATCH_SIZE]
        try:
            with transaction.atomic():
                refused = _write(enterprise, job, actor, plan, batch)
        except DatabaseError:
            refused = []
            for row in batch:  # one at a time: a row that cannot be saved leaves nothing behind
                try:
                    with transaction.atomic():
                        refused.extend(_write(enterprise, job, actor, plan, [row]))
                except DatabaseError:
                    row.fail("", _("This row could not be saved. Try again or add the member by hand."))
                    refused.append(row)
        bad.extend(refused)
        for row in batch:
            if row not in refused:
                counts[row.kind] += 1
        done += len(batch)
        MemberImport.objects.filter(pk=job.pk).update(
            progress=max(1, min(99, done * 100 // total)),
            created_count=counts[NEW],
            updated_count=counts[UPDATE],
            unchanged_count=counts[UNCHANGED],
            bad_count=len(bad),
        )
    bad.sort(key=lambda row: row.number)
    with transaction.atomic():
        MemberImport.objects.filter(pk=job.pk).update(
            state=MemberImport.State.DONE,
            progress=100,
            finished_at=timezone.now(),
            rows_total=len(plan.rows),
            created_count=counts[NEW],
            updated_count=counts[UPDATE],
            unchanged_count=counts[UNCHANGED],
            bad_count=len(bad),
            errors=[{"row": row.number, "errors": row.errors} for row in bad[:MAX_STORED_ERRORS]],
            content=None,
        )
        if counts[NEW] or counts[UPDATE]:
            ledger_record(
                enterprise=enterprise,
                actor=actor,
                action=Action.IMPORT,
                category=Category.DIRECTORY,
                obj=job,
                details={
                    "rows": len(plan.rows),
                    "created": counts[NEW],
                    "updated": counts[UPDATE],
                    "unchanged": counts[UNCHANGED],
                    "bad": len(bad),
                    "file_sha256": job.file_sha256,
                },
            )
    job.refresh_from_db()
    return job


def _write(
    enterprise: Enterprise, job: MemberImport, actor: Membership | None, plan: ImportPlan, rows: list[RowPlan]
) -> list[RowPlan]:
    """Write `rows` (inside the caller's transaction); returns the rows refused because the
    directory changed meanwhile (another admin invited the same number)."""
    new = [row for row in rows if row.kind == NEW]
    updates = [row for row in rows if row.kind == UPDATE]
    refused: list[RowPlan] = []
    if new:
        # the same lock as invitations.services.invitation_create_by_mobile, so that the form and
        # the import never invite one number twice; then look again under it
        keys = sorted(f"invitation:{enterprise.schema_name}:{row.mobile}" for row in new)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest(%s::text[]) AS k", [keys])
        mobiles = [row.mobile for row in new]
        taken = set(
            Membership.objects.filter(
                status__in=[Membership.Status.ACTIVE, Membership.Status.INVITED], mobile__in=mobiles
            ).values_list("mobile", flat=True)
        ) | set(
            Invitation.objects.filter(status=Invitation.Status.PENDING, mobile__in=mobiles).values_list(
                "mobile", flat=True
            )
        )
        for row in new:
            if row.mobile in taken:
                row.fail("mobile", _("A member with this mobile number is already in the directory."))
                refused.append(row)
        new = [row for row in new if row.mobile not in taken]
    if new:
        _create(enterprise, job, actor, new)
    if updates:
        _update(plan, updates)
    return refused


def _create(enterprise: Enterprise, job: MemberImport, actor: Membership | None, rows: list[RowPlan]) -> None:
    now = timezone.now()
    cards = Membership.objects.bulk_create(
        [
            Membership(
                status=Membership.Status.INVITED,
                role=Membership.Role.MEMBER,
                mobile=row.mobile,
                created_at=now,
                **row.values,
            )
            for row in rows
        ]
    )
    through = Membership.departments.through
    through.objects.bulk_create(
        [
            through(membership_id=card.pk, department_id=department)
            for card, row in zip(cards, rows, strict=True)
            for department in row.departments or []
        ]
    )
    expires = now + timedelta(days=INVITATION_DAYS)
    invitations = Invitation.objects.bulk_create(
        [
            Invitation(
                kind=Invitation.Kind.MOBILE,
                membership=card,
                mobile=card.mobile,
                role=Membership.Role.MEMBER,
                created_by=actor,
                expires_at=expires,
            )
            for card in cards
        ]
    )
    InvitationIndex.objects.bulk_create(
        [
            InvitationIndex(
                enterprise=enterprise, invitation_id=invitation.pk, mobile=invitation.mobile, expires_at=expires
            )
            for invitation in invitations
        ]
    )
    if job.send_invitations:
        text = _(
            "%(enterprise)s invites you to join it on the personal-data portal. Sign in or register "
            "with this mobile number to accept or decline."
        ) % {"enterprise": enterprise.name}
        deliveries = NotificationDelivery.objects.bulk_create(
            [
                NotificationDelivery(
                    kind="invitation", channel=NotificationDelivery.Channel.SMS, address=card.mobile, text=text
                )
                for card in cards
            ]
        )
        deliveries_schedule(deliveries)  # SEC-5: sent by Celery after the commit, with retries


def _update(plan: ImportPlan, rows: list[RowPlan]) -> None:
    by_fields: dict[tuple[str, ...], list[Membership]] = {}
    for row in rows:
        if row.values:
            assert row.member_id is not None
            card = Membership(pk=row.member_id, **row.values)
            by_fields.setdefault(tuple(sorted(row.values)), []).append(card)
    for fields, cards in by_fields.items():
        Membership.objects.bulk_update(cards, fields)
    moved = [row for row in rows if row.departments is not None]
    if moved:
        through = Membership.departments.through
        stale = through.objects.filter(membership_id__in=[row.member_id for row in moved])
        if plan.in_scope_departments is not None:  # departments outside the admin's scope stay
            stale = stale.filter(department_id__in=plan.in_scope_departments)
        stale.delete()
        through.objects.bulk_create(
            [
                through(membership_id=row.member_id, department_id=department)
                for row in moved
                for department in row.departments or []
            ],
            ignore_conflicts=True,
        )
