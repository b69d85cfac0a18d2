"""One run at a time: a transaction-level advisory lock held around work that commits in several
transactions (issue 18 §4).

Session-level advisory locks (`pg_try_advisory_lock` … `pg_advisory_unlock`) break behind a
transaction pooler: the unlock may reach another server connection, and a lock left on a server
connection is inherited by whichever client gets it next. `exclusive_run` takes
`pg_try_advisory_xact_lock` instead, in a transaction of a connection of its own that stays open
for the run (a copy of the default connection: the same database, through the same pooler, if
any): the run's own transactions (its batches, its progress) commit on the usual
connection as before, and the lock ends with the holder's transaction — at the end of the block,
or when the worker dies and its connection with it. Behind PgBouncer the open transaction pins
one server connection for the run's length (docs/operations.md, "Connection pooling").

Lock keys are those of the session-level locks they replace: an int and/or a text hashed with
`hashtext`, so a holder of the old kind and of the new kind exclude each other."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections


def _key_sql(key: tuple[int | str, ...]) -> str:
    if not 1 <= len(key) <= 2:
        raise ValueError("An advisory lock key has one or two parts.")
    return ", ".join("hashtext(%s)" if isinstance(part, str) else "%s" for part in key)


@contextmanager
def exclusive_run(*key: int | str) -> Iterator[bool]:
    """Yield True when this run holds the lock `key` for the block, False at once when another
    run holds it (the caller then skips its work)."""
    holder = connections[DEFAULT_DB_ALIAS].copy()  # the same database, through the same pooler
    try:
        holder.set_autocommit(False)
        with holder.cursor() as cursor:
            cursor.execute(f"SELECT pg_try_advisory_xact_lock({_key_sql(key)})", list(key))
            held = bool(cursor.fetchone()[0])
        yield held
    finally:
        try:
            holder.rollback()  # ends the transaction, and with it the lock
        except DatabaseError:
            pass  # the connection broke: its transaction, and the lock, are gone already
        finally:
            holder.close()
