"""Tests: real PostgreSQL and Redis (embedded or from DATABASE_URL / REDIS_URL)."""

import os
import uuid

from config.env import db_config

from .base import *  # noqa: F403
from .base import CACHES, STORAGES

# issue 18 §5: `CITUS_DATABASE_URL` (a Citus coordinator's database, made on every node by
# `scripts/citus_cluster.py createdb`) runs the session there instead of DATABASE_URL. The tests use
# that database itself (pytest-django --reuse-db; tests/conftest.py empties it first): a
# database created by Django on the coordinator would exist on no worker.
CITUS_DATABASE_URL = os.environ.get("CITUS_DATABASE_URL", "").strip()
if CITUS_DATABASE_URL:
    DATABASES = {"default": db_config(CITUS_DATABASE_URL)}
    DATABASES["default"]["TEST"] = {"NAME": DATABASES["default"]["NAME"]}

DEBUG = False
LANGUAGE_CODE = "en"
# No collectstatic before the tests: plain names, and whitenoise serves from the finders.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None  # type: ignore[assignment]  # nothing collected: whitenoise looks for no folder
TENANT_POOL_SIZE = 0  # issue 18 §2: no warm pool unless a test sets one (tests/tenants/test_pool.py)
SMS_SENDER = "accounts.sms.OutboxSmsSender"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# A queue and key prefix of this test run's own, so a `make run` sharing the same Redis never
# picks up a test's tasks; the Celery worker started by the tests inherits them.
os.environ.setdefault("CELERY_QUEUE", f"test-{uuid.uuid4().hex[:12]}")
CELERY_TASK_DEFAULT_QUEUE = os.environ["CELERY_QUEUE"]
CACHES["default"]["KEY_PREFIX"] = f"test-{CELERY_TASK_DEFAULT_QUEUE}"
CACHES["throttle"]["KEY_PREFIX"] = CACHES["default"]["KEY_PREFIX"]
CACHES["routing"]["KEY_PREFIX"] = CACHES["default"]["KEY_PREFIX"]
# SEC-7: the whole suite runs from one address (127.0.0.1) as a few personas, within minutes:
# generous limits here. Each limit is proved with its real default or a low one set by the test,
# with counters of its own (tests/accounts/test_throttling.py, tests/tenants/test_throttling.py,
# tests/requests/test_open_request_limit.py).
SMS_CODE_MAX_PER_ADDRESS_PER_HOUR = 100_000
SMS_CODE_MAX_PER_HOUR_PLATFORM = 100_000
SIGN_IN_HANDOFF_MAX_PER_ADDRESS_PER_MINUTE = 100_000
REQUEST_MAX_OPEN_PER_MEMBER = 1_000  # tests that seed long lists of requests
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {scope: "100000/min" for scope in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]},
}  # noqa: F405
