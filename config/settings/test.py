"""Tests: real PostgreSQL and Redis (embedded or from DATABASE_URL / REDIS_URL)."""

import os
import uuid

from .base import *  # noqa: F403
from .base import CACHES

DEBUG = False
LANGUAGE_CODE = "en"
SMS_SENDER = "accounts.sms.OutboxSmsSender"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# A queue and key prefix of this test run's own, so a `make run` sharing the same Redis never
# picks up a test's tasks; the Celery worker started by the tests inherits them.
os.environ.setdefault("CELERY_QUEUE", f"test-{uuid.uuid4().hex[:12]}")
CELERY_TASK_DEFAULT_QUEUE = os.environ["CELERY_QUEUE"]
CACHES["default"]["KEY_PREFIX"] = f"test-{CELERY_TASK_DEFAULT_QUEUE}"
