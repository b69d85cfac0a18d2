"""Per-enterprise periodic tasks run through a real Celery worker and broker (RET-2's pattern)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from celery.result import AsyncResult
from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.selectors import membership_count
from core.tasks import enterprise_refresh_member_count
from tenants.models import Enterprise
from tenants.tasks import PublicSchemaRefused, dispatch_per_enterprise
from tests.conftest import end_other_sessions

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    db = settings.DATABASES["default"]
    host = quote(db["HOST"], safe="") if db["HOST"].startswith("/") else db["HOST"]
    port = f":{db['PORT']}" if db["PORT"] else ""
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{host}{port}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


@contextmanager
def worker_process(log_path: Path | None = None) -> Iterator[subprocess.Popen]:
    """A real worker process on this test run's own queue, against the test database, stopped on
    exit. Callers end its database sessions afterwards (`end_other_sessions`)."""
    env = {**os.environ, "DATABASE_URL": test_database_url(), "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    log_path = log_path or ROOT / ".data" / "test-celery-worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "-l",
            "info",
            "-Q",
            settings.CELERY_TASK_DEFAULT_QUEUE,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()


@pytest.fixture(scope="module")
def celery_worker(django_db_setup: None, django_db_blocker) -> Iterator[subprocess.Popen]:
    """A real worker process on this test run's own queue, against the test database."""
    with worker_process() as worker:
        yield worker
    end_other_sessions(django_db_blocker)  # before pytest-django drops the test database


@pytest.mark.celery_worker
def test_dispatcher_runs_the_task_once_per_active_enterprise_in_its_schema(world, celery_worker):
    # (no writes here: this test's open transaction would hold locks the worker needs)
    before = timezone.now()
    child_ids = dispatch_per_enterprise.delay(task_name="tenants.tasks.enterprise_refresh_member_count").get(timeout=90)
    results = [AsyncResult(task_id).get(timeout=60) for task_id in child_ids]
    schemas = sorted(result["schema"] for result in results)
    assert schemas == ["acme", "globex"]  # once each; never public; suspended initech skipped
    expected = {"acme": membership_count(enterprise=world.acme), "globex": membership_count(enterprise=world.globex)}
    assert {r["schema"]: r["member_count"] for r in results} == expected == {"acme": 6, "globex": 7}
    stored = Enterprise.objects.filter(schema_name__in=expected)
    assert {e.schema_name: e.member_count for e in stored} == expected
    assert all(e.member_count_at >= before for e in stored)
    assert Enterprise.objects.get(pk=world.initech.pk).member_count_at is None


def test_per_enterprise_task_refuses_the_public_schema(db):
    assert connection.schema_name == "public"
    with pytest.raises(PublicSchemaRefused):
        enterprise_refresh_member_count.apply(headers={"_schema_name": "public"}).get()


def test_beat_schedule_uses_the_dispatcher():
    entry = settings.CELERY_BEAT_SCHEDULE["refresh-member-counts"]
    assert entry["task"] == "tenants.tasks.dispatch_per_enterprise"
    assert entry["kwargs"]["task_name"] in dispatch_per_enterprise.app.tasks


def test_every_scheduled_per_enterprise_task_is_registered():
    from config.celery import app

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks
        if entry["task"] == "tenants.tasks.dispatch_per_enterprise":
            assert entry["kwargs"]["task_name"] in app.tasks
