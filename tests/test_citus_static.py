"""Issue 18 §5: what keeps the product deployable on Citus schema-based sharding, checked in
normal CI on plain PostgreSQL (no Citus needed; docs/scaling.md, "Citus"):

- every RunSQL entry of every migration is one statement (Citus refuses several commands in one
  on a distributed schema);
- no trigger function uses a transition table but to read it alone into an array (Citus fails
  on a query joining one with a table: "unrecognized RTE kind: 7");
- no `RENAME CONSTRAINT` in the code (Citus refuses it; `ALTER INDEX … RENAME` renames an
  index-backed constraint);
- enterprise tables point into the public schema only at the reference tables;
- a foreign-key violation reported by a Citus worker (XX000) is raised as IntegrityError."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import psycopg2
import pytest
import sqlparse
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import RunSQL
from django.test.utils import CaptureQueriesContext

from tenants.citus import REFERENCE_TABLES, citus_present
from tenants.postgresql_backend.base import is_foreign_key_violation

ROOT = Path(__file__).resolve().parent.parent


def _runsql_entries() -> list[tuple[str, str]]:
    loader = MigrationLoader(None, ignore_no_migrations=True, load=True)
    entries = []
    for (app, name), migration in sorted(loader.disk_migrations.items()):
        for operation in migration.operations:
            if not isinstance(operation, RunSQL):
                continue
            for sql in (operation.sql, operation.reverse_sql):
                if sql is None or sql == RunSQL.noop:
                    continue
                for entry in sql if isinstance(sql, (list, tuple)) else [sql]:
                    text = entry[0] if isinstance(entry, (list, tuple)) else entry
                    entries.append((f"{app}.{name}", str(text)))
    return entries


def test_every_runsql_entry_is_one_statement():
    entries = _runsql_entries()
    assert entries, "the migrations' RunSQL operations were not found"
    several = [
        (where, len(parts))
        for where, text in entries
        if len(parts := [p for p in sqlparse.split(text) if p.strip()]) != 1
    ]
    assert several == [], "write one statement per RunSQL entry (a list): " + repr(several)


def _product_sources() -> list[Path]:
    skip = {".venv", ".data", "node_modules", "locale", "static", ".git"}
    return [
        path
        for path in ROOT.rglob("*.py")
        if not skip.intersection(path.relative_to(ROOT).parts) and path.name != Path(__file__).name
    ]


def test_no_rename_constraint_anywhere():
    found = [
        str(path.relative_to(ROOT))
        for path in _product_sources()
        if re.search(r"RENAME\s+CONSTRAINT", path.read_text(), re.I)
    ]
    assert found == [], "Citus refuses ALTER TABLE … RENAME CONSTRAINT; use ALTER INDEX … RENAME: " + repr(found)


# --- transition tables -------------------------------------------------------------------------

_READ_ALONE = (
    r"SELECT\s+(?:array_agg|count)\s*\([^;]*?\)(?:\s+FILTER\s*\(\s*WHERE\s+[^;]*?\))?\s+INTO\s+\w+\s+FROM\s+{name}\s*"
)


def transition_table_misuses(source: str, names: list[str]) -> list[str]:
    """The statements of a PL/pgSQL body that use one of the transition tables `names` other than
    `SELECT array_agg(…) [FILTER (…)] INTO var FROM <name>`."""
    bad = []
    for statement in source.split(";"):
        flat = " ".join(statement.split())
        for name in names:
            if not re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", flat):
                continue
            if not re.fullmatch(r"(?:.*\bBEGIN\s+)?" + _READ_ALONE.format(name=re.escape(name)), flat, re.I | re.S):
                bad.append(flat)
    return bad


def _template_triggers_with_transition_tables() -> list[tuple[str, str, list[str]]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT t.tgname, p.prosrc, array_remove(ARRAY[t.tgoldtable, t.tgnewtable], NULL)
               FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_class c ON c.oid = t.tgrelid
               WHERE c.relnamespace = %s::regnamespace AND (t.tgoldtable IS NOT NULL OR t.tgnewtable IS NOT NULL)""",
            [settings.TENANT_BASE_SCHEMA],
        )
        return [(name, source, list(tables)) for name, source, tables in cursor.fetchall()]


