#!/usr/bin/env python3
"""The no-op deploy migration at scale (issue 18 §1, §3): `PERF-4 noop_migrate_s_per_1000=…`.

`noop_migrate_seconds(schemas)` times `manage.py migrate_fleet`'s path (tenants.migrations_fleet:
the public schema's `migrate`, then the one-query check of every schema's `django_migrations`,
then nothing, every schema being current) over those schemas. `fleet_schemas_create(n)` makes
`n` schemas quickly: each gets the template schema's tables (`CREATE TABLE … (LIKE … INCLUDING
ALL)`: columns, defaults, indexes, constraints other than foreign keys) and its migration
records; without the template's foreign keys, triggers and functions, which the no-op path never
reads. It builds no enterprise rows: the deploy step treats every schema with a
`django_migrations` table as a tenant schema.

Standalone, in a scratch database `<name>_migrscale` on the server of DATABASE_URL (dropped
afterwards, also on errors):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal REDIS_URL=redis://127.0.0.1:6379/3 \\
    SECRET_KEY=bench .venv/bin/python bench/migrate_scale.py --schemas 300

or with the launcher's environment (embedded servers): `eval "$(scripts/launcher.py shell-env)"`
while `make run` runs, then the same command. Prints, scaled linearly to 1,000 schemas:

    PERF-4 noop_migrate_s_per_1000=…
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import positive_int, say  # noqa: E402 (after the path set-up above)

ID = "PERF-4"
SCRATCH_SUFFIX = "_migrscale"
SCHEMA_PREFIX = "migrscale_"
DEFAULT_SCHEMAS = 300
TARGET_S_PER_1000 = 60.0


def noop_migrate_seconds(schemas: list[str], *, workers: int | None = None) -> float:
    """Seconds the deploy step (`migrate_fleet`: public's migrate, the one-query check, the skip)
    takes over `schemas`, every one of which must be current: a schema that was migrated means
    this was no no-op, and raises."""
    from tenants.migrations_fleet import fleet_migrate

    started = time.perf_counter()
    report = fleet_migrate(workers=workers, verbosity=0, schemas=schemas, say=lambda line: None)
    elapsed = time.perf_counter() - started
    if report.pending:
        raise RuntimeError(f"not a no-op: {len(report.pending)} schema(s) lacked migrations")
    return elapsed


def fleet_schemas_create(n: int, *, prefix: str = SCHEMA_PREFIX) -> list[str]:
    """Create `n` schemas `<prefix>0001…` with the template schema's tables and migration records
    (see the module docstring); returns their names. Each schema is created in one statement."""
    from django.conf import settings
    from django.db import OperationalError, connection

    template = settings.TENANT_BASE_SCHEMA
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY 1",
            [template],
        )
        tables = [row[0] for row in cursor.fetchall()]
        if "django_migrations" not in tables:
            raise RuntimeError(f"the template schema {template!r} has no migration records: run sync_template_schema")
        names = [f"{prefix}{index:04d}" for index in range(1, n + 1)]
        for name in names:
            statements = [f'CREATE SCHEMA "{name}"']
            statements += [f'CREATE TABLE "{name}"."{t}" (LIKE "{template}"."{t}" INCLUDING ALL)' for t in tables]
            statements.append(f'INSERT INTO "{name}".django_migrations SELECT * FROM "{template}".django_migrations')
            # the copied identity column's new sequence starts at 1: move it past the copied ids
            statements.append(
                f"SELECT setval(pg_get_serial_sequence('\"{name}\".django_migrations', 'id'), "
                f'(SELECT max(id) FROM "{name}".django_migrations))'
            )
            for attempt in range(30):  # PostgreSQL's lock table is shared with every other session
                try:
                    cursor.execute("; ".join(statements))
                    break
                except OperationalError as error:
                    if "out of shared memory" not in str(error) or attempt == 29:
                        raise
                    time.sleep(1)
    return names


def fleet_schemas_drop(names: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def run_scale(n: int, *, workers: int | None = None) -> float:
    """Create n schemas, time the no-op deploy over them and the existing ones, print the figure;
    returns seconds per 1,000 schemas."""
    from tenants.migrations_fleet import fleet_schemas

    started = time.perf_counter()
    created = fleet_schemas_create(n)
    say(f"  {len(created)} schemas created in {time.perf_counter() - started:.1f} s")
    schemas = fleet_schemas()
    noop_migrate_seconds(schemas, workers=workers)  # warm-up: imports, the migration loader
    seconds = noop_migrate_seconds(schemas, workers=workers)
    per_1000 = seconds / len(schemas) * 1000
    say(f"  no-op deploy over {len(schemas)} schemas: {seconds:.2f} s (goal ≤ {TARGET_S_PER_1000:.0f} s per 1,000)")
    say(f"{ID} noop_migrate_s_per_1000={per_1000:.2f}")
    return per_1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schemas", type=positive_int, default=DEFAULT_SCHEMAS, help="schemas to create and time")
    parser.add_argument("--workers", type=positive_int, default=None, help="migrate_fleet's --workers")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL")
    if not url:
        say('set DATABASE_URL (e.g. `eval "$(scripts/launcher.py shell-env)"` while `make run` runs)')
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("PORTAL_MASTER_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    from bench.run import database_prepare, django_setup, scratch_database_create, scratch_database_drop
    from config.env import db_config

    params = db_config(url)
    scratch = f"{params['NAME']}{SCRATCH_SUFFIX}"
    os.environ["DATABASE_URL"] = urlunsplit(urlsplit(url)._replace(path="/" + quote(scratch, safe="")))
    say(f"creating scratch database {scratch!r}")
    try:
        scratch_database_create(params, scratch)
        django_setup(scratch)
        database_prepare()
        run_scale(args.schemas, workers=args.workers)
        return 0
    finally:
        from django.conf import settings

        if settings.configured:
            from django.db import connections

            connections.close_all()
        scratch_database_drop(params, scratch)
        say(f"dropped scratch database {scratch!r}")


if __name__ == "__main__":
    sys.exit(main())
