"""The deploy step's migrations at scale (issue 18 §3; TEN-3): `manage.py migrate_fleet`.

The damage is done in schemas these tests create (clones of the template) and drop; the shared
world's schemas (acme, globex, initech, the template) are current and must be skipped,
untouched. The deploy step's worker processes see only what is committed, while a test's own
connection is inside the transaction pytest-django rolls back: each test therefore works in a
thread of its own (a connection of its own, in autocommit).

A real extra migration state: guardian's last migration really unapplied in a schema (its
backwards operations run, its record removed), so `migrate` has something to do there; and a
schema whose `migrate` fails (the record of guardian's first migration removed while later
ones stay: Django refuses the inconsistent history).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.signals import schema_pre_migration

from tenants.migrations_fleet import fleet_migrate, fleet_schemas, pending_migrations
from tenants.provisioning import clone_template_schema

pytestmark = pytest.mark.django_db

SCHEMAS = ("fleet_a", "fleet_b", "fleet_c")
WORLD_SCHEMAS = ("acme", "globex", "initech", settings.TENANT_BASE_SCHEMA)


def guardian_migrations() -> list[str]:
    return sorted(
        name for app, name in MigrationLoader(None, ignore_no_migrations=True).graph.nodes if app == "guardian"
    )


def recorded(schema: str, app: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT name FROM "{schema}".django_migrations WHERE app = %s ORDER BY name', [app])  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def guardian_indexes(schema: str) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, replace(indexdef, %s, 'S.') FROM pg_indexes "
            "WHERE schemaname = %s AND tablename LIKE 'guardian%%' ORDER BY 1",
            [f"{schema}.", schema],
        )
        return cursor.fetchall()


def unapply_guardian_leaf(schema: str) -> str:
    """Really unapply guardian's migrations after its second (backwards operations and all);
    returns the first one unapplied."""
    names = guardian_migrations()
    assert len(names) >= 3, names
    call_command(
        "migrate_schemas", "guardian", names[1], tenant=True, schema_name=schema, interactive=False, verbosity=0
    )
    connection.set_schema_to_public()
    assert recorded(schema, "guardian") == names[:2]
    return names[2]


def break_history(schema: str) -> None:
    """Remove the record of guardian's first migration: its later ones stay recorded, so Django's
    `migrate` refuses the schema (InconsistentMigrationHistory)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM \"{schema}\".django_migrations WHERE app = 'guardian' AND name = %s",  # noqa: S608
            [guardian_migrations()[0]],
        )


def mend_history(schema: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO \"{schema}\".django_migrations (app, name, applied) VALUES ('guardian', %s, now())",  # noqa: S608
            [guardian_migrations()[0]],
        )


def committed(body: Callable[[], None]) -> None:
    """Run `body` in a thread of its own: its own connection, autocommit, closed afterwards."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            connection.set_schema_to_public()
            body()
        except BaseException as error:  # re-raised in the test's thread
            raised.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if raised:
        raise raised[0]


@pytest.fixture
def fleet(db: None) -> Iterator[tuple[str, ...]]:
    """Three committed clones of the template, dropped afterwards."""

    def create() -> None:
        for schema in SCHEMAS:
            clone_template_schema(template=settings.TENANT_BASE_SCHEMA, new=schema)

    def drop() -> None:
        with connection.cursor() as cursor:
            for schema in SCHEMAS:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    committed(drop)  # a leftover of an interrupted run
    committed(create)
    yield SCHEMAS
    committed(drop)


@pytest.fixture
def migrate_ran_on() -> Iterator[list[str]]:
    """The schemas django-tenants' `migrate` ran on in this process (workers=1 runs in-process)."""
    ran: list[str] = []

    def receiver(sender: object, schema_name: str, **kwargs: object) -> None:
        ran.append(schema_name)

    schema_pre_migration.connect(receiver)
    yield ran
    schema_pre_migration.disconnect(receiver)


