"""For mypy's Django plugin only (`make lint`): settings import without any server or secret."""

import os

os.environ.setdefault("SECRET_KEY", "typecheck-only")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@localhost/typecheck")
os.environ.setdefault("REDIS_URL", "redis://localhost:6379/0")
os.environ.setdefault("PORTAL_MASTER_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")

from .base import *  # noqa: E402, F403
