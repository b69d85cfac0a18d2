"""Repairs after django-tenants' `clone_schema` (TEN-3).

The clone re-creates unique constraints (and their indexes) under names PostgreSQL generates
(`<table>_<column>_key`) instead of the names the migrations gave them. A later migration that
drops or alters such a constraint by name would then fail on every cloned enterprise, so the
clone is brought back to the template's names: constraints and indexes are paired by table,
kind and definition, and renamed. tests/tenants/test_provisioning.py compares the catalogues."""

from __future__ import annotations

from django.db import connection
from django_tenants.clone import CloneSchema

_CONSTRAINT_PAIRS = """
    SELECT rel.relname, clone.conname, tmpl.conname
    FROM pg_constraint tmpl
    JOIN pg_class rel_t ON rel_t.oid = tmpl.conrelid
    JOIN pg_namespace ns_t ON ns_t.oid = tmpl.connamespace AND ns_t.nspname = %(template)s
    JOIN pg_namespace ns_c ON ns_c.nspname = %(clone)s
    JOIN pg_class rel ON rel.relnamespace = ns_c.oid AND rel.relname = rel_t.relname
    JOIN pg_constraint clone ON clone.conrelid = rel.oid AND clone.contype = tmpl.contype
         AND pg_get_constraintdef(clone.oid) = pg_get_constraintdef(tmpl.oid)
    WHERE clone.conname <> tmpl.conname
      AND NOT EXISTS (SELECT 1 FROM pg_constraint same WHERE same.conrelid = rel.oid AND same.conname = tmpl.conname)
"""

_INDEX_PAIRS = """
    SELECT clone.indexname, tmpl.indexname
    FROM pg_indexes tmpl
    JOIN pg_indexes clone ON clone.schemaname = %(clone)s AND clone.tablename = tmpl.tablename
         AND replace(clone.indexdef, 'INDEX ' || clone.indexname || ' ON ' || %(clone)s || '.', '')
           = replace(tmpl.indexdef, 'INDEX ' || tmpl.indexname || ' ON ' || %(template)s || '.', '')
    WHERE tmpl.schemaname = %(template)s AND clone.indexname <> tmpl.indexname
      AND NOT EXISTS (SELECT 1 FROM pg_indexes same WHERE same.schemaname = %(clone)s
                      AND same.indexname = tmpl.indexname)
"""


def clone_names_align(*, template: str, clone: str) -> int:
    """Rename the clone's constraints and indexes to the template's names. Returns the count."""
    renamed = 0
    params = {"template": template, "clone": clone}
    with connection.cursor() as cursor:
        cursor.execute(_CONSTRAINT_PAIRS, params)
        seen: set[tuple[str, str]] = set()
        for table, current, wanted in cursor.fetchall():
            if (table, current) in seen:  # ambiguous pairing: leave it for the test to report
                continue
            seen.add((table, current))
            cursor.execute(f'ALTER TABLE "{clone}"."{table}" RENAME CONSTRAINT "{current}" TO "{wanted}"')
            renamed += 1
        cursor.execute(_INDEX_PAIRS, params)
        for current, wanted in cursor.fetchall():
            cursor.execute(f'ALTER INDEX "{clone}"."{current}" RENAME TO "{wanted}"')
            renamed += 1
    return renamed


_clone_function_installed: set[str] = set()


def clone_template_schema(*, template: str, new: str) -> None:
    """Create schema `new` as a copy of `template`, tables, data (the migration records) and all,
    with the template's constraint and index names (TEN-3).

    django-tenants would re-install its PL/pgSQL `clone_schema` function on every call and then
    run a fake `migrate` that changes nothing (the records are copied with the data, and
    `template_schema_check` has made sure the template is current); both cost more than the
    copy of a small schema, so the function is installed once per process and database."""
    database = str(connection.settings_dict["NAME"])
    with connection.cursor() as cursor:
        if database not in _clone_function_installed:
            CloneSchema()._create_clone_schema_function()
            _clone_function_installed.add(database)
        cursor.execute("SELECT clone_schema(%s, %s, 'DATA')", [template, new])
    clone_names_align(template=template, clone=new)