def test_current_schemas_are_skipped_without_running_migrate(fleet, migrate_ran_on):
    """§3: one query finds nothing pending; `migrate` runs in public only, none of the tenant
    schemas (the world's, the template and the clones) is migrated."""

    def body() -> None:
        found = fleet_schemas()
        assert set(WORLD_SCHEMAS) | set(SCHEMAS) <= set(found)
        assert "public" not in found
        assert pending_migrations(found) == {}
        lines: list[str] = []
        report = fleet_migrate(workers=1, verbosity=0, say=lines.append)
        assert migrate_ran_on == ["public"]
        assert report.migrated == [] and report.failed == {} and report.pending == {}
        assert set(report.up_to_date) >= set(WORLD_SCHEMAS) | set(SCHEMAS)
        assert any("up to date (skipped), 0 to migrate" in line for line in lines)

    committed(body)


def test_a_schema_missing_a_migration_gets_it_and_only_it_is_migrated(fleet, migrate_ran_on):

    def body() -> None:
        template_indexes = guardian_indexes(settings.TENANT_BASE_SCHEMA)
        missing = unapply_guardian_leaf("fleet_b")
        assert guardian_indexes("fleet_b") != template_indexes  # the unapply really changed the schema
        assert pending_migrations(fleet_schemas()) == {"fleet_b": [f"guardian.{missing}"]}
        migrate_ran_on.clear()

        report = fleet_migrate(workers=1, verbosity=0, say=lambda line: None)

        assert migrate_ran_on == ["public", "fleet_b"]
        assert report.migrated == ["fleet_b"] and report.failed == {}
        assert recorded("fleet_b", "guardian") == guardian_migrations()
        assert guardian_indexes("fleet_b") == template_indexes
        assert pending_migrations(fleet_schemas()) == {}

    committed(body)


def test_a_failing_schema_does_not_stop_the_others_and_a_rerun_resumes(fleet):
    """§3: in parallel (2 worker processes), the broken schema is reported and the command fails,
    the others are migrated; after the cause is fixed the rerun migrates only what is left."""

    def body() -> None:
        unapply_guardian_leaf("fleet_a")
        unapply_guardian_leaf("fleet_c")
        missing = unapply_guardian_leaf("fleet_b")
        break_history("fleet_b")
        assert set(pending_migrations(fleet_schemas())) == {"fleet_a", "fleet_b", "fleet_c"}

        out = io.StringIO()
        with pytest.raises(CommandError, match="1 schema\\(s\\) failed: fleet_b"):
            call_command("migrate_fleet", "--workers", "2", verbosity=0, stdout=out)
        output = out.getvalue()
        assert "3 to migrate with 2 worker(s)" in output
        assert "fleet_b: FAILED: InconsistentMigrationHistory" in output
        assert "done in" in output and "2 migrated, 1 failed" in output
        # progress: k/n, elapsed and eta on every line, one per schema
        for done in (1, 2, 3):
            assert f"{done}/3 schemas, elapsed " in output
        assert output.count(", eta ") == 3
        connection.close()
        connection.set_schema_to_public()
        assert recorded("fleet_a", "guardian") == recorded("fleet_c", "guardian") == guardian_migrations()
        assert set(pending_migrations(fleet_schemas())) == {"fleet_b"}

        mend_history("fleet_b")
        rerun = io.StringIO()
        call_command("migrate_fleet", "--workers", "2", verbosity=0, stdout=rerun)
        output = rerun.getvalue()
        assert "1 to migrate with 1 worker(s)" in output
        assert "1/1 schemas" in output and "fleet_b: migrated (1 applied" in output
        assert "fleet_a" not in output and "fleet_c" not in output
        connection.set_schema_to_public()
        assert pending_migrations(fleet_schemas()) == {}
        assert missing in recorded("fleet_b", "guardian")

    committed(body)


def test_a_schema_without_migration_records_lacks_everything(fleet):
    """A schema that lost its `django_migrations` table is not taken for current."""

    def body() -> None:
        with connection.cursor() as cursor:
            cursor.execute('ALTER TABLE "fleet_c".django_migrations RENAME TO django_migrations_gone')
        assert "fleet_c" not in fleet_schemas()  # not a tenant schema: no enterprise row, no table
        pending = pending_migrations(["fleet_a", "fleet_c"])
        assert list(pending) == ["fleet_c"]
        assert len(pending["fleet_c"]) == len(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)

    committed(body)
