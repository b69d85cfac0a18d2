"""The ledger's guarantees in the database (ENT-10): PostgreSQL refuses UPDATE, DELETE and
TRUNCATE; the retention purge's escape hatch allows DELETE only; tampering and removals are
detected by `verify_ledger`; concurrent writers never fork the chain (advisory lock)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Count

from enterprise_data.categories import Category
from enterprise_data.models import LedgerEntry
from enterprise_data.services.ledger import GENESIS, Action, entry_hash, ledger_record, ledger_verify
from tenants.context import enterprise_schema


def record(world, count: int = 1, **extra: Any) -> list[LedgerEntry]:
    alice = world.membership(world.acme, world.alice)
    entries = [
        ledger_record(enterprise=world.acme, actor=alice, action=Action.CHANGE, category=Category.DIRECTORY,
                      subject=world.membership(world.acme, world.bob), purpose="Correct a typo",
                      details={"fields": ["title"]}, **extra)
        for _ in range(count)
    ]
    connection.set_schema_to_public()
    return entries


def refused(cursor, sql: str, params: list | None = None) -> str:
    """Run `sql` in a savepoint and return PostgreSQL's refusal (the test transaction goes on)."""
    with pytest.raises(DatabaseError) as error, transaction.atomic():
        cursor.execute(sql, params or [])
    return str(error.value)


# --- (a) the database refuses changes --------------------------------------------------------------

def test_update_delete_and_truncate_are_refused_by_postgresql(world):
    entry = record(world)[0]
    with enterprise_schema(world.acme), connection.cursor() as cursor:
        assert "append-only: UPDATE refused" in refused(
            cursor, "UPDATE enterprise_data_ledgerentry SET purpose = 'rewritten' WHERE id = %s", [entry.id])
        assert "append-only: DELETE refused" in refused(
            cursor, "DELETE FROM enterprise_data_ledgerentry WHERE id = %s", [entry.id])
        assert "append-only: TRUNCATE refused" in refused(cursor, "TRUNCATE enterprise_data_ledgerentry")
        # the ORM is refused the same way
        with pytest.raises(DatabaseError), transaction.atomic():
            LedgerEntry.objects.filter(pk=entry.pk).update(purpose="rewritten")
        with pytest.raises(DatabaseError), transaction.atomic():
            LedgerEntry.objects.filter(pk=entry.pk).delete()
        unchanged = LedgerEntry.objects.get(pk=entry.pk)
    assert unchanged.purpose == "Correct a typo"
    assert ledger_verify(enterprise=world.acme).ok


def test_the_trigger_guards_every_enterprise_schema(world):
    """Provisioned by cloning the template: globex's table is guarded too."""
    ledger_record(enterprise=world.globex, actor=None, action=Action.CREATE, category=Category.DIRECTORY)
    with enterprise_schema(world.globex), connection.cursor() as cursor:
        assert "refused" in refused(cursor, "UPDATE enterprise_data_ledgerentry SET purpose = 'x'")
        assert "refused" in refused(cursor, "DELETE FROM enterprise_data_ledgerentry")


# --- (b) the purge escape hatch --------------------------------------------------------------------

def test_the_purge_setting_allows_delete_but_never_update(world):
    first, second = record(world, 2)
    with enterprise_schema(world.acme), connection.cursor() as cursor:
        with transaction.atomic():
            cursor.execute("SET LOCAL portal.ledger_purge = 'on'")
            assert "append-only: UPDATE refused" in refused(
                cursor, "UPDATE enterprise_data_ledgerentry SET purpose = 'rewritten' WHERE id = %s", [second.id])
            assert "append-only: TRUNCATE refused" in refused(cursor, "TRUNCATE enterprise_data_ledgerentry")
            cursor.execute("DELETE FROM enterprise_data_ledgerentry WHERE id = %s", [first.id])
            assert cursor.rowcount == 1
            cursor.execute("SET LOCAL portal.ledger_purge = 'off'")
        # the setting was local: without it DELETE is refused again
        assert "append-only: DELETE refused" in refused(
            cursor, "DELETE FROM enterprise_data_ledgerentry WHERE id = %s", [second.id])
        assert not LedgerEntry.objects.filter(pk=first.pk).exists()
        assert LedgerEntry.objects.filter(pk=second.pk).exists()


def test_any_other_value_of_the_purge_setting_is_refused(world):
    entry = record(world)[0]
    with enterprise_schema(world.acme), connection.cursor() as cursor, transaction.atomic():
        cursor.execute("SET LOCAL portal.ledger_purge = 'yes'")
        assert "DELETE refused" in refused(cursor, "DELETE FROM enterprise_data_ledgerentry WHERE id = %s", [entry.id])


