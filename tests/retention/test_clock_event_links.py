"""A clock event's raw location and photo are tied to it by set-based triggers, not foreign keys
(enterprise_data migration 0008, docs/retention.md "Clock events and their details"; RET-3,
PERF-2). The database must still guarantee what the foreign keys did: no detail without its
event, deleting events deletes their details (whoever deletes, however), and the same under
concurrent transactions.

The concurrency tests use two connections of their own on committed rows (in acme's schema),
removed again at the end."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg2
import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from attendance.models import ClockEvent, ClockEventLocation, ClockEventPhoto
from retention.services.purge import purge_run
from tenants.context import enterprise_schema

EVENT, LOCATION, PHOTO = (model._meta.db_table for model in (ClockEvent, ClockEventLocation, ClockEventPhoto))
# statements of the connections of their own (search_path: acme)
INSERT_EVENT = (
    "INSERT INTO enterprise_data_clockevent (membership_id, kind, source, occurred_at, within_geofence, "
    "location_cell, created_at) VALUES (%s, 'in', 'app', now(), true, '', now()) RETURNING id"
)
INSERT_LOCATION = (
    "INSERT INTO enterprise_data_clockeventlocation (event_id, coordinates_encrypted, created_at) "
    "VALUES (%s, 'x', now())"
)
DELETE_EVENT = "DELETE FROM enterprise_data_clockevent WHERE id = %s"


def _event(member_id: int, **extra: Any) -> ClockEvent:
    return ClockEvent.objects.create(
        membership_id=member_id, kind="in", source="app", occurred_at=timezone.now(), within_geofence=True, **extra
    )


def _with_details(member_id: int) -> ClockEvent:
    event = _event(member_id)
    ClockEventLocation.objects.create(event=event, coordinates_encrypted=b"31.2,121.4")
    ClockEventPhoto.objects.create(event=event, photo_encrypted=b"jpeg", content_type="image/jpeg")
    return event


def _details(event_ids: list[int]) -> tuple[list[int], list[int]]:
    return (
        sorted(ClockEventLocation.objects.filter(event_id__in=event_ids).values_list("event_id", flat=True)),
        sorted(ClockEventPhoto.objects.filter(event_id__in=event_ids).values_list("event_id", flat=True)),
    )


def test_the_details_have_no_foreign_key_but_the_triggers_in_every_schema(world):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT n.nspname, count(*) FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE NOT t.tgisinternal AND c.relname IN (%s, %s, %s)
              AND n.nspname IN ('enterprise_template', 'acme', 'globex', 'initech')
            GROUP BY n.nspname""",
            [EVENT, LOCATION, PHOTO],
        )
        triggers = dict(cursor.fetchall())
        cursor.execute(
            """
            SELECT count(*) FROM pg_constraint c JOIN pg_class r ON r.oid = c.confrelid
            WHERE c.contype = 'f' AND r.relname = %s""",
            [EVENT],
        )
        (foreign_keys,) = cursor.fetchone()
    # delete, id fixed, truncate on the event; an insert and an update check on each detail
    assert triggers == {"enterprise_template": 7, "acme": 7, "globex": 7, "initech": 7}
    assert foreign_keys == 0


def test_deleting_events_deletes_their_details_however_it_is_done(world):
    bob = world.membership(world.acme, world.bob)
    with enterprise_schema(world.acme):
        events = [_with_details(bob.pk) for _ in range(6)]
        kept = _with_details(bob.pk)
        ids = [event.pk for event in events]
        # Django's collector (deletes the details itself first), a raw delete, hand-written SQL
        ClockEvent.objects.filter(pk__in=ids[:2]).delete()
        ClockEvent.objects.filter(pk__in=ids[2:4])._raw_delete(connection.alias)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM enterprise_data_clockevent WHERE id = ANY(%s)", [ids[4:]])
        assert not ClockEvent.objects.filter(pk__in=ids).exists()
        assert _details(ids) == ([], [])
        assert _details([kept.pk]) == ([kept.pk], [kept.pk])


def test_a_purge_deletes_due_events_with_the_details_left_on_them(world):
    bob = world.membership(world.acme, world.bob)
    with enterprise_schema(world.acme):
        old = _with_details(bob.pk)
        ClockEvent.objects.filter(pk=old.pk).update(occurred_at=timezone.now() - timedelta(days=800))
        # details kept past their own period would be purged first; here they are recent
        recent = _with_details(bob.pk)
    outcome = purge_run(enterprise=world.acme)
    assert outcome.rows["attendance"] == 1
    with enterprise_schema(world.acme):
        assert _details([old.pk, recent.pk]) == ([recent.pk], [recent.pk])


