"""One run at a time: a transaction-level advisory lock held around work that commits in several
transactions (issue 18 §4).

Session-level advisory locks (`pg_try_advisory_lock` … `pg_advisory_unlock`) break behind a
transaction pooler: the unlock may reach another server connection, and a lock left on a server
connection is inherited by whichever client gets it next. `exclusive_run` takes
`pg_try_advisory_xact_lock` instead, in a transaction of a connection of its own that stays open
for the run (a copy of the default connection — the same database, through the same pooler, if
any — kept while the default connection is, since a new connection per run costs tens of
milliseconds): the run's own transactions (its batches, its progress) commit on the usual
connection as before, and the lock ends with the holder's transaction — at the end of the block,
or when the worker dies and its connection with it. Behind PgBouncer the open transaction pins
one server connection for the run's length (docs/operations.md, "Connection pooling").

Lock keys are those of the session-level locks they replace: an int and/or a text hashed with
`hashtext`, so a holder of the old kind and of the new kind exclude each other."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from tenants.postgresql_backend.base import DatabaseWrapper


def _key_sql(key: tuple[int | str, ...]) -> str:
    if not 1 <= len(key) <= 2:
        raise ValueError("An advisory lock key has one or two parts.")
    return ", ".join("hashtext(%s)" if isinstance(part, str) else "%s" for part in key)


def _try_lock(holder: BaseDatabaseWrapper, key: tuple[int | str, ...]) -> bool:
    """BEGIN, then try the lock: a driver cursor (the statement names no table, so it needs no
    search_path, and no health check: a broken connection fails here and is replaced)."""
    holder.ensure_connection()
    holder.set_autocommit(False)
    with holder.wrap_database_errors, holder.connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_try_advisory_xact_lock({_key_sql(key)})", list(key))
        return bool(cursor.fetchone()[0])


@contextmanager
def exclusive_run(*key: int | str) -> Iterator[bool]:
    """Yield True when this run holds the lock `key` for the block, False at once when another
    run holds it (the caller then skips its work)."""
    default = connections[DEFAULT_DB_ALIAS]
    holder: BaseDatabaseWrapper = default
    kept = isinstance(default, DatabaseWrapper) and (holder := default.run_lock_holder()).get_autocommit()
    if not kept:  # another backend, or a run inside a run: a connection for this one
        holder = default.copy()
    try:
        try:
            held = _try_lock(holder, key)
        except (OperationalError, InterfaceError):
            if not kept:
                raise
            holder.close()  # the server or the pooler closed the kept connection: a new one
            held = _try_lock(holder, key)
        yield held
    finally:
        try:
            holder.rollback()  # ends the transaction, and with it the lock
            holder.set_autocommit(True)
        except DatabaseError:  # the connection broke: its transaction, and the lock, are gone already
            holder.close()
        if not kept:
            holder.close()