# --- (c) tampering is detected ---------------------------------------------------------------------

def tamper(world, sql: str, params: list) -> None:
    """What an attacker with the table owner's rights could do: switch the trigger off."""
    with enterprise_schema(world.acme), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE enterprise_data_ledgerentry DISABLE TRIGGER ledger_append_only")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE enterprise_data_ledgerentry ENABLE TRIGGER ledger_append_only")
    connection.set_schema_to_public()


def test_an_untouched_chain_verifies(world):
    record(world, 3)
    out = StringIO()
    call_command("verify_ledger", schema="acme", stdout=out)
    with enterprise_schema(world.acme):
        count = LedgerEntry.objects.count()
    assert out.getvalue() == f"acme: {count} entries, chain intact\n"


def test_verify_ledger_checks_active_suspended_and_terminating_enterprises(world):
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    lines = {line.split(":")[0]: line for line in out.getvalue().splitlines()}
    assert {"acme", "globex", "initech"} <= set(lines)  # initech is suspended
    assert all(line.endswith("chain intact") for line in lines.values())


def test_verify_ledger_refuses_an_unknown_schema(world):
    with pytest.raises(CommandError, match="No enterprise"):
        call_command("verify_ledger", schema="nowhere", stdout=StringIO())


def test_a_changed_purpose_is_detected_and_named(world):
    entries = record(world, 4)
    target = entries[1]
    tamper(world, "UPDATE enterprise_data_ledgerentry SET purpose = 'Nothing happened' WHERE id = %s", [target.id])
    out = StringIO()
    with pytest.raises(CommandError, match=f"#{target.id}\\b"):
        call_command("verify_ledger", schema="acme", stdout=out)
    assert out.getvalue() == f"acme: BROKEN at entry #{target.id}: its content does not match its hash\n"
    result = ledger_verify(enterprise=world.acme)
    assert (result.ok, result.first_broken_id) == (False, target.id)


def test_a_recomputed_hash_still_breaks_the_next_link(world):
    """Rewriting an entry and its own hash consistently moves the break to the next entry."""
    entries = record(world, 3)
    target = entries[0]
    with enterprise_schema(world.acme):
        values = LedgerEntry.objects.filter(pk=target.pk).values().get()
    values["purpose"] = "Nothing happened"
    forged = entry_hash(values["prev_hash"], values)
    tamper(world, "UPDATE enterprise_data_ledgerentry SET purpose = %s, entry_hash = %s WHERE id = %s",
           ["Nothing happened", forged, target.id])
    result = ledger_verify(enterprise=world.acme)
    assert result.first_broken_id == entries[1].id
    assert "previous-hash" in result.reason


def test_a_deleted_middle_entry_is_detected(world):
    entries = record(world, 3)
    tamper(world, "DELETE FROM enterprise_data_ledgerentry WHERE id = %s", [entries[1].id])
    with pytest.raises(CommandError, match=f"#{entries[2].id}\\b"):
        call_command("verify_ledger", schema="acme", stdout=StringIO())
    assert ledger_verify(enterprise=world.acme).reason == "its previous-hash does not match the entry before it"


def test_a_deleted_entry_through_the_purge_hatch_without_a_checkpoint_is_detected(world):
    entries = record(world, 3)
    with enterprise_schema(world.acme), connection.cursor() as cursor, transaction.atomic():
        cursor.execute("SET LOCAL portal.ledger_purge = 'on'")
        cursor.execute("DELETE FROM enterprise_data_ledgerentry WHERE id = %s", [entries[0].id])
        cursor.execute("SET LOCAL portal.ledger_purge = 'off'")
    assert ledger_verify(enterprise=world.acme).first_broken_id == entries[1].id


def test_a_purge_that_leaves_a_checkpoint_keeps_the_chain_verifiable(world):
    """The design RET-5's purge follows: delete a prefix, leave the last purged entry's hash."""
    from enterprise_data.models import LedgerCheckpoint

    entries = record(world, 3)
    with enterprise_schema(world.acme), connection.cursor() as cursor, transaction.atomic():
        cursor.execute("SET LOCAL portal.ledger_purge = 'on'")
        cursor.execute("DELETE FROM enterprise_data_ledgerentry WHERE id <= %s", [entries[0].id])
        purged = cursor.rowcount
        cursor.execute("SET LOCAL portal.ledger_purge = 'off'")
        LedgerCheckpoint.objects.create(upto_id=entries[0].id, upto_hash=entries[0].entry_hash, rows_purged=purged)
    result = ledger_verify(enterprise=world.acme)
    assert result.ok and result.entries == 2
    newer = record(world)[0]  # appending continues the chain after the checkpoint
    assert newer.prev_hash == entries[2].entry_hash
    assert ledger_verify(enterprise=world.acme).ok


