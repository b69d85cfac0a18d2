"""Run locks (issue 18 §4; tenants.locks): transaction-level advisory locks held for a run by a
transaction of a second connection, kept with the default connection. Through PgBouncer:
tests/tenants/test_pgbouncer.py."""

from __future__ import annotations

import threading
import time

from django.db import connection, connections

from tenants.locks import exclusive_run

KEY = (0x7E57, "run-lock-test")


def _session_try(other, key=KEY) -> bool:
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", list(key))
        taken = bool(cursor.fetchone()[0])
        if taken:
            cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", list(key))
        return taken


def test_the_lock_lives_in_the_holders_transaction_and_ends_with_it(db):
    other = connections.create_connection("default")
    try:
        with exclusive_run(*KEY) as held:
            assert held
            assert not _session_try(other)  # a holder of the old, session-level kind is excluded too
            holder = connection.run_lock_holder()
            with other.cursor() as cursor:
                cursor.execute(
                    "SELECT l.mode, a.state FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                    "WHERE l.locktype = 'advisory' AND l.pid = %s",
                    [holder.connection.get_backend_pid()],
                )
                assert cursor.fetchall() == [("ExclusiveLock", "idle in transaction")]
        assert _session_try(other)
        assert holder.get_autocommit()  # back to autocommit, kept for the next run
    finally:
        other.close()


def test_a_second_run_skips_and_a_run_inside_a_run_gets_a_connection_of_its_own(db):
    with exclusive_run(*KEY) as outer:
        assert outer
        with exclusive_run(KEY[0], "another") as inner:  # the kept holder is busy
            assert inner
        with exclusive_run(*KEY) as again:
            assert not again
    with exclusive_run(*KEY) as after:
        assert after


def test_a_kept_holder_the_server_closed_is_replaced(db):
    with exclusive_run(*KEY):
        pass
    holder = connection.run_lock_holder()
    pid = holder.connection.get_backend_pid()
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            for _attempt in range(50):
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
                if cursor.fetchone()[0] == 0:
                    break
                time.sleep(0.1)
        with exclusive_run(*KEY) as held:
            assert held
            assert holder.connection.get_backend_pid() != pid
    finally:
        other.close()


def test_the_holder_is_closed_with_the_default_connection(db):
    seen: dict[str, object] = {}

    def worker() -> None:
        try:
            with exclusive_run(*KEY) as held:
                seen["held"] = held
            holder = connection.run_lock_holder()
            seen["open"] = holder.connection is not None
        finally:
            connection.close()
            seen["closed"] = holder.connection is None

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(30)
    assert seen == {"held": True, "open": True, "closed": True}
