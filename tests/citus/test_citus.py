"""Issue 18 §5 on a real Citus cluster (skipped unless CITUS_DATABASE_URL is set: tests/conftest.py,
docs/scaling.md "Citus"). The rest of the `citus`-marked suite (provisioning, pool, isolation,
purge, ledger, migrations) runs there too and must pass unchanged; these tests check what only
Citus has: where the enterprises live, the reference tables, the errors workers report. The
clock-event triggers on workers are tests/retention/test_clock_event_links.py's."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection

from accounts.models import User
from tenants.citus import REFERENCE_TABLES, citus_present, schema_is_distributed, schema_node
from tests.test_citus_static import committed_foreign_key_violation

pytestmark = pytest.mark.citus


def _coordinator_port() -> int:
    return int(connection.settings_dict["PORT"] or 5432)


def test_the_session_runs_on_citus(db):
    assert citus_present()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_dist_node WHERE noderole = 'primary' AND nodeport <> %s", [_coordinator_port()]
        )
        assert cursor.fetchone()[0] >= 2  # at least two workers


def test_each_enterprise_is_a_distributed_schema_placed_whole_on_a_worker(world):
    for enterprise in (world.acme, world.globex, world.initech):
        assert schema_is_distributed(enterprise.schema_name)
        node = schema_node(enterprise.schema_name)
        assert node is not None and node[1] != _coordinator_port()
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT count(*) FILTER (WHERE colocation_id IS NULL OR citus_table_type <> 'schema'),
                          count(DISTINCT colocation_id), count(*)
                   FROM citus_tables WHERE table_name::text LIKE %s""",
                [f"{enterprise.schema_name}.%"],
            )
            not_schema_tables, colocations, tables = cursor.fetchone()
            cursor.execute(
                "SELECT count(*) FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind = 'r'",
                [enterprise.schema_name],
            )
            local_tables = cursor.fetchone()[0]
        assert not_schema_tables == 0 and colocations == 1
        assert tables == local_tables > 20  # every table of the schema, none left on the coordinator


def test_the_template_stays_on_the_coordinator(db):
    from django.conf import settings

    assert not schema_is_distributed(settings.TENANT_BASE_SCHEMA)


def test_the_public_tables_enterprises_point_to_are_reference_tables(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name::text FROM citus_tables "
            "WHERE citus_table_type = 'reference' AND table_name::text = ANY(%s)",
            [list(REFERENCE_TABLES)],
        )
        assert sorted(row[0] for row in cursor.fetchall()) == sorted(REFERENCE_TABLES)


def test_identity_counters_continue_after_the_conversion(world):
    """Converting reset the counters to 1; they were set back to max(id)."""
    before = User.objects.order_by("-id").values_list("id", flat=True).first()
    user = User.objects.create_user("+8613900009999", "correct-horse-battery-9", nickname="After Citus")
    assert user.id > before


def test_a_deferred_foreign_key_violation_on_a_worker_is_an_integrity_error(world):
    """Citus reports it at commit as an internal error (XX000); the backend raises IntegrityError."""
    with pytest.raises(IntegrityError) as raised:
        committed_foreign_key_violation(world.acme.schema_name)
    print("what Citus said:", type(raised.value.__cause__).__name__, getattr(raised.value.__cause__, "pgcode", None))
