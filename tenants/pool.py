"""A warm pool of pre-provisioned enterprise schemas (issue 18 §2 ★).

Sign-up claims a pool schema with one `ALTER SCHEMA … RENAME TO …` instead of building one;
beat refills the pool (tenants.tasks.tenant_pool_refill). A pool schema is only a schema: no
Enterprise row, so no domain, no key, no membership, and nothing that lists enterprises (request
routing by domain, the per-enterprise fan-out of beat, the purges, termination) can reach it.

Its name is `_pool_<state>_<random>`: `_` first, which no enterprise schema can start with
(slugs start with a letter, tenants.services.SLUG_RE), and `<state>` the first 12 hex digits of
the template's migration state when it was made (tenants.provisioning.template_state). Only a
pool schema of the template's current state is claimed; the refill drops the others.
settings.TENANT_POOL_SIZE is how many to keep (0 turns the pool off: the tests' default)."""

from __future__ import annotations

import logging
import secrets

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from tenants.provisioning import clone_template_schema, template_state

logger = logging.getLogger(__name__)

POOL_PREFIX = "_pool_"
_STATE_DIGITS = 12


def _state_prefix(state: str) -> str:
    return f"{POOL_PREFIX}{state[:_STATE_DIGITS]}_"


def _like(prefix: str) -> str:
    return prefix.replace("_", r"\_") + "%"


def pool_schemas(*, state: str | None = None) -> list[str]:
    """The pool's schemas (of `state` only, when given), oldest name order."""
    prefix = _state_prefix(state) if state else POOL_PREFIX
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s ORDER BY nspname", [_like(prefix)])
        return [row[0] for row in cursor.fetchall()]


def is_pool_schema(name: str) -> bool:
    return name.startswith(POOL_PREFIX)


def pool_claim(*, new: str, template: str | None = None, state: str | None = None) -> bool:
    """Rename a pool schema of the template's current migration state to `new`, in the caller's
    transaction; False when the pool has none (the caller then builds the schema).

    Two sign-ups at once never get the same schema: each candidate is taken under a
    transaction-level advisory lock (held to the caller's commit) and checked again after it."""
    template = template or settings.TENANT_BASE_SCHEMA
    state = state or template_state(template)
    with connection.cursor() as cursor:
        for candidate in pool_schemas(state=state):
            cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", [candidate])
            if not cursor.fetchone()[0]:
                continue  # another sign-up is claiming it
            cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [candidate])
            if cursor.fetchone() is None:
                continue  # claimed and committed a moment ago
            try:
                with transaction.atomic():
                    cursor.execute(f'ALTER SCHEMA "{candidate}" RENAME TO "{new}"')
            except DatabaseError:
                logger.warning("could not claim pool schema %s for %s", candidate, new, exc_info=True)
                continue
            return True
    return False


def pool_fill(*, size: int | None = None, template: str | None = None) -> dict[str, int]:
    """Drop pool schemas of another migration state, then create schemas until the pool holds
    `size` (settings.TENANT_POOL_SIZE). Each schema is made in a transaction of its own (adding
    its foreign keys locks public.accounts_user against writes until commit: keep that short),
    under a transaction-level advisory lock so that two refills at once do not overfill.
    Returns {"dropped": …, "created": …}."""
    template = template or settings.TENANT_BASE_SCHEMA
    size = settings.TENANT_POOL_SIZE if size is None else size
    state = template_state(template)
    dropped = created = 0
    for name in pool_schemas():
        if not name.startswith(_state_prefix(state)):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
            dropped += 1
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('tenants.pool_fill'))")
            if len(pool_schemas(state=state)) >= size:
                break
            clone_template_schema(template=template, new=f"{_state_prefix(state)}{secrets.token_hex(6)}")
            created += 1
    return {"dropped": dropped, "created": created}