def test_trigger_functions_read_transition_tables_only_into_arrays(world):
    triggers = _template_triggers_with_transition_tables()
    assert len(triggers) >= 5  # the clock-event links (enterprise_data 0008, functions replaced by 0013)
    bad = {name: misuse for name, source, tables in triggers if (misuse := transition_table_misuses(source, tables))}
    assert bad == {}, "Citus workers cannot join a transition table: " + repr(bad)


def test_the_transition_table_check_catches_a_join():
    """The check refuses what 0008 did (it would pass anything if its pattern were wrong)."""
    old = """BEGIN IF NOT EXISTS (SELECT 1 FROM deleted_events) THEN RETURN NULL; END IF;
        EXECUTE format('DELETE FROM %I.x AS d USING deleted_events AS e WHERE d.event_id = e.id', TG_TABLE_SCHEMA);"""
    assert len(transition_table_misuses(old, ["deleted_events"])) == 2
    new = (
        "DECLARE ids bigint[]; BEGIN SELECT array_agg(DISTINCT event_id) FILTER (WHERE event_id IS NOT NULL) "
        "INTO ids FROM new_details;"
    )
    assert transition_table_misuses(new, ["new_details"]) == []


# --- foreign keys into the public schema ---------------------------------------------------------


def test_enterprise_tables_reference_only_the_reference_tables_in_the_public_schema(world):
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT DISTINCT target.relname FROM pg_constraint k
               JOIN pg_class source ON source.oid = k.conrelid JOIN pg_class target ON target.oid = k.confrelid
               WHERE k.contype = 'f' AND source.relnamespace = %s::regnamespace
                 AND target.relnamespace <> source.relnamespace""",
            [settings.TENANT_BASE_SCHEMA],
        )
        targets = {row[0] for row in cursor.fetchall()}
    assert targets, "the template's foreign keys into the public schema were not found"
    assert targets <= set(REFERENCE_TABLES), sorted(targets - set(REFERENCE_TABLES))


def test_enterprise_models_point_into_the_public_schema_only_at_reference_tables():
    shared_only = set(settings.SHARED_APPS) - set(settings.TENANT_APPS)
    tenant_apps = set(settings.TENANT_APPS)
    wrong = []
    for model in apps.get_models(include_auto_created=True):
        config = model._meta.app_config
        if config.name not in tenant_apps and config.label not in tenant_apps:
            continue
        if config.name in shared_only:
            continue
        for field in model._meta.local_fields:
            if not field.is_relation or not getattr(field, "db_constraint", False):
                continue
            target = field.related_model._meta
            if target.app_config.name in shared_only and target.db_table not in REFERENCE_TABLES:
                wrong.append(f"{model._meta.label}.{field.name} -> {target.db_table}")
    assert wrong == [], "an enterprise table may point into the public schema only at a reference table: " + repr(wrong)


# --- errors --------------------------------------------------------------------------------------

CITUS_FK_MESSAGE = (
    'insert or update on table "enterprise_data_membership_102043" violates foreign key constraint '
    '"enterprise_data_memb_account_id_749b6d9d_fk_accounts__102043"\nDETAIL:  Key (account_id)=(999) is not present.'
)


def test_a_foreign_key_violation_from_a_citus_worker_is_an_integrity_error(db):
    with pytest.raises(IntegrityError) as raised, connection.wrap_database_errors:
        raise psycopg2.InternalError(CITUS_FK_MESSAGE)
    assert isinstance(raised.value.__cause__, psycopg2.InternalError)
    assert is_foreign_key_violation(raised.value)


def test_other_internal_errors_stay_internal_errors(db):
    from django.db import InternalError

    with pytest.raises(InternalError), connection.wrap_database_errors:
        raise psycopg2.InternalError("unrecognized RTE kind: 7")


def committed_foreign_key_violation(schema: str) -> None:
    """Commit, on a connection of its own, a membership pointing at an account that does not
    exist (the foreign key is deferred: checked at commit, on the worker under Citus)."""
    other = connection.copy()
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{schema}".enterprise_data_membership SET account_id = -1 '  # noqa: S608 (a schema name)
                f'WHERE id = (SELECT min(id) FROM "{schema}".enterprise_data_membership)'
            )
        other.commit()
    finally:
        if other.connection is not None and not other.get_autocommit():
            other.rollback()
        other.close()


def test_a_real_foreign_key_violation_at_commit_is_an_integrity_error(world):
    with pytest.raises(IntegrityError):
        committed_foreign_key_violation(world.acme.schema_name)


# --- ON CONFLICT DO UPDATE ------------------------------------------------------------------------

# SQL's value functions written without parentheses (all stable)
_VALUE_FUNCTIONS = ("current_timestamp", "current_date", "current_time", "localtime", "localtimestamp")
# Raw SQL of the product that still calls one; each must go (then leave this list). Empty since
# attendance's missing-clock marking (`_MISSING_IN`) takes its `updated_at` as a parameter too.
KNOWN_MUTABLE_DO_UPDATE_SET: list[tuple[str, str]] = []  # (file, function), one call each


def _mutable_function_names() -> set[str]:
    """Functions of which no overload is IMMUTABLE (now, random, to_jsonb, nextval, …)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT proname FROM pg_proc GROUP BY proname HAVING bool_and(provolatile <> 'i')")
        return {row[0].lower() for row in cursor.fetchall()} | set(_VALUE_FUNCTIONS)


