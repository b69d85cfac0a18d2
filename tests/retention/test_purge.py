"""The retention purge (RET-2..RET-5): per category, crash safety, concurrency, receipts, ledger."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.utils import ProgrammingError
from django.utils import timezone

from biometrics.models import BiometricTemplate, TemplateChange
from core.models import Department, Membership
from invitations.models import Invitation
from ledger.models import LedgerCheckpoint, LedgerEntry
from ledger.services import Action, ledger_record, ledger_verify
from retention.bounds import BOUNDS, PURGE_ORDER, RetentionCategory
from retention.models import PurgeRun, PurgeStep
from retention.services import purge as purge_module
from retention.services.purge import PURGE_LOCK_CLASS, PURGE_STATES, RECEIPT_PURPOSE, purge_run
from retention.services.settings import retention_setting_update
from retention.tasks import retention_purge
from tenants.context import enterprise_schema
from tenants.models import InvitationIndex, PurgeReceipt
from tenants.tasks import PublicSchemaRefused
from tests.retention.factories import existing, seed

ATTENDANCE_PARTS = ("clock_events", "attendance_days")


def _expected_rows(dated) -> dict[str, int]:
    rows = {category: len(dated.due.get(category, [])) for category in PURGE_ORDER}
    rows[RetentionCategory.ATTENDANCE] = sum(len(dated.due[part]) for part in ATTENDANCE_PARTS)
    rows[RetentionCategory.LEDGER] = 0
    return rows


def _receipts(enterprise, run_id) -> dict[str, int]:
    return dict(PurgeReceipt.objects.filter(enterprise=enterprise, run_id=run_id).values_list("category", "rows"))


def test_every_category_loses_its_due_rows_keeps_the_rest_and_other_enterprises_are_untouched(world):
    bob = world.membership(world.acme, world.bob)
    gus = world.membership(world.globex, world.gus)
    acme_rows, globex_rows = seed(world.acme, bob), seed(world.globex, gus)

    outcome = purge_run(enterprise=world.acme, batch_size=2)

    assert outcome.status == "done" and not outcome.resumed
    expected = _expected_rows(acme_rows)
    assert outcome.rows == expected
    # (exports have their own test: tests/requests/test_export.py)
    assert all(expected[c] > 0 for c in PURGE_ORDER if c not in (RetentionCategory.LEDGER, RetentionCategory.EXPORTS))
    assert existing(world.acme, acme_rows.due) == {key: [] for key in acme_rows.due}
    assert existing(world.acme, acme_rows.kept) == {key: sorted(ids) for key, ids in acme_rows.kept.items()}
    # globex: nothing touched, due or not
    assert existing(world.globex, globex_rows.due) == {key: sorted(ids) for key, ids in globex_rows.due.items()}
    assert existing(world.globex, globex_rows.kept) == {key: sorted(ids) for key, ids in globex_rows.kept.items()}
    # RET-5: one receipt per category, in public and in the enterprise's ledger, with the counts
    assert _receipts(world.acme, outcome.run_id) == expected
    receipt = PurgeReceipt.objects.get(enterprise=world.acme, run_id=outcome.run_id, category="health_reports")
    assert receipt.retention_days == BOUNDS["health_reports"].default
    with enterprise_schema(world.acme):
        step = PurgeStep.objects.get(run_id=outcome.run_id, category="health_reports")
        assert receipt.cutoff == step.cutoff and receipt.started_at <= receipt.finished_at
        entries = {e.details["retention_category"]: e for e in LedgerEntry.objects.filter(purpose=RECEIPT_PURPOSE)}
    assert set(entries) == {c for c, n in expected.items() if n}
    assert entries["health_reports"].details["rows"] == expected["health_reports"]
    assert entries["health_reports"].category == "health" and entries["health_reports"].action == Action.DELETE
    assert entries["health_reports"].actor_kind == "system"
    assert receipt.ledger_entry_id == entries["health_reports"].pk
    assert not PurgeReceipt.objects.filter(enterprise=world.globex).exists()


def test_a_second_run_deletes_nothing_and_writes_empty_receipts_without_ledger_entries(world):
    seed(world.acme, world.membership(world.acme, world.bob), per_side=1)
    purge_run(enterprise=world.acme)
    with enterprise_schema(world.acme):
        entries = LedgerEntry.objects.count()
    again = purge_run(enterprise=world.acme)
    assert again.status == "done" and set(again.rows.values()) == {0}
    assert _receipts(world.acme, again.run_id) == {c: 0 for c in PURGE_ORDER}
    with enterprise_schema(world.acme):
        assert LedgerEntry.objects.count() == entries


def test_the_enterprise_setting_moves_the_cut_off(world):
    bob = world.membership(world.acme, world.bob)
    dated = seed(world.acme, bob, per_side=1)
    retention_setting_update(enterprise=world.acme, actor=None, category="health_reports", days=90)
    outcome = purge_run(enterprise=world.acme)
    assert outcome.rows["health_reports"] == 0  # 30 + 2 days old is inside 90 days
    assert existing(world.acme, {"health_reports": dated.due["health_reports"]})["health_reports"]
    assert (
        PurgeReceipt.objects.get(run_id=outcome.run_id, enterprise=world.acme, category="health_reports").retention_days
        == 90
    )


def test_departed_cards_are_anonymised_in_every_identifying_column(world):
    with enterprise_schema(world.acme):
        secretary = Membership.objects.create(display_name="Sec", status=Membership.Status.ACTIVE)
        left = Membership.objects.create(
            account=world.oscar,
            display_name="Olivia Leaver",
            status=Membership.Status.LEFT,
            gender="female",
            mobile="+8613700000009",
            id_number_encrypted=b"cipher",
            company="Acme",
            invoice_title="Acme Ltd",
            work_signature="Best, O.",
            landline="021-5555",
            email="o@example.com",
            title="CFO",
            fax="021-6666",
            seat="A1",
            secretary=secretary,
            enterprise_mailbox="o@acme.example",
            external_fields=["mobile"],
            photo="members/photos/x.png",
            left_at=timezone.now() - timedelta(days=31),
        )
        left.departments.add(Department.objects.get(name="Sales"))
        still_grace = Membership.objects.create(
            display_name="Recent Leaver", status=Membership.Status.LEFT, left_at=timezone.now() - timedelta(days=29)
        )
    outcome = purge_run(enterprise=world.acme)
    assert outcome.rows["departed_profiles"] == 1
    with enterprise_schema(world.acme):
        card = Membership.objects.get(pk=left.pk)
        assert card.display_name.startswith("former-") and "Olivia" not in card.display_name
        assert card.anonymised_at is not None and card.departments.count() == 0
        # every column: empty, or one of the few that identify no one (a new card field that the
        # anonymisation forgets fails here)
        non_identifying = {
            "id",
            "status",
            "role",
            "display_name",
            "created_at",
            "joined_at",
            "left_at",
            "notice_acknowledged",
            "anonymised_at",
        }
        for column in Membership._meta.concrete_fields:
            value = getattr(card, column.attname)
            if column.attname not in non_identifying:
                assert value in ("", None, []) or (column.attname == "photo" and not value), column.attname
        assert Membership.objects.get(pk=still_grace.pk).display_name == "Recent Leaver"


def test_templates_still_held_by_devices_are_withdrawn_through_the_feed(world):
    with enterprise_schema(world.acme):
        leaver = Membership.objects.create(
            display_name="Leaver", status=Membership.Status.LEFT, left_at=timezone.now() - timedelta(days=40)
        )
        held = BiometricTemplate.objects.create(
            membership=leaver, modality="face", purpose="door_access", template_encrypted=b"cipher"
        )
        withdrawn = BiometricTemplate.objects.create(
            membership=leaver,
            modality="face",
            purpose="attendance",
            template_encrypted=b"",
            revoked_at=timezone.now() - timedelta(days=40),
        )
        active = BiometricTemplate.objects.create(
            membership=world.membership(world.acme, world.bob),
            modality="face",
            purpose="attendance",
            template_encrypted=b"cipher",
        )
        feed_before = TemplateChange.objects.count()
    outcome = purge_run(enterprise=world.acme)
    assert outcome.rows["biometric_templates"] == 2
    with enterprise_schema(world.acme):
        assert not BiometricTemplate.objects.filter(pk__in=[held.pk, withdrawn.pk]).exists()
        assert BiometricTemplate.objects.filter(pk=active.pk).exists()  # kept while the member consents
        feed = list(TemplateChange.objects.order_by("id")[feed_before:].values_list("template_id", "change", "purpose"))
    assert feed == [(held.pk, "delete", "door_access")]  # the withdrawn one had left devices already


def test_closed_invitations_leave_the_public_index_too(world):
    dated = seed(world.acme, world.membership(world.acme, world.bob), per_side=2)
    purge_run(enterprise=world.acme)
    index = set(InvitationIndex.objects.filter(enterprise=world.acme).values_list("invitation_id", flat=True))
    assert not index & set(dated.due["invitations"])
    assert set(dated.kept["invitations"]) <= index


# --- crash safety (RET-4) -----------------------------------------------------------------------


class Crash(RuntimeError):
    pass


def _crash_after(category: str, batches: int):
    seen = {"n": 0}

    def hook(current: str, rows: int) -> None:
        if current == category:
            seen["n"] += 1
            if seen["n"] == batches:
                raise Crash(f"killed after {batches} batches of {category}")

    return hook


def test_a_run_interrupted_between_batches_resumes_and_deletes_exactly_what_was_due(world):
    bob = world.membership(world.acme, world.bob)
    started = timezone.now()
    dated = seed(world.acme, bob, now=started, per_side=5)
    with pytest.raises(Crash):
        purge_run(enterprise=world.acme, batch_size=2, now=started, after_batch=_crash_after("attendance", 2))
    with enterprise_schema(world.acme):
        run = PurgeRun.objects.get(status=PurgeRun.Status.RUNNING)
        steps = dict(PurgeStep.objects.filter(run=run).values_list("category", "rows"))
    assert steps["raw_coordinates"] == 5 and steps["attendance"] == 4  # committed batches counted
    # receipts of the finished categories only: raw coordinates, and those with nothing due at all
    # (exports, ledger), finished together when the run began
    assert _receipts(world.acme, run.pk) == {"raw_coordinates": 5, "exports": 0, "ledger": 0}
    # rows that become due after the crash are not this run's business: the cut-off is fixed
    later = seed(world.acme, world.membership(world.acme, world.erin), now=started + timedelta(days=5), per_side=1)
    again = purge_run(enterprise=world.acme, batch_size=2)
    assert again.resumed and again.run_id == run.pk
    expected = _expected_rows(dated)
    assert again.rows == expected
    assert _receipts(world.acme, run.pk) == expected  # once per category, counts across the crash
    assert existing(world.acme, dated.due) == {key: [] for key in dated.due}
    assert existing(world.acme, dated.kept) == {key: sorted(ids) for key, ids in dated.kept.items()}
    # the later rows were not due at the run's start and stay until the next run
    left_over = existing(world.acme, later.due)
    assert any(left_over.values())
    with enterprise_schema(world.acme):
        assert PurgeRun.objects.get(pk=run.pk).attempts == 2


def test_a_crash_inside_a_batch_rolls_that_batch_back(world, monkeypatch):
    dated = seed(world.acme, world.membership(world.acme, world.bob), per_side=3)
    original = purge_module._health_reports

    def failing(enterprise, cutoff, limit):
        original(enterprise, cutoff, limit)
        raise Crash("killed inside the batch")

    monkeypatch.setitem(purge_module.PARTS, "health_reports", (failing,))
    with pytest.raises(Crash):
        purge_run(enterprise=world.acme, batch_size=2)
    assert len(existing(world.acme, {"health_reports": dated.due["health_reports"]})["health_reports"]) == 3
    monkeypatch.setitem(purge_module.PARTS, "health_reports", (original,))
    outcome = purge_run(enterprise=world.acme, batch_size=2)
    assert outcome.resumed and outcome.rows["health_reports"] == 3


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('synchronous_commit')")
        return cursor.fetchone()[0]


def test_batches_commit_asynchronously_and_the_session_setting_comes_back(world):
    """The run's batches do not wait for the disk; the setting is restored afterwards, also after
    a crash (the run's final, synchronous commit makes the run durable: docs/retention.md)."""
    seed(world.acme, world.membership(world.acme, world.bob), per_side=3)
    during: list[str] = []

    def hook(category: str, rows: int) -> None:
        during.append(_synchronous_commit())

    assert _synchronous_commit() == "on"
    purge_run(enterprise=world.acme, batch_size=2, after_batch=hook)
    assert during and set(during) == {"off"}
    assert _synchronous_commit() == "on"
    seed(world.acme, world.membership(world.acme, world.erin), per_side=3)
    with pytest.raises(Crash):
        purge_run(enterprise=world.acme, batch_size=2, after_batch=_crash_after("attendance", 1))
    assert _synchronous_commit() == "on"


# --- concurrency ----------------------------------------------------------------------------------


def test_a_purge_holding_the_enterprise_lock_makes_another_skip(world):
    """The lock is transaction-level (issue 18 §4): another run's open transaction holds it."""
    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [PURGE_LOCK_CLASS, "acme"])
        assert purge_run(enterprise=world.acme).status == "skipped"
        assert purge_run(enterprise=world.globex).status == "done"  # a lock per enterprise
        with enterprise_schema(world.acme):
            assert not PurgeRun.objects.exists()
    finally:
        other.rollback()  # the transaction's end releases the lock
        other.close()
    assert purge_run(enterprise=world.acme).status == "done"


