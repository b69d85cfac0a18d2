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
- `enterprises_distribute()` — for a database moved onto Citus: the reference tables, then every
  enterprise schema not distributed yet, one transaction each (`manage.py
  citus_distribute_enterprises`; resumable, a second run does only what is left).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django_tenants.utils import get_tenant_model

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


# --- distributing the enterprises of a database moved onto Citus ---------------------------------


@dataclass
class DistributionPlan:
    """What `enterprises_distribute` finds: enterprise schemas to distribute, those distributed
    already, and enterprises whose schema does not exist (dropped after termination)."""

    pending: list[str] = field(default_factory=list)
    distributed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # asked for, but no enterprise's schema


@dataclass
class DistributionOutcome:
    citus: bool
    plan: DistributionPlan = field(default_factory=DistributionPlan)
    reference_tables: list[str] = field(default_factory=list)  # converted by this run
    distributed: list[str] = field(default_factory=list)  # by this run
    failed: dict[str, str] = field(default_factory=dict)  # schema -> the database's error


def distribution_plan(*, schemas: Sequence[str] | None = None) -> DistributionPlan:
    """The schemas of enterprises (rows of the tenant model), sorted, without the public schema
    and the template (which stays a plain schema on the coordinator: provisioning builds new
    enterprises from it there). Pool schemas have no enterprise row and are left alone: a claimed
    pool schema is distributed at sign-up (`Enterprise.create_schema`). `schemas` narrows it."""
    excluded = {settings.PUBLIC_SCHEMA_NAME, settings.TENANT_BASE_SCHEMA}
    names = sorted(
        name
        for name in get_tenant_model().objects.values_list("schema_name", flat=True)
        if name not in excluded and (schemas is None or name in schemas)
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [names])
        existing = {row[0] for row in cursor.fetchall()}
    plan = DistributionPlan(unknown=sorted(set(schemas or ()) - set(names)))
    for name in names:
        if name not in existing:
            plan.missing.append(name)
        elif schema_is_distributed(name):
            plan.distributed.append(name)
        else:
            plan.pending.append(name)
    return plan


def enterprises_distribute(
    *,
    schemas: Sequence[str] | None = None,
    dry_run: bool = False,
    say: Callable[[str], None] = lambda line: None,
) -> DistributionOutcome:
    """Make a database moved onto Citus look like one provisioned there: the public tables
    enterprises point to become reference tables (`reference_tables_ensure`), then every
    enterprise schema not distributed yet is distributed, each in a transaction of its own (a
    failure leaves the others done; running again does only what is left). Nothing on plain
    PostgreSQL (`outcome.citus` is False). `say` receives one line per step.

    `citus_schema_distribute` copies the schema's tables to a worker: that enterprise's writes
    wait for its transaction (seconds for a small schema)."""
    if not citus_present():
        return DistributionOutcome(citus=False)
    outcome = DistributionOutcome(citus=True)
    if dry_run:
        say("reference tables: not converted (dry run)")
    else:
        with transaction.atomic():
            outcome.reference_tables = reference_tables_ensure()
        converted = ", ".join(outcome.reference_tables)
        say(f"reference tables: converted {converted}" if converted else "reference tables: already in place")
    outcome.plan = plan = distribution_plan(schemas=schemas)
    say(
        f"{len(plan.pending)} enterprise schema(s) to distribute, {len(plan.distributed)} distributed already"
        + (f", {len(plan.missing)} without a schema ({', '.join(plan.missing)})" if plan.missing else "")
        + (f"; not an enterprise's schema, left alone: {', '.join(plan.unknown)}" if plan.unknown else "")
    )
    for number, name in enumerate(plan.pending, 1):
        prefix = f"[{number}/{len(plan.pending)}] {name}"
        if dry_run:
            say(f"{prefix}: would be distributed")
            continue
        started = time.monotonic()
        try:
            with transaction.atomic():
                schema_distribute(name)
        except DatabaseError as error:
            outcome.failed[name] = (str(error).strip().splitlines() or [repr(error)])[0]
            say(f"{prefix}: FAILED: {outcome.failed[name]}")
            continue
        outcome.distributed.append(name)
        node = schema_node(name)
        where = f" to {node[0]}:{node[1]}" if node else ""
        say(f"{prefix}: distributed{where} in {time.monotonic() - started:.1f} s")
    return outcome
