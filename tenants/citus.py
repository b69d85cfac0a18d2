"""Citus schema-based sharding (issue 18 §5; docs/scaling.md, "Citus").

On a Citus 12+ coordinator each enterprise schema is a *distributed schema*: its tables are
single-shard tables placed together on one worker node, and `citus_schema_move` moves the whole
enterprise to another node. Everything here is a no-op on plain PostgreSQL (no `citus`
extension): the product runs unchanged there, and CI has no Citus.

- `citus_present()` — is the extension installed in this database (asked once per connection).
- `reference_tables_ensure()` — the public tables that enterprise schemas point to with foreign
  keys (`REFERENCE_TABLES`) become reference tables, copied to every node; converting them
  resets their identity counters, so each sequence is set back to `max(id)` afterwards. Called by
  `template_schema_sync` (after every deploy's `migrate`).
- `schema_distribute(name)` — `citus_schema_distribute()` on a schema built on the coordinator.
  A schema created while `citus.enable_schema_based_sharding` is on is listed as distributed but
  its tables stay on the coordinator or untracked (issue 18): provisioning therefore builds the
  schema with sharding off (`sharding_off()`), then distributes it.
- `set_local_propagated(cursor)` — `SET LOCAL citus.propagate_set_commands = 'local'`, so a
  `SET LOCAL portal.…` switch that a trigger reads (the ledger's purge) reaches the workers.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

# Public (shared) tables that enterprise tables reference: Citus only allows foreign keys from a
# distributed schema's tables to reference tables. Order matters: a reference table may only point
# to reference tables (auth_permission -> django_content_type). tests/test_citus_static.py checks
# that the template's foreign keys into the public schema point only to these.
REFERENCE_TABLES = ("django_content_type", "auth_permission", "auth_group", "accounts_user")

_PRESENT_ATTRIBUTE = "_portal_citus_present"


def citus_present(using: BaseDatabaseWrapper | None = None) -> bool:
    """Whether the `citus` extension is installed in this connection's database. Remembered on
    the connection object (one query per new connection; a closed connection asks again)."""
    conn = using or connection
    raw = conn.connection
    cached = getattr(conn, _PRESENT_ATTRIBUTE, None)
    if cached is not None and cached[0] is raw and raw is not None:
        return bool(cached[1])
    with conn.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")
        present = bool(cursor.fetchone()[0])
    setattr(conn, _PRESENT_ATTRIBUTE, (conn.connection, present))
    return present


def set_local_propagated(cursor: Any) -> None:
    """Make this transaction's later `SET LOCAL` commands reach the workers' connections too.
    Sent only where the extension is installed: elsewhere `citus.*` is no setting at all."""
    if citus_present():
        cursor.execute("SET LOCAL citus.propagate_set_commands = 'local'")


def sharding_off(cursor: Any) -> None:
    """New schemas of this transaction are plain coordinator schemas (distributed explicitly)."""
    if citus_present():
        cursor.execute("SET LOCAL citus.enable_schema_based_sharding = off")


def schema_is_distributed(name: str) -> bool:
    if not citus_present():
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_dist_schema WHERE schemaid::regnamespace::text = %s)", [name])
        return bool(cursor.fetchone()[0])


def schema_distribute(name: str) -> bool:
    """Turn schema `name` (built on the coordinator) into a distributed schema placed whole on one
    node. False (and nothing done) on plain PostgreSQL or when it is distributed already. Its
    sequences need no resetting: Citus gives a distributed table's bigint sequences a range per
    node (from 2^48 up on the first worker), above every id the template's rows carry."""
    if not citus_present() or schema_is_distributed(name):
        return False
    with connection.cursor() as cursor:
        # the enterprise tables have triggers (append-only ledger, clock events): Citus refuses to
        # distribute such a table unless told the triggers are safe (they touch only their schema)
        cursor.execute("SET LOCAL citus.enable_unsafe_triggers = on")
        cursor.execute("SELECT citus_schema_distribute(%s::regnamespace)", [f'"{name}"'])
    return True


