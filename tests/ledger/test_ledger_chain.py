"""The ledger's guarantees in the database (ENT-10): PostgreSQL refuses UPDATE, DELETE and
TRUNCATE; the retention purge's escape hatch allows DELETE only; tampering and removals are
detected by `verify_ledger`; concurrent writers never fork the chain (advisory lock)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Count

from ledger.models import LedgerEntry
from ledger.services import GENESIS, Action, entry_hash, ledger_record, ledger_verify
from tenants.categories import Category
from tenants.citus import set_local_propagated
from tenants.context import enterprise_schema


def record(world, count: int = 1, **extra: Any) -> list[LedgerEntry]:
    alice = world.membership(world.acme, world.alice)
    entries = [
        ledger_record(
            enterprise=world.acme,
            actor=alice,
            action=Action.CHANGE,
            category=Category.DIRECTORY,
            subject=world.membership(world.acme, world.bob),
            purpose="Correct a typo",
            details={"fields": ["title"]},
            **extra,
        )
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
            cursor, "UPDATE enterprise_data_ledgerentry SET purpose = 'rewritten' WHERE id = %s", [entry.id]
        )
        assert "append-only: DELETE refused" in refused(
            cursor, "DELETE FROM enterprise_data_ledgerentry WHERE id = %s", [entry.id]
        )
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
            set_local_propagated(cursor)  # Citus: the switch reaches the worker (issue 18 §5)
            cursor.execute("SET LOCAL portal.ledger_purge = 'on'")
            assert "append-only: UPDATE refused" in refused(
                cursor, "UPDATE enterprise_data_ledgerentry SET purpose = 'rewritten' WHERE id = %s", [second.id]
            )
            assert "append-only: TRUNCATE refused" in refused(cursor, "TRUNCATE enterprise_data_ledgerentry")
            cursor.execute("DELETE FROM enterprise_data_ledgerentry WHERE id = %s", [first.id])
            assert cursor.rowcount == 1
            cursor.execute("SET LOCAL portal.ledger_purge = 'off'")
        # the setting was local: without it DELETE is refused again
        assert "append-only: DELETE refused" in refused(
            cursor, "DELETE FROM enterprise_data_ledgerentry WHERE id = %s", [second.id]
        )
        assert not LedgerEntry.objects.filter(pk=first.pk).exists()
        assert LedgerEntry.objects.filter(pk=second.pk).exists()


def test_any_other_value_of_the_purge_setting_is_refused(world):
    entry = record(world)[0]
    with enterprise_schema(world.acme), connection.cursor() as cursor, transaction.atomic():
        set_local_propagated(cursor)  # Citus: the switch reaches the worker (issue 18 §5)
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
    tamper(
        world,
        "UPDATE enterprise_data_ledgerentry SET purpose = %s, entry_hash = %s WHERE id = %s",
        ["Nothing happened", forged, target.id],
    )
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
        set_local_propagated(cursor)  # Citus: the switch reaches the worker (issue 18 §5)
        cursor.execute("SET LOCAL portal.ledger_purge = 'on'")
        cursor.execute("DELETE FROM enterprise_data_ledgerentry WHERE id = %s", [entries[0].id])
        cursor.execute("SET LOCAL portal.ledger_purge = 'off'")
    assert ledger_verify(enterprise=world.acme).first_broken_id == entries[1].id


def test_a_purge_that_leaves_a_checkpoint_keeps_the_chain_verifiable(world):
    """The design RET-5's purge follows: delete a prefix, leave the last purged entry's hash."""
    from ledger.models import LedgerCheckpoint

    entries = record(world, 3)
    with enterprise_schema(world.acme), connection.cursor() as cursor, transaction.atomic():
        set_local_propagated(cursor)  # Citus: the switch reaches the worker (issue 18 §5)
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
        forks = LedgerEntry.objects.values("prev_hash").annotate(n=Count("id")).filter(n__gt=1)
        assert list(forks) == []
    assert ledger_verify(enterprise=world.acme).ok


def test_interleaved_writers_keep_one_chain(world):
    alice = world.membership(world.acme, world.alice)
    amy = world.membership(world.acme, world.amy)
    for i in range(50):
        ledger_record(
            enterprise=world.acme,
            actor=(alice, amy)[i % 2],
            action=Action.REVEAL,
            category=Category.DIRECTORY,
            purpose=f"writer {i % 2}",
        )
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
            set_local_propagated(cursor)  # Citus: the switch reaches the worker (issue 18 §5)
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
            entry = ledger_record(
                enterprise=world.acme, actor=None, action=Action.CREATE, category=Category.DIRECTORY, purpose="writer A"
            )
            first_id.append(entry.id)
            a_appended.set()
            assert a_may_commit.wait(20)
        return entry

    def writer_b() -> LedgerEntry:
        return ledger_record(
            enterprise=world.acme, actor=None, action=Action.CREATE, category=Category.DIRECTORY, purpose="writer B"
        )

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
            entry = ledger_record(
                enterprise=world.acme,
                actor=None,
                action=Action.CHANGE,
                category=Category.ATTENDANCE,
                purpose=f"{name} {i}",
            )
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


# --- (e) no row is left unseen: ids <= 0 and rows below a checkpoint (issue 14) --------------------


def insert_copy(world, new_id: int, of_id: int) -> None:
    """A superuser's hand-written INSERT with triggers off: a copy of entry `of_id` under `new_id`
    (with a hash of its own, the column is unique)."""
    with enterprise_schema(world.acme), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        columns = (
            "created_at, actor_kind, actor_membership_id, actor_device_id, action, category, "
            "subject_membership_id, purpose, object_type, object_id, details, request_id, prev_hash"
        )
        cursor.execute(
            f"INSERT INTO enterprise_data_ledgerentry (id, {columns}, entry_hash) "  # noqa: S608
            f"SELECT %s, {columns}, md5(random()::text) || md5(random()::text) "
            "FROM enterprise_data_ledgerentry WHERE id = %s",
            [new_id, of_id],
        )
        assert cursor.rowcount == 1
        cursor.execute("SET LOCAL session_replication_role = origin")
    connection.set_schema_to_public()


def drop_id_check(world) -> None:
    """A superuser drops the CHECK constraint (inside the test's transaction: rolled back after)."""
    with enterprise_schema(world.acme), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE enterprise_data_ledgerentry DROP CONSTRAINT ledger_entry_id_positive")
    connection.set_schema_to_public()


def verify_output(schema: str = "acme") -> tuple[str, str]:
    out = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("verify_ledger", schema=schema, stdout=out)
    return out.getvalue(), str(error.value)


_COPY_WITH_ID = (
    "INSERT INTO enterprise_data_ledgerentry (id, created_at, actor_kind, action, category, purpose, "
    "object_type, object_id, details, request_id, prev_hash, entry_hash) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s)"
)


def _copy_with_id(entry: LedgerEntry, new_id: int) -> list[Any]:
    """The values of `entry` under `new_id` and a hash of its own (the column is unique), for a
    plain INSERT … VALUES (Citus' worker refused the INSERT … SELECT this test used before)."""
    return [
        new_id, entry.created_at, entry.actor_kind, entry.action, entry.category, entry.purpose,
        entry.object_type, entry.object_id, json.dumps(entry.details), entry.request_id, entry.prev_hash,
        f"x{new_id}-{entry.entry_hash}"[:64],
    ]  # fmt: skip


@pytest.mark.parametrize("enterprise", ["acme", "globex"])
def test_an_id_of_zero_or_below_is_refused_by_the_database(world, enterprise):
    """CHECK (id > 0) in every enterprise schema (globex is a clone of the template), whatever the
    triggers: session_replication_role = replica does not switch CHECK constraints off."""
    tenant = getattr(world, enterprise)
    entry = ledger_record(enterprise=tenant, actor=None, action=Action.CREATE, category=Category.DIRECTORY)
    with enterprise_schema(tenant), connection.cursor() as cursor:
        set_local_propagated(cursor)  # Citus: the role reaches the worker's connection too
        cursor.execute("SET LOCAL session_replication_role = replica")
        # the same statement with a positive id goes through (rolled back): only the id is refused below
        with transaction.atomic():
            cursor.execute(_COPY_WITH_ID, _copy_with_id(entry, entry.id + 1_000_000))
            assert cursor.rowcount == 1
            transaction.set_rollback(True)
        for bad_id in (0, -1):
            message = refused(cursor, _COPY_WITH_ID, _copy_with_id(entry, bad_id))
            assert "ledger_entry_id_positive" in message
        cursor.execute("SET LOCAL session_replication_role = origin")
        assert not LedgerEntry.objects.filter(id__lte=0).exists()


def test_rows_with_id_zero_or_below_are_reported_by_id_when_the_check_is_dropped(world, client_for):
    """The issue: such rows were listed by the API and the export, yet verification said intact."""
    entries = record(world, 2)
    drop_id_check(world)
    insert_copy(world, 0, entries[0].id)
    insert_copy(world, -7, entries[1].id)
    with enterprise_schema(world.acme):
        total = LedgerEntry.objects.count()
    # the list API shows them ...
    listed = client_for("acme", world.alice).get("/api/v1/ledger/", {"limit": 200}).json()["results"]
    assert {0, -7} <= {row["id"] for row in listed}
    # ... and every verification names them
    result = ledger_verify(enterprise=world.acme)
    assert not result.ok and result.entries == total
    assert [(p.id, p.reason) for p in result.problems] == [
        (-7, "its id is not positive, so it lies outside the chain"),
        (0, "its id is not positive, so it lies outside the chain"),
    ]
    out, error = verify_output()
    assert out.splitlines() == [
        "acme: BROKEN at entry #-7: its id is not positive, so it lies outside the chain",
        "acme: also entry #0: its id is not positive, so it lies outside the chain",
    ]
    assert "#-7" in error and "#0" in error
    body = client_for("acme", world.alice).get("/api/v1/ledger/verify/").json()
    assert body["ok"] is False and body["first_broken_id"] == -7 and body["problem_count"] == 2
    assert [p["id"] for p in body["problems"]] == [-7, 0]
    assert all("not positive" in p["reason"] for p in body["problems"])
    page = client_for("acme", world.alice).get("/console/ledger/verify/", HTTP_ACCEPT_LANGUAGE="en")
    assert b"#-7" in page.content and b"#0:" in page.content
    assert "2 entries are not part of the verified chain" in page.content.decode()
    chinese = client_for("acme", world.alice).get("/console/ledger/verify/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "2 个条目不属于已校验的哈希链" in chinese.content.decode()
    assert "该条目的编号不是正数" in chinese.content.decode()


def test_every_damaged_entry_is_named_not_only_the_first(world):
    entries = record(world, 5)
    tamper(world, "UPDATE enterprise_data_ledgerentry SET purpose = 'Nothing happened' WHERE id = %s", [entries[1].id])
    tamper(world, "DELETE FROM enterprise_data_ledgerentry WHERE id = %s", [entries[3].id])
    result = ledger_verify(enterprise=world.acme)
    assert [(p.id, p.reason) for p in result.problems] == [
        (entries[1].id, "its content does not match its hash"),
        (entries[4].id, "its previous-hash does not match the entry before it"),
    ]
    out, error = verify_output()
    assert (
        out.splitlines()[1] == f"acme: also entry #{entries[4].id}: its previous-hash does not match the "
        "entry before it"
    )
    assert f"#{entries[1].id}" in error and f"#{entries[4].id}" in error


def purge_upto(world, upto: LedgerEntry) -> None:
    """What the retention purge does: delete a prefix through the hatch and leave a checkpoint."""
    from ledger.models import LedgerCheckpoint

    with enterprise_schema(world.acme), connection.cursor() as cursor, transaction.atomic():
        set_local_propagated(cursor)  # Citus: the switch reaches the worker (issue 18 §5)
        cursor.execute("SET LOCAL portal.ledger_purge = 'on'")
        cursor.execute("DELETE FROM enterprise_data_ledgerentry WHERE id <= %s", [upto.id])
        purged = cursor.rowcount
        cursor.execute("SET LOCAL portal.ledger_purge = 'off'")
        LedgerCheckpoint.objects.create(upto_id=upto.id, upto_hash=upto.entry_hash, rows_purged=purged)
    connection.set_schema_to_public()


def test_an_entry_inserted_below_the_checkpoint_is_reported(world, client_for):
    entries = record(world, 3)
    purge_upto(world, entries[0])
    assert ledger_verify(enterprise=world.acme).ok
    insert_copy(world, entries[0].id, entries[1].id)  # an id the purge removed comes back
    result = ledger_verify(enterprise=world.acme)
    assert [(p.id, p.reason) for p in result.problems] == [
        (entries[0].id, "it lies at or below the newest purge checkpoint, where no entry may remain")
    ]
    out, _error = verify_output()
    assert (
        out == f"acme: BROKEN at entry #{entries[0].id}: it lies at or below the newest purge checkpoint, "
        "where no entry may remain\n"
    )
    body = client_for("acme", world.alice).get("/api/v1/ledger/verify/").json()
    assert (body["ok"], body["problem_count"], body["first_broken_id"]) == (False, 1, entries[0].id)


def test_an_entry_changed_and_hidden_behind_a_forged_checkpoint_is_reported(world, client_for):
    """Change an entry, then write a checkpoint past it without purging: the old verification
    started after the checkpoint and never saw the changed entry."""
    from ledger.models import LedgerCheckpoint

    entries = record(world, 4)
    purge_upto(world, entries[0])
    tamper(world, "UPDATE enterprise_data_ledgerentry SET purpose = 'Nothing happened' WHERE id = %s", [entries[1].id])
    with enterprise_schema(world.acme):
        LedgerCheckpoint.objects.create(upto_id=entries[2].id, upto_hash=entries[2].entry_hash, rows_purged=0)
    result = ledger_verify(enterprise=world.acme)
    assert [p.id for p in result.problems] == [entries[1].id, entries[2].id]
    assert {p.reason for p in result.problems} == {
        "it lies at or below the newest purge checkpoint, where no entry may remain"
    }
    assert result.entries == 3  # entries 1-3: two outside the chain, one verified after the checkpoint
    out, error = verify_output()
    assert f"#{entries[1].id}" in out and f"#{entries[2].id}" in out and f"#{entries[1].id}" in error
    body = client_for("acme", world.alice).get("/api/v1/ledger/verify/").json()
    assert [p["id"] for p in body["problems"]] == [entries[1].id, entries[2].id]


def test_more_problems_than_listed_are_counted(world):
    from ledger.services import MAX_REPORTED

    entries = record(world, 1)
    drop_id_check(world)
    for n in range(MAX_REPORTED + 3):
        insert_copy(world, -1 - n, entries[0].id)
    result = ledger_verify(enterprise=world.acme)
    assert result.problem_count == MAX_REPORTED + 3 and len(result.problems) == MAX_REPORTED
    out, _error = verify_output()
    assert out.splitlines()[-1] == "acme: and 3 more entries not listed"