def test_the_first_entry_follows_genesis(world):
    with enterprise_schema(world.acme):
        first = LedgerEntry.objects.order_by("id").first()
    assert first is not None and first.prev_hash == GENESIS


# --- (d) concurrent appends never fork the chain ---------------------------------------------------

def assert_no_fork(world) -> None:
    with enterprise_schema(world.acme):
        forks = (LedgerEntry.objects.values("prev_hash").annotate(n=Count("id")).filter(n__gt=1))
        assert list(forks) == []
    assert ledger_verify(enterprise=world.acme).ok


def test_interleaved_writers_keep_one_chain(world):
    alice = world.membership(world.acme, world.alice)
    amy = world.membership(world.acme, world.amy)
    for i in range(50):
        ledger_record(enterprise=world.acme, actor=(alice, amy)[i % 2], action=Action.REVEAL,
                      category=Category.DIRECTORY, purpose=f"writer {i % 2}")
    connection.set_schema_to_public()
    assert_no_fork(world)


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run `work` in a thread with its own database connection (committed, outside the test's
    transaction); the connection is closed when the thread ends."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # reported by the test
            outcome["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def purge_committed(world, first_id: int) -> None:
    """Remove the entries the threads committed (the newest ones: the chain stays valid)."""

    def purge() -> None:
        with enterprise_schema(world.acme), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL portal.ledger_purge = 'on'")
            cursor.execute("DELETE FROM enterprise_data_ledgerentry WHERE id >= %s", [first_id])

    thread, outcome = in_thread(purge)
    thread.join(30)
    assert "error" not in outcome, outcome


def test_a_second_writer_waits_for_the_first_ones_commit(world):
    """Writer A appends inside an open transaction; writer B blocks on the chain's advisory lock
    until A commits, then chains onto A's entry."""
    a_appended, a_may_commit = threading.Event(), threading.Event()
    first_id: list[int] = []

    def writer_a() -> LedgerEntry:
        with enterprise_schema(world.acme), transaction.atomic():
            entry = ledger_record(enterprise=world.acme, actor=None, action=Action.CREATE,
                                  category=Category.DIRECTORY, purpose="writer A")
            first_id.append(entry.id)
            a_appended.set()
            assert a_may_commit.wait(20)
        return entry

    def writer_b() -> LedgerEntry:
        return ledger_record(enterprise=world.acme, actor=None, action=Action.CREATE,
                             category=Category.DIRECTORY, purpose="writer B")

    thread_a, outcome_a = in_thread(writer_a)
    try:
        assert a_appended.wait(20), outcome_a
        thread_b, outcome_b = in_thread(writer_b)
        thread_b.join(1.0)
        assert thread_b.is_alive(), "writer B must wait for writer A's lock"
        a_may_commit.set()
        thread_a.join(20)
        thread_b.join(20)
        assert "error" not in outcome_a and "error" not in outcome_b, (outcome_a, outcome_b)
        assert outcome_b["value"].prev_hash == outcome_a["value"].entry_hash
        assert_no_fork(world)
    finally:
        a_may_commit.set()
        thread_a.join(20)
        if first_id:
            purge_committed(world, first_id[0])


def test_two_concurrent_writers_never_fork_the_chain(world):
    start = threading.Barrier(2)
    ids: list[int] = []
    lock = threading.Lock()

    def writer(name: str) -> None:
        start.wait(10)
        for i in range(25):
            entry = ledger_record(enterprise=world.acme, actor=None, action=Action.CHANGE,
                                  category=Category.ATTENDANCE, purpose=f"{name} {i}")
            with lock:
                ids.append(entry.id)

    threads = [in_thread(lambda name=name: writer(name)) for name in ("left", "right")]
    try:
        for thread, _outcome in threads:
            thread.join(60)
        for _thread, outcome in threads:
            assert "error" not in outcome, outcome
        assert len(ids) == 50
        with enterprise_schema(world.acme):
            purposes = set(LedgerEntry.objects.filter(id__in=ids).values_list("purpose", flat=True))
        assert len(purposes) == 50
        assert_no_fork(world)
    finally:
        if ids:
            purge_committed(world, min(ids))