def schema_node(name: str) -> tuple[str, int] | None:
    """The (host, port) of the node holding distributed schema `name`, else None. Read from the
    metadata tables: the `citus_shards` view would also size every shard of the cluster, through
    connections of its own that wait for this transaction's locks (a schema distributed earlier in
    it)."""
    if not citus_present():
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT n.nodename, n.nodeport FROM pg_dist_schema ds
               JOIN pg_dist_partition p ON p.colocationid = ds.colocationid
               JOIN pg_dist_shard s ON s.logicalrelid = p.logicalrelid
               JOIN pg_dist_placement pl ON pl.shardid = s.shardid
               JOIN pg_dist_node n ON n.groupid = pl.groupid
               WHERE ds.schemaid = %s::regnamespace LIMIT 1""",
            [f'"{name}"'],
        )
        row = cursor.fetchone()
    return (str(row[0]), int(row[1])) if row else None


def reference_tables_ensure() -> list[str]:
    """Convert `REFERENCE_TABLES` (public schema) to reference tables, those not converted yet.
    Returns the tables converted; [] on plain PostgreSQL.

    Converting a table — to a reference table, or to a Citus local table, which Citus does by
    itself to every table with a foreign key to a reference table (tenants_enterprise, …) —
    resets its identity counter to 1: every table Citus took in here gets its sequences set back
    to max (`identities_reset`)."""
    if not citus_present():
        return []
    converted = []
    with connection.cursor() as cursor:
        before = _citus_relations(cursor)
        for table in REFERENCE_TABLES:
            if _is_reference_table(cursor, table):
                continue
            # a plain table, or a Citus local one (made so by a foreign key to a reference table)
            cursor.execute("SELECT create_reference_table(%s::regclass)", [f"public.{table}"])
            converted.append(table)
        # Tables with a foreign key to a reference table became Citus local tables "automatically";
        # Citus turns such a table back into a plain one when that key is dropped, which fails on a
        # table with an identity column (every Django BigAutoField): a later migration dropping a
        # foreign key would stop there. Adding them to the metadata explicitly keeps them.
        cursor.execute(
            "SELECT citus_add_local_table_to_metadata(logicalrelid, cascade_via_foreign_keys => false) "
            "FROM pg_dist_partition WHERE autoconverted"
        )
        identities_reset(cursor, sorted(_citus_relations(cursor) - before))
    return converted


def _citus_relations(cursor: Any) -> set[int]:
    cursor.execute("SELECT logicalrelid::oid FROM pg_dist_partition")
    return {int(row[0]) for row in cursor.fetchall()}


def _is_reference_table(cursor: Any, table: str) -> bool:
    """A reference table: not hash-distributed, replicated to every node by two-phase commit (what
    the `citus_tables` view calls 'reference'; read from the metadata table, since that view also
    sizes every shard of the cluster — slow with thousands of enterprises, and blocked by this
    transaction's own locks once it has distributed a schema)."""
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = %s::regclass "
        "AND partmethod = 'n' AND repmodel = 't')",
        [f"public.{table}"],
    )
    return bool(cursor.fetchone()[0])


_SEQUENCES = """
    SELECT c.oid::regclass::text, a.attname, pg_get_serial_sequence(c.oid::regclass::text, a.attname)
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.oid = ANY(%s) AND pg_get_serial_sequence(c.oid::regclass::text, a.attname) IS NOT NULL
"""


def identities_reset(cursor: Any, relations: list[int]) -> None:
    """Set each identity / serial sequence of these tables (oids) to the column's max (the next
    value is max + 1; 1 when empty). Only for tables Citus has just converted: a sequence set back
    under live inserts could hand out an id twice."""
    if not relations:
        return
    cursor.execute(_SEQUENCES, [relations])
    for table, column, sequence in cursor.fetchall():
        cursor.execute(
            f'SELECT setval(%s, coalesce(max("{column}"), 1), max("{column}") IS NOT NULL) FROM {table}',  # noqa: S608
            [sequence],
        )