def test_the_cascade_works_whatever_the_search_path(world):
    """The trigger functions name the tables through TG_TABLE_SCHEMA, not the search_path."""
    bob = world.membership(world.acme, world.bob)
    with enterprise_schema(world.acme):
        event = _with_details(bob.pk)
    with connection.cursor() as cursor:
        cursor.execute("SET search_path = public")
        cursor.execute("DELETE FROM acme.enterprise_data_clockevent WHERE id = %s", [event.pk])
        cursor.execute("SELECT count(*) FROM acme.enterprise_data_clockeventlocation WHERE event_id = %s", [event.pk])
        assert cursor.fetchone()[0] == 0


def test_a_detail_needs_an_existing_event(world):
    bob = world.membership(world.acme, world.bob)
    with enterprise_schema(world.acme):
        event = _event(bob.pk)
        missing = event.pk + 1000
        with pytest.raises(IntegrityError, match="does not exist"), transaction.atomic():
            ClockEventLocation.objects.create(event_id=missing, coordinates_encrypted=b"x")
        with pytest.raises(IntegrityError, match="does not exist"), transaction.atomic():
            ClockEventPhoto.objects.create(event_id=missing, photo_encrypted=b"x", content_type="image/jpeg")
        # one bad row refuses the whole statement
        other = _event(bob.pk)
        with pytest.raises(IntegrityError), transaction.atomic():
            ClockEventLocation.objects.bulk_create(
                [
                    ClockEventLocation(event=event, coordinates_encrypted=b"x"),
                    ClockEventLocation(event_id=missing, coordinates_encrypted=b"x"),
                ]
            )
        assert not ClockEventLocation.objects.filter(event_id__in=[event.pk, missing]).exists()
        # moving a detail: to an existing event yes, to a missing one no
        location = ClockEventLocation.objects.create(event=event, coordinates_encrypted=b"x")
        ClockEventLocation.objects.filter(pk=location.pk).update(event=other)
        with pytest.raises(IntegrityError), transaction.atomic():
            ClockEventLocation.objects.filter(pk=location.pk).update(event_id=missing)
        assert ClockEventLocation.objects.get(pk=location.pk).event_id == other.pk


def test_an_event_keeps_its_id_and_cannot_be_truncated_from_under_its_details(world):
    bob = world.membership(world.acme, world.bob)
    with enterprise_schema(world.acme):
        event = _with_details(bob.pk)
        with pytest.raises(IntegrityError, match="cannot change"), transaction.atomic():
            ClockEvent.objects.filter(pk=event.pk).update(id=event.pk + 1000)
        ClockEvent.objects.filter(pk=event.pk).update(kind="out")  # other columns change as usual
        with connection.cursor() as cursor:  # (TRUNCATE refuses to run with deferred checks pending)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        with pytest.raises(IntegrityError, match="truncated"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("TRUNCATE enterprise_data_clockevent")
        assert ClockEvent.objects.filter(pk=event.pk).exists()
    # all three together: test_the_events_may_be_truncated_with_their_details (committed rows)


# --- other transactions ---------------------------------------------------------------------------


def _connect() -> Any:
    """A connection of its own to the test database, in acme's schema."""
    settings = connection.settings_dict
    conn = psycopg2.connect(
        dbname=settings["NAME"],
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
    )
    with conn.cursor() as cursor:
        cursor.execute("SET search_path = acme")
    conn.commit()
    return conn


@pytest.fixture
def committed_event(world) -> Iterator[int]:
    """A committed clock event of Bob's in acme (without details); removed at the end."""
    bob = world.membership(world.acme, world.bob)
    conn = _connect()
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(INSERT_EVENT, [bob.pk])
        (event_id,) = cursor.fetchone()
    try:
        yield event_id
    finally:
        with conn.cursor() as cursor:
            cursor.execute(DELETE_EVENT, [event_id])
            cursor.execute("DELETE FROM enterprise_data_clockeventlocation WHERE event_id = %s", [event_id])
        conn.close()


