"""Django's schema editor on a distributed enterprise schema (issue 18 §5; skipped unless
CITUS_DATABASE_URL is set): what a future migration of the enterprise schemas would send. Dropping
a foreign key is `SET CONSTRAINTS <name> IMMEDIATE; ALTER TABLE … DROP CONSTRAINT <name>` in one
query (Django's PostgreSQL schema editor, `sql_delete_fk`); adding a foreign-key column appends
`; SET CONSTRAINTS … IMMEDIATE` to its ALTER TABLE (`sql_create_column_inline_fk`). Both run on
Citus as on PostgreSQL, for a key to a table of the same schema and for one to a reference table
in the public schema (accounts_user)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.apps.registry import Apps
from django.db import connection, models
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from core.models import Membership
from tenants.citus import schema_is_distributed
from tenants.context import enterprise_schema

pytestmark = pytest.mark.citus

# the account table is found through the search_path (the schema, then public), as the migrations do
TARGETS = {"membership": Membership._meta.db_table, "account": User._meta.db_table}


def _probe_model(target: str) -> type[models.Model]:
    """A throw-away model of a registry of its own, with a foreign key to `target` (a table)."""
    registry = Apps()

    def meta(table: str) -> type:
        return type("Meta", (), {"app_label": "probe", "apps": registry, "db_table": table})

    referenced = type("Target", (models.Model,), {"__module__": __name__, "Meta": meta(target)})
    return type(
        "Probe",
        (models.Model,),
        {
            "__module__": __name__,
            "ref": models.ForeignKey(referenced, on_delete=models.CASCADE, related_name="+"),
            "Meta": meta("citus_probe"),
        },
    )


def _foreign_keys(schema: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass ORDER BY conname",
            [f"{schema}.citus_probe"],
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture(params=sorted(TARGETS))
def probe(request, world) -> Iterator[type[models.Model]]:
    """The model's table, made by the schema editor in acme (distributed): a table of the schema."""
    schema = world.acme.schema_name
    assert schema_is_distributed(schema)
    model = _probe_model(TARGETS[request.param])
    with enterprise_schema(world.acme), connection.schema_editor() as editor:
        editor.create_model(model)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_dist_partition p JOIN pg_dist_schema ds USING (colocationid) "
            "WHERE ds.schemaid = %s::regnamespace AND p.logicalrelid = %s::regclass",
            [schema, f"{schema}.citus_probe"],
        )
        assert cursor.fetchone()[0] == 1  # Citus placed it with the schema's other tables
    assert len(_foreign_keys(schema)) == 1
    yield model


def test_dropping_a_foreign_key_in_a_distributed_schema(world, probe):
    old = probe._meta.get_field("ref")
    new = models.ForeignKey(old.related_model, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    new.set_attributes_from_name("ref")
    new.model = probe
    with (
        enterprise_schema(world.acme),
        CaptureQueriesContext(connection) as queries,
        connection.schema_editor() as editor,
    ):
        editor.alter_field(probe, old, new)
    # Django's two statements in one query, as in a migration
    assert any("SET CONSTRAINTS" in q["sql"] and "DROP CONSTRAINT" in q["sql"] for q in queries.captured_queries)
    assert _foreign_keys(world.acme.schema_name) == []


def test_adding_a_foreign_key_column_in_a_distributed_schema(world, probe):
    field = models.ForeignKey(probe._meta.get_field("ref").related_model, on_delete=models.CASCADE, null=True)
    field.set_attributes_from_name("second")
    with (
        enterprise_schema(world.acme),
        CaptureQueriesContext(connection) as queries,
        connection.schema_editor() as editor,
    ):
        editor.add_field(probe, field)
    assert any("ADD COLUMN" in q["sql"] and "SET CONSTRAINTS" in q["sql"] for q in queries.captured_queries)
    assert len(_foreign_keys(world.acme.schema_name)) == 2
