"""Bounded backend memory (issue 18 §1, docs/scaling.md): a PostgreSQL backend keeps the caches of
every schema it has read, so a connection that has worked in more than
DATABASE_SCHEMAS_PER_CONNECTION enterprise schemas is closed at the end of its request or task
(Django's `close_if_unusable_or_obsolete`, which Django runs between requests and Celery's Django
fix-up after each task); under the limit it stays open. A separate connection is used so the test's
own transaction is untouched."""

from __future__ import annotations

import pytest
from django.db import connections

from core.models import Membership


@pytest.fixture
def own_connection():
    connection = connections.create_connection("default")
    yield connection
    connection.close()


def _work_in(connection, schema: str) -> None:
    connection.set_schema(schema)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {Membership._meta.db_table}")  # noqa: S608 (a model's table)


def test_a_connection_past_the_schema_limit_is_recycled(world, own_connection, settings):
    settings.DATABASE_SCHEMAS_PER_CONNECTION = 2
    schemas = [world.acme.schema_name, world.globex.schema_name, world.initech.schema_name]
    for schema in schemas[:2]:
        _work_in(own_connection, schema)
        own_connection.close_if_unusable_or_obsolete()
        assert own_connection.connection is not None  # at the limit: kept
    backend = own_connection.connection.get_backend_pid()
    _work_in(own_connection, schemas[2])
    own_connection.close_if_unusable_or_obsolete()
    assert own_connection.connection is None  # past it: closed
    _work_in(own_connection, schemas[0])  # the next request opens a fresh backend, counting anew
    assert own_connection.connection.get_backend_pid() != backend
    own_connection.close_if_unusable_or_obsolete()
    assert own_connection.connection is not None


def test_no_limit_keeps_the_connection(world, own_connection, settings):
    settings.DATABASE_SCHEMAS_PER_CONNECTION = 0
    for schema in (world.acme.schema_name, world.globex.schema_name, world.initech.schema_name):
        _work_in(own_connection, schema)
        own_connection.close_if_unusable_or_obsolete()
    assert own_connection.connection is not None
