"""Switching the database connection to an enterprise's schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django_tenants.utils import tenant_context

from tenants.models import Enterprise


@contextmanager
def enterprise_schema(enterprise: Enterprise) -> Iterator[None]:
    """Run the block in `enterprise`'s schema; a no-op when the connection is already there."""
    if connection.schema_name == enterprise.schema_name:
        yield
        return
    with tenant_context(enterprise):
        yield