def do_update_set_mutable_calls(sql: str, mutable: set[str]) -> list[str]:
    """The non-IMMUTABLE functions called after `ON CONFLICT … DO UPDATE SET` in `sql` (its SET
    list and WHERE): Citus refuses them on a distributed table ("functions used in the DO UPDATE
    SET clause of INSERTs on distributed tables must be marked IMMUTABLE")."""
    found = []
    for match in re.finditer(r"\bDO\s+UPDATE\s+SET\b", sql, re.I):
        tail = sql[match.end() :]
        for name in re.findall(r"\b([a-z_][a-z0-9_]*)\s*\(", tail, re.I):
            if name.lower() in mutable:
                found.append(name.lower())
        for name in _VALUE_FUNCTIONS:
            if re.search(rf"\b{name}\b(?!\s*\()", tail, re.I):
                found.append(name)
    return found


def _string_constants(path: Path) -> list[str]:
    import ast

    tree = ast.parse(path.read_text(), str(path))
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_no_mutable_function_in_do_update_set_of_raw_sql(db):
    mutable = _mutable_function_names()
    found = sorted(
        (str(path.relative_to(ROOT)), name)
        for path in _product_sources()
        for text in _string_constants(path)
        for name in do_update_set_mutable_calls(text, mutable)
    )
    assert found == KNOWN_MUTABLE_DO_UPDATE_SET, (
        "Citus refuses non-IMMUTABLE functions in ON CONFLICT DO UPDATE SET (pass the value as a "
        "parameter, use EXCLUDED.<column> or immutable operators): " + repr(found)
    )


def test_the_do_update_set_check_catches_the_old_clock_in_upsert(db):
    """The check refuses attendance's day upsert as it was (the Citus isolation matrix's 3 errors)."""
    old = """INSERT INTO day AS d (membership_id, date, first_in, exceptions, updated_at)
        VALUES (%(membership)s, %(date)s, %(first_in)s, '[]'::jsonb, now())
        ON CONFLICT (membership_id, date) DO UPDATE SET
            first_in = LEAST(d.first_in, EXCLUDED.first_in),
            exceptions = to_jsonb(array_remove(ARRAY[
                CASE WHEN LEAST(d.first_in, EXCLUDED.first_in) > %(late_at)s THEN 'late' END
            ]::text[], NULL)),
            updated_at = now()"""
    mutable = _mutable_function_names()
    assert do_update_set_mutable_calls(old, mutable) == ["to_jsonb", "now"]
    assert do_update_set_mutable_calls(old.replace("now()", "CURRENT_TIMESTAMP"), mutable) == [
        "to_jsonb",
        "current_timestamp",
    ]
    # what the VALUES list calls is evaluated on the coordinator: not refused, not reported
    assert do_update_set_mutable_calls(old.split("ON CONFLICT")[0], mutable) == []


# --- manage.py citus_distribute_enterprises --------------------------------------------------------


def test_the_distribute_command_says_citus_is_absent_and_changes_nothing(world):
    """On Citus: tests/citus/test_distribute_command.py."""
    if citus_present():
        pytest.skip("this database has Citus (tests/citus/test_distribute_command.py)")
    out = StringIO()
    with CaptureQueriesContext(connection) as queries:
        call_command("citus_distribute_enterprises", stdout=out)
    assert "Citus is not installed in this database" in out.getvalue()
    assert "nothing changed" in out.getvalue()
    statements = [q["sql"] for q in queries.captured_queries]
    assert all(sql.lstrip().upper().startswith("SELECT") for sql in statements), statements