def test_two_dispatchers_firing_at_once_produce_one_purge(world, monkeypatch):
    """Two threads with their own connections purge acme at the same moment: one runs, the other
    skips. (Only committed data is visible to them: the World's, with nothing due.)"""
    original = purge_module._start_or_resume

    def slow_start(**kwargs):
        time.sleep(0.5)  # hold the lock long enough for the other thread to try
        return original(**kwargs)

    monkeypatch.setattr(purge_module, "_start_or_resume", slow_start)
    barrier = threading.Barrier(2)
    outcomes: list = []

    def purge() -> None:
        try:
            barrier.wait()
            outcomes.append(purge_run(enterprise=world.acme))
        finally:
            connection.close()

    threads = [threading.Thread(target=purge) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert sorted(o.status for o in outcomes) == ["done", "skipped"]
    finally:
        run_ids = [o.run_id for o in outcomes if o.run_id]

        def clean() -> None:  # the threads committed their run and receipts
            try:
                PurgeReceipt.objects.filter(enterprise=world.acme, run_id__in=run_ids).delete()
                with enterprise_schema(world.acme):
                    PurgeRun.objects.filter(pk__in=run_ids).delete()
            finally:
                connection.close()

        cleaner = threading.Thread(target=clean)
        cleaner.start()
        cleaner.join()


# --- the ledger ----------------------------------------------------------------------------------


def test_a_ledger_purge_leaves_a_checkpoint_and_the_chain_still_verifies(world):
    with enterprise_schema(world.acme):
        world_entries = LedgerEntry.objects.count()
        mark = LedgerEntry.objects.order_by("-id").first().created_at + timedelta(microseconds=1)
    assert world_entries >= 3
    recent = [
        ledger_record(enterprise=world.acme, actor=None, action=Action.CHANGE, category="directory", details={"n": n})
        for n in range(3)
    ]
    # a run that starts three years after `mark`: everything the World wrote is due, the rest not
    outcome = purge_run(enterprise=world.acme, batch_size=4, now=mark + timedelta(days=BOUNDS["ledger"].default))
    assert outcome.rows["ledger"] == world_entries
    with enterprise_schema(world.acme):
        remaining = list(LedgerEntry.objects.order_by("id").values_list("id", flat=True))
        checkpoint = LedgerCheckpoint.objects.order_by("-upto_id").first()
    assert [e.pk for e in recent] == remaining[:3]  # the receipts follow them
    assert checkpoint.upto_id < recent[0].pk
    with enterprise_schema(world.acme):
        assert LedgerEntry.objects.get(pk=recent[0].pk).prev_hash == checkpoint.upto_hash
    result = ledger_verify(enterprise=world.acme)
    assert result.ok and result.entries == len(remaining)
    receipt = PurgeReceipt.objects.get(enterprise=world.acme, run_id=outcome.run_id, category="ledger")
    assert receipt.rows == world_entries
    # the purge switch was for the purge's own statements only
    with (
        enterprise_schema(world.acme),
        pytest.raises(ProgrammingError),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM enterprise_data_ledgerentry WHERE id = %s", [recent[0].pk])


# --- the task -------------------------------------------------------------------------------------


def test_the_task_refuses_the_public_schema(db):
    assert connection.schema_name == "public"
    with pytest.raises(PublicSchemaRefused):
        retention_purge.apply(headers={"_schema_name": "public"}).get()


def test_the_task_purges_the_enterprise_of_its_schema(world):
    seed(world.globex, world.membership(world.globex, world.gus), per_side=1)
    result = retention_purge.apply(headers={"_schema_name": "globex"}).get()
    assert result["schema"] == "globex" and result["status"] == "done"
    assert result["rows"]["health_reports"] == 1


def test_beat_purges_daily_including_suspended_and_terminating_enterprises():
    entry = settings.CELERY_BEAT_SCHEDULE["retention-purge"]
    assert entry["task"] == "tenants.tasks.dispatch_per_enterprise"
    assert entry["kwargs"]["task_name"] == retention_purge.name
    assert sorted(entry["kwargs"]["states"]) == sorted(PURGE_STATES) == ["active", "suspended", "terminating"]


def test_a_suspended_enterprise_is_purged_and_a_terminated_one_skipped(world):
    from tenants.models import Enterprise

    assert world.initech.state == "suspended"
    assert retention_purge.apply(headers={"_schema_name": "initech"}).get()["status"] == "done"
    Enterprise.objects.filter(pk=world.globex.pk).update(state=Enterprise.State.TERMINATED)
    result = retention_purge.apply(headers={"_schema_name": "globex"}).get()
    assert result["status"] == "skipped" and result["reason"] == "terminated"
    with enterprise_schema(world.globex):
        assert not PurgeRun.objects.exists()


def test_an_export_link_expired_by_the_applications_clock_is_purged_whatever_postgresqls_says(world):
    """One clock decides what is due: the application's. With it two hours ahead of PostgreSQL's
    (a skewed web host, or a moved test clock), a link that expired an hour ago loses its file;
    the run's "anything due?" check once asked now() and skipped the part."""
    from io import StringIO

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.core.management import call_command

    from requests.models import Export

    bob = world.membership(world.acme, world.bob)
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=True):
        with enterprise_schema(world.acme):
            path = default_storage.save("exports/skewed-clock.zip", ContentFile(b"zip"))
            link = Export.objects.create(
                membership=bob,
                token_hash="b" * 64,
                state=Export.State.DONE,
                file_path=path,
                expires_at=timezone.now() - timedelta(hours=1),
            )
        call_command("purge_retention", "--schema", "acme", stdout=StringIO())
    with enterprise_schema(world.acme):
        assert not default_storage.exists(path)
        assert Export.objects.get(pk=link.pk).file_path == ""


def test_the_management_command_purges_now(world):
    from io import StringIO

    from django.core.management import CommandError, call_command

    seed(world.acme, world.membership(world.acme, world.bob), per_side=1)
    out = StringIO()
    call_command("purge_retention", "--schema", "acme", "--batch-size", "10", stdout=out)
    assert out.getvalue().startswith("acme: run ") and "health_reports 1" in out.getvalue()
    out = StringIO()
    call_command("purge_retention", stdout=out)
    assert [line.split(":")[0] for line in out.getvalue().splitlines()] == ["acme", "globex", "initech"]
    for bad in (["--schema", "public"], ["--schema", "nope"], ["--batch-size", "0"]):
        with pytest.raises(CommandError):
            call_command("purge_retention", *bad, stdout=StringIO())


def test_the_card_of_an_invitation_that_expired_unanswered_leaves_the_directory(world):
    now = timezone.now()
    with enterprise_schema(world.acme):
        card = Membership.objects.create(
            display_name="Never Answered", status=Membership.Status.INVITED, mobile="+8613700000005"
        )
        stale = Invitation.objects.create(
            kind="mobile", mobile="+8613700000005", membership=card, expires_at=now - timedelta(days=100)
        )
        again = Membership.objects.create(display_name="Invited Again", status=Membership.Status.INVITED)
        Invitation.objects.create(
            kind="mobile", mobile="+8613700000006", membership=again, expires_at=now - timedelta(days=100)
        )
        Invitation.objects.create(
            kind="mobile", mobile="+8613700000006", membership=again, expires_at=now + timedelta(days=3)
        )  # a new one, still open
    outcome = purge_run(enterprise=world.acme)
    assert outcome.rows["invitations"] == 2
    with enterprise_schema(world.acme):
        assert not Invitation.objects.filter(pk=stale.pk).exists()
        closed = Membership.objects.get(pk=card.pk)
        assert closed.status == "left" and closed.left_at is not None
        assert Membership.objects.get(pk=again.pk).status == "invited"
    # departed profiles anonymise it once its own period has passed
    later = purge_run(enterprise=world.acme, now=timezone.now() + timedelta(days=31))
    assert later.rows["departed_profiles"] == 1
    with enterprise_schema(world.acme):
        assert Membership.objects.get(pk=card.pk).mobile == ""


def test_the_runs_check_for_due_rows_finds_expired_export_links_and_old_exports(world):
    """RET-2/PERF-2: the run skips parts with nothing due (one existence query); both conditions of
    the exports part are seen through the run: a link that expired with its file kept, and an
    export made before the cut-off."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from requests.models import Export

    bob = world.membership(world.acme, world.bob)
    with enterprise_schema(world.acme):
        path = default_storage.save("exports/purge-check.zip", ContentFile(b"zip"))
        link = Export.objects.create(
            membership=bob,
            token_hash="a" * 64,
            state=Export.State.DONE,
            file_path=path,
            expires_at=timezone.now() - timedelta(hours=1),
        )
    first = purge_run(enterprise=world.acme)
    assert first.rows["exports"] == 0
    with enterprise_schema(world.acme):
        assert not default_storage.exists(path)
        assert Export.objects.get(pk=link.pk).file_path == ""
        old = Export.objects.create(
            membership=bob,
            token_hash="b" * 64,
            state=Export.State.EXPIRED,
            expires_at=timezone.now(),
            created_at=timezone.now() - timedelta(days=BOUNDS["exports"].default + 1),
        )
    second = purge_run(enterprise=world.acme)
    assert second.rows["exports"] == 1 and _receipts(world.acme, second.run_id)["exports"] == 1
    with enterprise_schema(world.acme):
        assert not Export.objects.filter(pk=old.pk).exists() and Export.objects.filter(pk=link.pk).exists()
