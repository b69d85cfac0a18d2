"""`manage.py citus_distribute_enterprises` on a real Citus cluster (issue 18 §5; skipped unless
CITUS_DATABASE_URL is set). Its plain-PostgreSQL behaviour (says Citus is absent, changes
nothing) is tests/test_citus_static.py's, which normal CI runs."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.services import enterprise_create
from tenants.citus import schema_is_distributed, schema_node

pytestmark = pytest.mark.citus

MOVED = ("moved_one", "moved_two")


def _run(*args: str) -> str:
    out = StringIO()
    try:
        call_command("citus_distribute_enterprises", *args, stdout=out)
    except CommandError as error:
        raise AssertionError(f"{error}\n{out.getvalue()}") from error
    return out.getvalue()


def _coordinator_port() -> int:
    return int(connection.settings_dict["PORT"] or 5432)


@pytest.fixture
def moved(world, monkeypatch) -> tuple[str, str]:
    """Two enterprises as a database moved onto Citus has them: plain schemas on the coordinator,
    built with distribution switched off. (Undoing a distribution in the test's transaction is
    refused: `citus_schema_undistribute` alters the worker's shards, which have the new owner's
    deferred foreign-key checks pending.)"""
    monkeypatch.setattr("tenants.models.schema_distribute", lambda name: False)
    enterprise_create(name="Moved One", slug="moved-one", owner=world.oscar)
    enterprise_create(name="Moved Two", slug="moved-two", owner=world.oscar)
    monkeypatch.undo()
    assert not any(schema_is_distributed(name) for name in MOVED)
    # committed enterprises have no foreign-key checks pending; these, made in the test's
    # transaction, have (the owners' memberships), and Citus refuses to convert a table with checks
    # pending. The schemas are still the coordinator's own: the checks run here and now.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    return MOVED


def test_the_command_distributes_what_is_left_and_a_second_run_does_nothing(world, moved):
    dry = _run("--dry-run")
    assert "[1/2] moved_one: would be distributed" in dry and "[2/2] moved_two: would be distributed" in dry
    assert not any(schema_is_distributed(name) for name in moved)

    # resumable: a run that did only the first, then a full run does only the rest
    first = _run("--schema", "moved_one")
    assert "[1/1] moved_one: distributed to 127.0.0.1:" in first
    assert schema_is_distributed("moved_one") and not schema_is_distributed("moved_two")
    rest = _run()
    assert "reference tables: already in place" in rest
    assert "1 enterprise schema(s) to distribute, 4 distributed already" in rest  # acme, globex, initech, moved_one
    assert "[1/1] moved_two: distributed to 127.0.0.1:" in rest
    assert "done: 1 distributed, 4 distributed already, 0 failed" in rest

    for name in moved:
        node = schema_node(name)
        assert node is not None and node[1] != _coordinator_port()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind = 'r'", [name]
            )
            tables = cursor.fetchone()[0]
            # (the metadata tables: the citus_tables view would size shards through connections of
            # its own, which wait for the locks of this test's transaction)
            cursor.execute(
                "SELECT count(*) FROM pg_dist_partition p JOIN pg_dist_schema ds USING (colocationid) "
                "WHERE ds.schemaid = %s::regnamespace",
                [name],
            )
            assert cursor.fetchone()[0] == tables > 20  # every table of the schema, none left behind

    # a second run changes nothing
    with CaptureQueriesContext(connection) as queries:
        again = _run()
    assert "0 enterprise schema(s) to distribute, 5 distributed already" in again
    assert "done: 0 distributed, 5 distributed already, 0 failed" in again
    assert not [q["sql"] for q in queries.captured_queries if "citus_schema_distribute" in q["sql"]]
    assert not schema_is_distributed("enterprise_template")  # the template stays on the coordinator
