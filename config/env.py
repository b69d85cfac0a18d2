"""Reading settings from the environment (one place, no third-party helper).

`DATABASE_URL` accepts the usual `postgres://user:pass@host:port/name` and, for the embedded
server started by `scripts/launcher.py`, a percent-encoded socket directory as host
(`postgres://postgres@%2Fpath%2Fto%2F.data%2Fpg/portal`).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"Set the environment variable {name}.")
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def db_config(url: str) -> dict[str, Any]:
    """Turn a DATABASE_URL into a Django DATABASES entry using the project's backend (django-tenants'
    own, made safe behind a transaction pooler when DATABASE_POOL_MODE=transaction: issue 18 §4)."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(f"DATABASE_URL must be a PostgreSQL URL, not {parts.scheme!r}.")
    hostport = parts.netloc.rsplit("@", 1)[-1]
    if hostport.lower().startswith("%2f"):  # a socket directory
        host, port = unquote(hostport), ""
    else:
        host, port = parts.hostname or "", str(parts.port or "")
    query = parse_qs(parts.query)
    if "host" in query:
        host = query["host"][0]
    pool_mode = env_str("DATABASE_POOL_MODE", "none").strip().lower()
    return {
        "ENGINE": "tenants.postgresql_backend",
        # "transaction" behind PgBouncer's transaction pooling: the search_path goes inside every
        # transaction, and server-side cursors (which outlive a transaction) are off
        "POOL_MODE": "" if pool_mode == "none" else pool_mode,
        "DISABLE_SERVER_SIDE_CURSORS": pool_mode == "transaction",
        "NAME": unquote(parts.path.lstrip("/")) or "portal",
        "USER": unquote(parts.username or "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": port,
        "CONN_MAX_AGE": env_int("CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
    }
