"""Switching the database connection to an enterprise's schema (the only place that touches
django-tenants' connection attributes, which the Django type stubs do not know)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from tenants.models import Enterprise

_tenant_connection = cast(Any, connection)


def current_schema() -> str:
    """The schema the default connection is using now."""
    return str(_tenant_connection.schema_name)


def use_public_schema() -> None:
    _tenant_connection.set_schema_to_public()


@contextmanager
def enterprise_schema(enterprise: Enterprise) -> Iterator[None]:
    """Run the block in `enterprise`'s schema; a no-op when the connection is already there."""
    if current_schema() == enterprise.schema_name:
        yield
        return
    with tenant_context(enterprise):
        yield


@contextmanager
def public_schema() -> Iterator[None]:
    """Run the block in the public schema, then return to the schema the connection was in."""
    if current_schema() == settings.PUBLIC_SCHEMA_NAME:
        yield
        return
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        yield
