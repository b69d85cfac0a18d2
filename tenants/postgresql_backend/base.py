"""The database backend: django-tenants' schema switching, made safe behind a transaction pooler
(issue 18 §4; docs/operations.md, "Connection pooling").

django-tenants routes a connection to an enterprise with a session-level `SET search_path`, and
with `TENANT_LIMIT_SET_CALLS` only when the schema changes. Behind PgBouncer in transaction mode
the client's next transaction may run on another server connection, whose search_path another
client set: one enterprise reads another's rows (reproduced with PgBouncer 1.18;
tests/tenants/test_pgbouncer.py).

With `POOL_MODE = "transaction"` in the alias's settings (`DATABASE_POOL_MODE=transaction` in the
environment) this backend sets no session-level search_path at all. Every transaction starts
with `SET LOCAL search_path = …` sent in the same simple-query message as its first statement:

- in a transaction (`atomic()`), psycopg2 sends `BEGIN`, then the first statement prefixed with
  the `SET LOCAL`; a schema switch inside the transaction, or a rollback to a savepoint, prefixes
  the next statement again;
- in autocommit, every statement is prefixed: PostgreSQL runs a multi-statement message as one
  implicit transaction, and PgBouncer keeps one server connection for a message, so the
  statement and its search_path travel together and cost no extra round trip.

`SET LOCAL` ends with the transaction, so nothing is left on the server connection for the next
client. Statements that cannot run in a transaction (`VACUUM`, `… CONCURRENTLY`,
`CREATE DATABASE`) and transaction control are sent unprefixed: run migrations and maintenance
against PostgreSQL directly, not through the pooler. Server-side cursors are refused in this
mode (`DISABLE_SERVER_SIDE_CURSORS`, checked at start-up by tenants.checks); psycopg2's
`copy_expert`/`callproc` are not routed (nothing here uses them: inside `atomic()` after a first
statement they are safe).

Without `POOL_MODE = "transaction"` the backend is django-tenants' own, unchanged.

Citus (issue 18 §5): a foreign-key violation found on a worker — a deferred constraint checked at
commit, or a statement the coordinator forwarded — reaches the client as an internal error
(SQLSTATE XX000, psycopg2's InternalError) carrying PostgreSQL's own message, where plain
PostgreSQL raises 23503 (IntegrityError). `wrap_database_errors` turns such an InternalError whose
message is a foreign-key violation into Django's IntegrityError, so every `except IntegrityError`
of the product behaves the same on both. Nothing else changes on plain PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import psycopg2
import psycopg2.extensions
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.utils import DatabaseErrorWrapper, IntegrityError
from django.utils.functional import cached_property
from django_tenants.postgresql_backend import base as tenants_base
from django_tenants.utils import quote_schema_name

TRANSACTION_POOLING = "transaction"
POOL_MODES = ("", "session", TRANSACTION_POOLING)

# Statements PostgreSQL refuses inside a transaction block, and transaction control itself.
_UNSCOPED = re.compile(
    r"^\s*(?:VACUUM|CREATE\s+DATABASE|DROP\s+DATABASE|ALTER\s+SYSTEM|(?:CREATE|DROP)\s+TABLESPACE|"
    r"BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE|PREPARE\s+TRANSACTION)\b"
    r"|\bCONCURRENTLY\b",
    re.IGNORECASE,
)


# PostgreSQL's message for 23503, as Citus passes it on inside an XX000 error
_FOREIGN_KEY_VIOLATION = re.compile(r"violates foreign key constraint|is still referenced from table")


def is_foreign_key_violation(error: BaseException) -> bool:
    """A foreign-key violation, whether PostgreSQL (23503) or a Citus worker (XX000) reported it."""
    cause = error.__cause__ if error.__cause__ is not None else error
    code = getattr(cause, "pgcode", None)
    if code == "23503":
        return True
    return code in (None, "XX000") and bool(_FOREIGN_KEY_VIOLATION.search(str(error)))


class CitusErrorWrapper(DatabaseErrorWrapper):
    """Django's error wrapper, with Citus' internal errors for foreign-key violations raised as
    IntegrityError (as PostgreSQL's own are).

    At commit Citus says only "could not commit transaction for shard … on at least one active
    node" (XX000); the worker's own message arrives just before it as a WARNING, which psycopg2
    keeps in the connection's `notices`: a foreign-key violation there makes the error an
    IntegrityError carrying that message."""

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        if exc_type is not None and issubclass(exc_type, psycopg2.InternalError):
            worker_said = self._worker_warnings()
            if is_foreign_key_violation(exc_value) or _FOREIGN_KEY_VIOLATION.search(worker_said):
                message = f"{exc_value}\n{worker_said}".strip()
                raise IntegrityError(message).with_traceback(traceback) from exc_value
        super().__exit__(exc_type, exc_value, traceback)

    def _worker_warnings(self) -> str:
        """The WARNINGs the server sent since the last error (then forgotten)."""
        raw = getattr(getattr(self, "wrapper", None), "connection", None)
        notices = getattr(raw, "notices", None)
        if not notices:
            return ""
        said = "".join(notice for notice in notices if notice.startswith("WARNING"))
        del notices[:]
        return said


class ScopedSearchPathCursor(psycopg2.extensions.cursor):
    """A psycopg2 cursor whose statements carry the transaction's `SET LOCAL search_path`.

    `database` is set by DatabaseWrapper.create_cursor; a cursor made elsewhere (Django's
    time-zone set-up, health checks) has none and sends its statements as they are."""

    database: DatabaseWrapper | None = None

    def execute(self, query: Any, vars: Any = None) -> None:  # noqa: A002 — psycopg2's name
        if self.database is not None:
            query = self.database.scoped(self, query)
        super().execute(query, vars)

    def executemany(self, query: Any, vars_list: Any) -> None:
        if self.database is not None:
            query = self.database.scoped(self, query)
        super().executemany(query, vars_list)


class DatabaseWrapper(tenants_base.DatabaseWrapper):
    _setting_search_path: bool  # django-tenants': a SET of its own is being sent

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # the SET LOCAL already sent in the current transaction (None: none yet)
        self._local_search_path: str | None = None
        self._set_local_cache: dict[tuple[str, bool], str] = {}
        self._run_lock_holder: DatabaseWrapper | None = None
        # the enterprise schemas this connection has worked in since it was opened (issue 18 §1)
        self._schemas_used: set[str] = set()
        super().__init__(*args, **kwargs)
        self.pools_transactions = self.settings_dict.get("POOL_MODE", "") == TRANSACTION_POOLING

    # --- bounded backend memory (issue 18 §1) ---

    def close_if_unusable_or_obsolete(self) -> None:
        """Django's check between requests and tasks, plus: a connection that has worked in more
        than DATABASE_SCHEMAS_PER_CONNECTION schemas is closed. A PostgreSQL backend keeps the
        catalogue and relation caches of every schema it has read (~0.12 MB each, docs/scaling.md),
        so a long-lived connection serving every enterprise would grow without bound."""
        super().close_if_unusable_or_obsolete()
        limit = settings.DATABASE_SCHEMAS_PER_CONNECTION
        if self.connection is not None and limit and len(self._schemas_used) > limit:
            self.close()

    def connect(self) -> None:
        self._schemas_used = set()
        super().connect()

    @cached_property
    def wrap_database_errors(self) -> DatabaseErrorWrapper:
        return CitusErrorWrapper(self)

    # --- the connection and its cursors ---

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if self.pools_transactions:
            connection.cursor_factory = ScopedSearchPathCursor
        return connection

    def create_cursor(self, name: str | None = None) -> Any:
        if name and self.pools_transactions and self.connection.autocommit:
            raise ImproperlyConfigured(
                "Server-side cursors outside a transaction cannot work behind a transaction pooler: "
                "set DISABLE_SERVER_SIDE_CURSORS (issue 18 §4)."
            )
        cursor = super().create_cursor(name)
        if isinstance(cursor, ScopedSearchPathCursor):
            cursor.database = self
        return cursor

    def _handle_search_path(self, cursor: Any = None) -> None:
        if self.schema_name:
            self._schemas_used.add(self.schema_name)
        if not self.pools_transactions:
            super()._handle_search_path(cursor)
            return
        if cursor is None and not self._setting_search_path:
            # a named (server-side) cursor, inside a transaction (create_cursor refuses the
            # others): it can run one statement only, so the SET LOCAL goes first on its own
            self._setting_search_path = True
            try:
                with self.connection.cursor() as plain:
                    plain.execute(self._set_local())
                self._local_search_path = self._set_local()
            finally:
                self._setting_search_path = False
        # otherwise nothing at the session level: every statement carries it (scoped())

    def _set_local(self) -> str:
        key = (str(self.schema_name), bool(self.include_public_schema))
        statement = self._set_local_cache.get(key)
        if statement is None:
            paths = ",".join(quote_schema_name(path) for path in self._get_cursor_search_paths())
            if "%" in paths:  # the statement is formatted with the caller's parameters, if any
                raise ImproperlyConfigured("A schema name with '%' cannot be used behind a transaction pooler.")
            statement = self._set_local_cache[key] = f"SET LOCAL search_path = {paths}"
        return statement

    def scoped(self, cursor: Any, query: Any) -> Any:
        """`query`, prefixed with the transaction's `SET LOCAL search_path` when it needs it."""
        if self._setting_search_path:
            return query
        if isinstance(query, bytes):
            query = query.decode()
        elif not isinstance(query, str):  # psycopg2.sql.Composable
            query = query.as_string(cursor)
        if _UNSCOPED.search(query):
            return query
        set_local = self._set_local()
        if not cursor.connection.autocommit:
            if self._local_search_path == set_local:
                return query
            self._local_search_path = set_local
        return f"{set_local}; {query}"

    # --- the run-lock holder (tenants.locks) ---

    def run_lock_holder(self) -> DatabaseWrapper:
        """A second connection to the same database (through the same pooler, if any), kept while
        this one is: it holds the run locks of tenants.locks.exclusive_run in a transaction of its
        own. Kept, because a new PostgreSQL connection for every run costs tens of milliseconds."""
        if self._run_lock_holder is None:
            self._run_lock_holder = self.copy()
        return self._run_lock_holder

    def close(self) -> None:
        holder = self._run_lock_holder
        try:
            super().close()
        finally:
            if holder is not None and (holder.connection is None or holder.autocommit):  # not while it holds a lock
                self._run_lock_holder = None
                holder.close()

    # --- a transaction's end forgets its SET LOCAL ---

    def _commit(self) -> None:
        self._local_search_path = None
        super()._commit()

    def _rollback(self) -> None:
        self._local_search_path = None
        super()._rollback()

    def _savepoint_rollback(self, sid: str) -> None:
        try:
            super()._savepoint_rollback(sid)
        finally:
            self._local_search_path = None

    def _set_autocommit(self, autocommit: bool) -> None:
        self._local_search_path = None
        super()._set_autocommit(autocommit)

    def _close(self) -> None:
        self._local_search_path = None
        super()._close()