def _in_thread(work) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = work()
        except BaseException as error:  # noqa: BLE001  (inspected by the test)
            box["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    return thread, box


def _backend(conn: Any) -> tuple[str, int]:
    """What identifies `conn`'s work in the activity views: its pid; on Citus its global pid, which
    the worker's backend running the statement on the enterprise's shards shares — that backend
    is the one waiting for a row lock, the coordinator's only waits for the worker's answer."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")
        if cursor.fetchone()[0]:
            cursor.execute("SELECT citus_backend_gpid()")
            backend = ("citus", int(cursor.fetchone()[0]))
        else:
            backend = ("postgresql", conn.get_backend_pid())
    conn.commit()
    return backend


_WAIT_EVENTS = {
    "postgresql": "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
    "citus": "SELECT wait_event_type FROM citus_stat_activity WHERE global_pid = %s",  # every node
}


def _waiting(thread: threading.Thread, backend: tuple[str, int]) -> None:
    """Wait until the backend (`_backend`) waits for a lock (the thread is blocked in the database)."""
    kind, number = backend
    conn = _connect()
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            for _attempt in range(100):
                cursor.execute(_WAIT_EVENTS[kind], [number])
                if "Lock" in {row[0] for row in cursor.fetchall()}:
                    assert thread.is_alive()
                    return
                time.sleep(0.05)
        raise AssertionError("the other transaction never waited for the lock")
    finally:
        conn.close()


def _location_count(event_id: int) -> int:
    conn = _connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM enterprise_data_clockeventlocation WHERE event_id = %s", [event_id])
            return int(cursor.fetchone()[0])
    finally:
        conn.close()


def test_a_delete_waiting_for_a_new_detail_deletes_it_too(committed_event):
    inserter, deleter = _connect(), _connect()
    waiter = _backend(deleter)
    try:
        with inserter.cursor() as cursor:  # not committed yet: it holds the event's key-share lock
            cursor.execute(INSERT_LOCATION, [committed_event])

        def delete() -> int:
            with deleter.cursor() as cursor:
                cursor.execute(DELETE_EVENT, [committed_event])
                deleted = cursor.rowcount
            deleter.commit()
            return deleted

        thread, box = _in_thread(delete)
        _waiting(thread, waiter)
        inserter.commit()
        thread.join(timeout=30)
        assert box == {"result": 1}
        assert _location_count(committed_event) == 0  # no detail outlives its event
    finally:
        inserter.close()
        deleter.close()


def test_a_detail_waiting_for_its_event_to_be_deleted_is_refused(committed_event):
    inserter, deleter = _connect(), _connect()
    waiter = _backend(inserter)
    try:
        with deleter.cursor() as cursor:  # not committed yet
            cursor.execute(DELETE_EVENT, [committed_event])

        def insert() -> None:
            with inserter.cursor() as cursor:
                cursor.execute(INSERT_LOCATION, [committed_event])
            inserter.commit()

        thread, box = _in_thread(insert)
        _waiting(thread, waiter)
        deleter.commit()
        thread.join(timeout=30)
        assert isinstance(box.get("error"), psycopg2.errors.ForeignKeyViolation)
        inserter.rollback()
        assert _location_count(committed_event) == 0
    finally:
        # the lock holder first: closing a connection its thread still waits on would wait forever
        deleter.close()
        inserter.close()


def test_the_events_may_be_truncated_with_their_details(committed_event):
    """One TRUNCATE of the three tables is allowed: the check runs once every table of the statement
    is empty. On Citus each shard is truncated by a statement of its own, in the order the tables
    are listed, so the event table's check sees the details still there unless they come first
    (refused, never an orphan; the product truncates none of these tables). Committed rows, a
    connection of its own: Citus does not pass `SET CONSTRAINTS … IMMEDIATE` on to the worker,
    which then refuses to truncate a table with deferred checks pending."""
    conn = _connect()
    try:
        on_citus = _backend(conn)[0] == "citus"
        with conn.cursor() as cursor:
            cursor.execute(INSERT_LOCATION, [committed_event])
        conn.commit()
        details_first = f"TRUNCATE {LOCATION}, {PHOTO}, {EVENT}"
        events_first = f"TRUNCATE {EVENT}, {LOCATION}, {PHOTO}"
        for statement, allowed in ((details_first, True), (events_first, not on_citus)):
            with conn.cursor() as cursor:
                if allowed:
                    cursor.execute(statement)
                    cursor.execute(f"SELECT (SELECT count(*) FROM {EVENT}) + (SELECT count(*) FROM {LOCATION})")  # noqa: S608
                    assert cursor.fetchone()[0] == 0, statement
                else:
                    with pytest.raises(psycopg2.errors.ForeignKeyViolation, match="truncated"):
                        cursor.execute(statement)
            conn.rollback()
        assert _location_count(committed_event) == 1  # rolled back
    finally:
        conn.close()


def test_deleting_events_is_refused_outside_read_committed(world):
    """Under REPEATABLE READ the cascade could miss a detail committed after the snapshot."""
    bob = world.membership(world.acme, world.bob)
    conn = _connect()
    try:
        conn.set_session(isolation_level="REPEATABLE READ")
        with conn.cursor() as cursor:
            cursor.execute(INSERT_EVENT, [bob.pk])
            (event_id,) = cursor.fetchone()
            with pytest.raises(psycopg2.errors.FeatureNotSupported, match="READ COMMITTED"):
                cursor.execute(DELETE_EVENT, [event_id])
        conn.rollback()
        # deleting nothing is fine
        with conn.cursor() as cursor:
            cursor.execute("DELETE FROM enterprise_data_clockevent WHERE id = -1")
        conn.rollback()
    finally:
        conn.close()
