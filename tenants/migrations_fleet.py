"""The deploy step's migrations over the whole fleet of schemas (issue 18 §3; TEN-3).

django-tenants' `migrate` runs Django's whole `migrate` once per enterprise schema, even when
nothing is pending: rendering the model state, replaying every operation and rebuilding the
graph costs ~0.5 s per schema (162 s for 303 schemas), so a no-op deploy grows with the fleet.
`fleet_migrate` instead:

1. migrates the public schema (django-tenants' `migrate_schemas --shared`);
2. lists every other schema that has a `django_migrations` table (enterprises, the template,
   pool schemas) plus any enterprise schema that lacks one, and reads, in one query per
   `QUERY_BATCH` schemas (a UNION ALL over their `django_migrations` tables, compared in SQL
   with the migrations on disk), which migrations each schema lacks;
3. skips the up-to-date schemas without running `migrate` in them;
4. runs `migrate_schemas --tenant --schema S` for the rest in a bounded pool of forked worker
   processes (one database connection each), reporting `k/n schemas, elapsed, eta` as each
   finishes. A schema that fails is reported and the others go on.

Resumable: a schema counts as done when its `django_migrations` rows are there (each migration
is applied and recorded in one transaction), so after a crash or a failure the same command
continues with what is left. docs/operations.md describes the deploy step.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, connections

from tenants.context import use_public_schema
from tenants.fleet_worker import worker_start

# Schemas read per query: each contributes a table and its index to the query's locks, and
# PostgreSQL's shared lock table holds 64 × max_connections by default.
QUERY_BATCH = 500
MIGRATIONS_TABLE = "django_migrations"


def default_workers() -> int:
    """min(4, CPUs): migrations are mostly waits on PostgreSQL, which needs the CPUs too."""
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class SchemaOutcome:
    schema: str
    ok: bool
    seconds: float
    error: str = ""


@dataclass
class FleetReport:
    """What one run did. `pending` maps each schema that lacked migrations to their names
    (`app.name`) as found before migrating; `migrated` and `failed` are outcomes of this run."""

    schemas: list[str]
    pending: dict[str, list[str]]
    migrated: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def up_to_date(self) -> list[str]:
        return [schema for schema in self.schemas if schema not in self.pending]


def expected_migrations() -> list[tuple[str, str]]:
    """Every migration on disk, as (app, name): what `migrate` would bring a schema to (the
    leaf nodes and everything before them). django-tenants records the migrations of every
    installed app in every schema (the router only skips other apps' operations), so a schema
    is current when it has all of them recorded."""
    from django.db.migrations.loader import MigrationLoader

    return sorted(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def fleet_schemas() -> list[str]:
    """Every schema other than public that has a `django_migrations` table (enterprises, the
    template, pool schemas), plus the schema of every enterprise that exists but has none yet;
    sorted."""
    from tenants.models import Enterprise

    public = settings.PUBLIC_SCHEMA_NAME
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relname = %s AND c.relkind IN ('r', 'p') AND n.nspname <> %s
            UNION
            SELECT n.nspname FROM pg_namespace n WHERE n.nspname = ANY(%s) AND n.nspname <> %s
            """,
            [MIGRATIONS_TABLE, public, list(Enterprise.objects.values_list("schema_name", flat=True)), public],
        )
        return sorted(row[0] for row in cursor.fetchall())


def _quoted(name: str) -> str:
    """A quoted identifier, with `%` doubled for the driver's parameter formatting."""
    return '"' + name.replace('"', '""').replace("%", "%%") + '"'


def pending_migrations(
    schemas: Sequence[str], expected: Sequence[tuple[str, str]] | None = None
) -> dict[str, list[str]]:
    """{schema: ["app.name", …]} for every schema in `schemas` that lacks migrations on disk;
    up-to-date schemas are absent. One query per QUERY_BATCH schemas: a UNION ALL of their
    `django_migrations` tables, anti-joined in SQL with the expected set, so only what is
    missing crosses the wire. A schema without the table lacks everything."""
    expected = expected_migrations() if expected is None else list(expected)
    apps = [app for app, _name in expected]
    names = [name for _app, name in expected]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relname = %s AND c.relkind IN ('r', 'p') AND n.nspname = ANY(%s)
            """,
            [MIGRATIONS_TABLE, list(schemas)],
        )
        with_table = {row[0] for row in cursor.fetchall()}
        everything = [f"{app}.{name}" for app, name in expected]
        pending: dict[str, list[str]] = {schema: list(everything) for schema in schemas if schema not in with_table}
        tabled = [schema for schema in schemas if schema in with_table]
        for start in range(0, len(tabled), QUERY_BATCH):
            batch = tabled[start : start + QUERY_BATCH]
            recorded = " UNION ALL ".join(
                f"SELECT %s::text AS schema_name, app::text, name::text FROM {_quoted(schema)}.{MIGRATIONS_TABLE}"  # noqa: S608 (quoted names from pg_catalog)
                for schema in batch
            )
            cursor.execute(
                f"""
                WITH expected AS (SELECT * FROM unnest(%s::text[], %s::text[]) AS e(app, name)),
                     schemas AS (SELECT unnest(%s::text[]) AS schema_name),
                     recorded AS ({recorded})
                SELECT s.schema_name, e.app, e.name FROM schemas s CROSS JOIN expected e
                WHERE NOT EXISTS (
                    SELECT 1 FROM recorded r
                    WHERE r.schema_name = s.schema_name AND r.app = e.app AND r.name = e.name
                )
                ORDER BY 1, 2, 3
                """,  # noqa: S608 (the quoted schema names come from pg_catalog)
                [apps, names, batch, *batch],
            )
            for schema, app, name in cursor.fetchall():
                pending.setdefault(schema, []).append(f"{app}.{name}")
    return pending


def migrate_public(*, verbosity: int = 1) -> None:
    """django-tenants' `migrate_schemas --shared`: the shared apps into the public schema."""
    from django.core.management import call_command

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)


