"""Ids from the outside world (forms, JSON, query strings, task arguments).

Primary keys are PostgreSQL bigints: a number beyond MAX_ID can only be nobody's, and handing it
to a query would make the database raise (a 500), so `object_id` treats it like any non-id."""

from __future__ import annotations

from typing import Any

MAX_ID = 2**63 - 1


def object_id(value: Any) -> int | None:
    """A positive bigint id from `value` (a model instance's pk too), else None."""
    value = getattr(value, "pk", value)
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None
