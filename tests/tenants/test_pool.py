"""Provisioning flat in the number of enterprises and the warm pool (issue 18 §2, TEN-3).

A schema built from the template's definition (pg_dump once per migration state) and a claimed
pool schema have the template's catalogue exactly; a pool schema has no domain, no data, no key
and is reached by no request, task or purge path; a pool schema of an older migration state is
never claimed and the refill drops it."""

from __future__ import annotations

import pytest
from celery.signals import before_task_publish
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django_tenants.utils import schema_exists

from config.celery import app
from core.services import enterprise_create
from tenants.models import Domain, Enterprise, EnterpriseKey
from tenants.pool import POOL_PREFIX, is_pool_schema, pool_claim, pool_fill, pool_schemas
from tenants.provisioning import (
    clone_schema_copy,
    schema_create_from_definition,
    template_definition,
    template_state,
)
from tenants.selectors import enterprise_list
from tenants.tasks import dispatch_per_enterprise, tenant_pool_refill
from tests.tenants.test_provisioning import catalog

TEMPLATE = settings.TENANT_BASE_SCHEMA
ALL_STATES = tuple(Enterprise.State.values)


def rows_per_table(schema: str) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
        tables = [row[0] for row in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{schema}"."{table}"')  # noqa: S608 (catalogue names)
            counts[table] = cursor.fetchone()[0]
    return counts


def test_the_definition_path_is_available_in_tests(world):
    """Otherwise every other test here would silently exercise the clone_schema fallback."""
    script = template_definition(TEMPLATE)
    assert "CREATE TABLE __portal_schema__.enterprise_data_membership" in script
    assert TEMPLATE not in script


def test_schema_from_the_definition_equals_the_template_and_clone_schema(world):
    """TEN-3: same tables, columns, indexes and constraints under the same names, triggers,
    functions, sequences and migration records as the template — and as django-tenants'
    clone_schema (the fallback) after its renaming."""
    schema_create_from_definition(template=TEMPLATE, new="from_definition")
    clone_schema_copy(template=TEMPLATE, new="from_clone")
    built, cloned, template = catalog("from_definition"), catalog("from_clone"), catalog(TEMPLATE)
    assert built["columns"] and built["migrations"]
    for part in built:
        assert built[part] == template[part] == cloned[part], part
    counts = rows_per_table("from_definition")
    assert counts.pop("django_migrations") == len(template["migrations"])
    assert set(counts.values()) == {0}
    with connection.cursor() as cursor:  # the copied sequence continues after the copied records
        cursor.execute("INSERT INTO from_definition.django_migrations (app, name, applied) VALUES ('x', 'y', now())")
        cursor.execute("SHOW search_path")
        assert "from_definition" not in cursor.fetchone()[0]


def test_sign_up_claims_a_pool_schema_by_renaming_it(world):
    """★ The pool: sign-up renames a ready schema; the enterprise works as one built afresh."""
    with override_settings(TENANT_POOL_SIZE=2):
        assert pool_fill() == {"dropped": 0, "created": 2}
        assert pool_fill() == {"dropped": 0, "created": 0}  # safe to run twice
        ready = pool_schemas()
        enterprise = enterprise_create(name="Pooled", slug="pooled", owner=world.oscar)
    remaining = pool_schemas()
    assert len(remaining) == 1 and set(remaining) < set(ready)
    assert schema_exists("pooled")
    assert catalog("pooled") == {**catalog(TEMPLATE), "migrations": catalog("pooled")["migrations"]}
    assert catalog("pooled")["migrations"] == catalog(TEMPLATE)["migrations"]
    assert enterprise.get_primary_domain().domain == "pooled.localhost"
    assert rows_per_table("pooled")["enterprise_data_membership"] == 1  # the owner


def test_without_a_pool_sign_up_builds_the_schema(world):
    with override_settings(TENANT_POOL_SIZE=2):
        assert pool_schemas() == []
        enterprise_create(name="Unpooled", slug="unpooled", owner=world.oscar)
    assert schema_exists("unpooled") and pool_schemas() == []


def test_a_pool_schema_has_no_domain_data_or_key_and_no_enterprise(world):
    keys = EnterpriseKey.objects.count()
    pool_fill(size=2)
    names = pool_schemas()
    assert len(names) == 2 and all(is_pool_schema(name) for name in names)
    assert not Enterprise.objects.filter(schema_name__in=names).exists()
    assert not Enterprise.objects.filter(schema_name__startswith=POOL_PREFIX).exists()
    assert not Domain.objects.filter(tenant__schema_name__in=names).exists()
    assert EnterpriseKey.objects.count() == keys
    for name in names:
        counts = rows_per_table(name)
        assert counts.pop("django_migrations") > 0
        assert set(counts.values()) == {0}


def test_no_enterprise_slug_can_name_a_pool_schema():
    from tenants.services import SLUG_RE, slug_to_schema

    assert not SLUG_RE.match("_pool_abc")
    assert not slug_to_schema("pool-abc").startswith(POOL_PREFIX)


@pytest.mark.parametrize("host", ["_pool_x.localhost", "pool.localhost", "localhost"])
def test_no_request_reaches_a_pool_schema(world, client_for, host):
    """Requests are routed by domain; a pool schema has none. Whatever the host, no response is
    served from a pool schema's search_path."""
    pool_fill(size=1)
    (name,) = pool_schemas()
    seen: list[str] = []

    def record(**kwargs):
        seen.append(connection.schema_name)

    from django.core.signals import request_finished

    request_finished.connect(record)
    try:
        response = client_for(host).get("/")
    finally:
        request_finished.disconnect(record)
    assert response.status_code in (200, 302, 400, 404)
    if host != "localhost":
        assert response.status_code in (400, 404)
    assert name not in seen and not any(is_pool_schema(schema) for schema in seen)


def test_the_per_enterprise_fan_out_and_the_purges_skip_pool_schemas(world):
    """Beat's fan-out (and so the retention purge, erasures, reminders) enqueues one task per
    enterprise row; terminations and the platform purge read enterprise rows or public only."""
    from retention.services.termination import terminations_due

    app.loader.import_default_modules()
    pool_fill(size=2)
    names = set(pool_schemas())
    assert names.isdisjoint(enterprise_list(states=ALL_STATES).values_list("schema_name", flat=True))
    assert names.isdisjoint(e.schema_name for e in terminations_due())
    published: list[str] = []

    def capture(headers=None, **kwargs):
        published.append((headers or {}).get("_schema_name"))

    before_task_publish.connect(capture)
    try:
        ids = dispatch_per_enterprise.run(
            task_name="enterprise_data.tasks_retention.retention_purge", states=list(ALL_STATES)
        )
    finally:
        before_task_publish.disconnect(capture)
        with app.connection_for_write() as conn:  # nothing left for a later worker
            conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
    assert len(ids) == len(published) == Enterprise.objects.exclude(schema_name="public").count()
    assert sorted(published) == sorted(
        Enterprise.objects.exclude(schema_name="public").values_list("schema_name", flat=True)
    )
    assert names.isdisjoint(published)


def test_a_pool_schema_of_an_older_migration_state_is_not_claimed_and_is_dropped(world):
    """A pool schema made before a migration lacks it: sign-up must build afresh instead, and the
    refill drops the stale one and makes current ones."""
    pool_fill(size=1)
    (stale,) = pool_schemas()
    with connection.cursor() as cursor:  # the template moves on (as after a deploy's migrate)
        cursor.execute(
            f"INSERT INTO {TEMPLATE}.django_migrations (app, name, applied) VALUES ('pooltest', '0001_later', now())"  # noqa: S608
        )
    assert not stale.startswith(f"{POOL_PREFIX}{template_state(TEMPLATE)[:12]}")
    with override_settings(TENANT_POOL_SIZE=1):
        assert pool_claim(new="never_made") is False
        enterprise_create(name="After migrate", slug="after-migrate", owner=world.oscar)
        assert schema_exists(stale) and not schema_exists("never_made")
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM after_migrate.django_migrations WHERE app = 'pooltest'")
            assert cursor.fetchone()[0] == 1  # built from the template as it is now
        assert tenant_pool_refill.run() == {"dropped": 1, "created": 1}
    (fresh,) = pool_schemas()
    assert not schema_exists(stale) and fresh.startswith(f"{POOL_PREFIX}{template_state(TEMPLATE)[:12]}_")


def test_the_refill_is_on_beat_and_runs_only_in_public(world):
    from tenants.context import enterprise_schema

    entry = settings.CELERY_BEAT_SCHEDULE["tenant-pool-refill"]
    assert entry["task"] == "tenants.tasks.tenant_pool_refill" and entry["task"] in app.tasks
    with override_settings(TENANT_POOL_SIZE=1):
        assert tenant_pool_refill.run() == {"dropped": 0, "created": 1}
        with enterprise_schema(world.acme), pytest.raises(RuntimeError):
            tenant_pool_refill.run()