def migrate_one_schema(schema: str, verbosity: int = 1) -> SchemaOutcome:
    """Run django-tenants' `migrate` in one schema; never raises (the outcome says what failed).
    Each migration is applied and recorded in one transaction, so a failure leaves the schema
    at its last complete migration, which the next run continues from."""
    from django.core.management import call_command

    started = time.perf_counter()
    try:
        call_command("migrate_schemas", tenant=True, schema_name=schema, interactive=False, verbosity=verbosity)
    except Exception as error:  # reported per schema; the other schemas go on
        connection.close()  # a failed migration may leave the connection in a broken transaction
        use_public_schema()
        return SchemaOutcome(schema, False, time.perf_counter() - started, f"{type(error).__name__}: {error}")
    use_public_schema()
    return SchemaOutcome(schema, True, time.perf_counter() - started)


def progress_line(done: int, total: int, elapsed: float) -> str:
    eta = elapsed / done * (total - done) if done else 0.0
    return f"{done}/{total} schemas, elapsed {elapsed:.1f} s, eta {eta:.1f} s"


def _run_pending(schemas: Sequence[str], *, workers: int, verbosity: int) -> Iterable[SchemaOutcome]:
    """Yield an outcome per schema, in the order they finish."""
    if workers <= 1 or len(schemas) <= 1:
        for schema in schemas:
            yield migrate_one_schema(schema, verbosity)
        return
    # Spawned, not forked: a forked child would inherit the parent's open connections (whose
    # clean-up in the child ends the parent's sessions); each worker sets Django up once and
    # keeps one connection for all the schemas it migrates.
    names = {alias: str(connections[alias].settings_dict["NAME"]) for alias in connections}
    with ProcessPoolExecutor(
        max_workers=min(workers, len(schemas)),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=worker_start,
        initargs=(os.environ.get("DJANGO_SETTINGS_MODULE") or settings.SETTINGS_MODULE or "", names),
    ) as pool:
        futures = {pool.submit(migrate_one_schema, schema, verbosity): schema for schema in schemas}
        for future in as_completed(futures):
            schema = futures[future]
            try:
                yield future.result()
            except BrokenProcessPool as error:  # a worker died (killed, out of memory)
                yield SchemaOutcome(schema, False, 0.0, f"worker process died: {error}")


def fleet_migrate(
    *,
    workers: int | None = None,
    verbosity: int = 1,
    public: bool = True,
    schemas: Sequence[str] | None = None,
    say: Callable[[str], None] = print,
) -> FleetReport:
    """The deploy step (issue 18 §3): public first, then every tenant schema that lacks
    migrations, in parallel; up-to-date schemas are skipped without running `migrate`.
    `schemas` limits the run to those (default: `fleet_schemas()`)."""
    started = time.perf_counter()
    workers = default_workers() if workers is None else max(1, workers)
    if public:
        migrate_public(verbosity=verbosity)
        use_public_schema()
    checked = time.perf_counter()
    names = fleet_schemas() if schemas is None else sorted(schemas)
    pending = pending_migrations(names)
    report = FleetReport(schemas=names, pending=pending)
    say(
        f"{len(names)} tenant schemas: {len(names) - len(pending)} up to date (skipped), "
        f"{len(pending)} to migrate with {min(workers, max(1, len(pending)))} worker(s) "
        f"(public {checked - started:.1f} s, check {time.perf_counter() - checked:.2f} s)"
    )
    todo = sorted(pending)
    run_started = time.perf_counter()
    for done, outcome in enumerate(_run_pending(todo, workers=workers, verbosity=verbosity), start=1):
        if outcome.ok:
            report.migrated.append(outcome.schema)
            state = f"migrated ({len(pending[outcome.schema])} applied, {outcome.seconds:.1f} s)"
        else:
            report.failed[outcome.schema] = outcome.error
            state = f"FAILED: {outcome.error}"
        say(f"{progress_line(done, len(todo), time.perf_counter() - run_started)} | {outcome.schema}: {state}")
    use_public_schema()
    report.seconds = time.perf_counter() - started
    return report
