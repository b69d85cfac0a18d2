"""Host → enterprise, cached (issue 18 §8, PERF-7; TEN-5).

django-tenants' TenantMainMiddleware answers every request with two round trips to PostgreSQL
before anything else: `SET search_path = public` and the domain + enterprise query. Both are
replaced by one Redis round trip here: the enterprise row (state included) is kept in the
`routing` cache under its host name.

The cache is never trusted past a change. Every cached row is stamped with a platform-wide
*generation* read in the same Redis round trip (`get_many`) before the database is read; any
change to an enterprise or a domain raises the generation (at once and again when the
transaction commits), so every row cached before it stops matching and the next request of any
host reads the database again. This covers saves and deletes (signals) and `QuerySet.update()` /
`bulk_update()` / `delete()` of Enterprise and Domain (their managers' querysets, below). A
reader that read the database just before a change commits stores its row under the old
generation, which no later reader accepts. So a suspended, terminated or deleted enterprise is
refused from the very next request (tests/tenants/test_routing_cache.py). ROUTING_CACHE_SECONDS
bounds how long any row lives anyway.

A request served inside an open transaction (the test client within a test's transaction; in
production ATOMIC_REQUESTS is off, so never) bypasses the cache: it may read uncommitted rows
that are rolled back later. Tests of the cache set ROUTING_CACHE_IN_TRANSACTION.

When Redis is unavailable the middleware reads the database, as django-tenants does."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import connection, models, transaction
from django_tenants.middleware.main import TenantMainMiddleware

logger = logging.getLogger(__name__)

CACHE_ALIAS = "routing"
GENERATION_KEY = "routing:generation"
HOST_KEY = "routing:host:{}"


def _cache() -> Any:
    return caches[CACHE_ALIAS]


def routing_cache_invalidate() -> None:
    """Raise the generation now and once more when the current transaction commits (a request
    that read the row in between must not keep it)."""

    def bump() -> None:
        cache = _cache()
        try:
            if not cache.add(GENERATION_KEY, 1, timeout=None):
                cache.incr(GENERATION_KEY)
        except ValueError:  # expired between add and incr: set it anew (any new value invalidates)
            cache.set(GENERATION_KEY, 1, timeout=None)

    bump()
    transaction.on_commit(bump)


class RoutingInvalidatingQuerySet(models.QuerySet):
    """Enterprise / Domain querysets: bulk writes invalidate the routing cache like saves do."""

    def update(self, **kwargs: Any) -> int:
        rows = super().update(**kwargs)
        routing_cache_invalidate()
        return rows

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        rows = super().bulk_update(objs, fields, batch_size=batch_size)
        routing_cache_invalidate()
        return rows

    def delete(self) -> tuple[int, dict[str, int]]:
        result = super().delete()
        routing_cache_invalidate()
        return result

    delete.alters_data = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]


class CachedTenantMiddleware(TenantMainMiddleware):
    """TenantMainMiddleware with the host → enterprise lookup cached (see the module docstring)."""

    def get_tenant(self, domain_model: Any, hostname: str) -> Any:
        if connection.in_atomic_block and not settings.ROUTING_CACHE_IN_TRANSACTION:
            # Served inside an open transaction (only the test client inside a test's transaction
            # is: ATOMIC_REQUESTS is off): it may see rows that are rolled back later, so it
            # neither reads nor fills the cache.
            return super().get_tenant(domain_model, hostname)
        key = HOST_KEY.format(hostname)
        cache = _cache()
        try:
            found = cache.get_many([key, GENERATION_KEY])
        except Exception:  # noqa: BLE001  # Redis down: the database answers, as without the cache
            logger.warning("routing cache unavailable", exc_info=True)
            return super().get_tenant(domain_model, hostname)
        generation = found.get(GENERATION_KEY, 0)
        entry = found.get(key)
        if entry is not None and entry[0] == generation:
            return entry[1]
        tenant = super().get_tenant(domain_model, hostname)  # DoesNotExist: nothing is cached
        try:
            cache.set(key, (generation, tenant), timeout=settings.ROUTING_CACHE_SECONDS)
        except Exception:  # noqa: BLE001
            logger.warning("routing cache unavailable", exc_info=True)
        return tenant
