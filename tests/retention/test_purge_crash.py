"""RET-4 with a real worker: the worker process is killed (SIGKILL) in the middle of a purge; a
new worker runs it again and exactly the rows that were due are gone — no more, none left.

The data is committed from a separate thread (the worker cannot see the test's transaction) and
removed again at the end."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from health.models import HealthReport
from ledger.models import LedgerEntry
from retention.models import PurgeRun, PurgeStep
from retention.tasks import retention_purge
from tenants.context import enterprise_schema
from tenants.models import PurgeReceipt
from tests.conftest import end_other_sessions
from tests.retention.test_purge_worker import committed
from tests.tenants.test_tasks import ROOT, test_database_url

DUE, KEPT = 1500, 3


def start_worker() -> subprocess.Popen:
    from django.conf import settings

    env = {**os.environ, "DATABASE_URL": test_database_url(), "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    (ROOT / ".data").mkdir(exist_ok=True)
    log = open(ROOT / ".data" / "test-celery-worker-crash.log", "a")  # noqa: SIM115
    return subprocess.Popen(
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


def stop(worker: subprocess.Popen) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


@pytest.mark.celery_worker
def test_a_worker_killed_mid_purge_and_a_new_run_delete_exactly_what_was_due(world, django_db_blocker):
    gus = world.membership(world.globex, world.gus)
    today = timezone.localdate()

    def seed() -> dict[str, Any]:
        with enterprise_schema(world.globex):
            last_entry = LedgerEntry.objects.order_by("-id").values_list("id", flat=True).first()
            HealthReport.objects.bulk_create(
                [
                    HealthReport(
                        membership_id=gus.pk,
                        date=today - timedelta(days=40 + i),
                        city="Xi'an",
                        unwell=False,
                        details_encrypted=b"x",
                    )
                    for i in range(DUE)
                ]
                + [
                    HealthReport(
                        membership_id=gus.pk,
                        date=today - timedelta(days=10 + i),
                        city="Xi'an",
                        unwell=False,
                        details_encrypted=b"x",
                    )
                    for i in range(KEPT)
                ]
            )
            kept = list(
                HealthReport.objects.filter(membership_id=gus.pk, date__gt=today - timedelta(days=30)).values_list(
                    "pk", flat=True
                )
            )
        return {"last_entry": last_entry, "kept": sorted(kept)}

    seeded = committed(seed)

    def progress() -> tuple[str | None, int]:
        with enterprise_schema(world.globex):
            step = PurgeStep.objects.filter(category="health_reports", run__status="running").first()
            return (None, 0) if step is None else (step.run.status, step.rows)

    def remaining() -> int:
        with enterprise_schema(world.globex):
            return HealthReport.objects.filter(membership_id=gus.pk).count()

    worker = start_worker()
    second = None
    try:
        retention_purge.apply_async(kwargs={"batch_size": 1}, headers={"_schema_name": "globex"})
        deadline = time.monotonic() + 120
        while committed(progress)[1] < 20:  # some batches are committed …
            assert time.monotonic() < deadline, "the purge did not start"
            time.sleep(0.05)
        worker.kill()  # … and the worker dies in the middle (SIGKILL: no clean-up at all)
        worker.wait()
        status, rows = committed(progress)
        assert status == "running" and 20 <= rows < DUE  # interrupted, its batches counted
        assert committed(remaining) == DUE + KEPT - rows  # the count is exactly what is gone

        second = start_worker()
        result = retention_purge.apply_async(kwargs={"batch_size": 400}, headers={"_schema_name": "globex"}).get(
            timeout=120
        )
        assert result["status"] == "done" and result["resumed"]
        assert result["rows"]["health_reports"] == DUE  # over both attempts, once

        def after() -> tuple[list[int], int, int]:
            with enterprise_schema(world.globex):
                left = sorted(HealthReport.objects.filter(membership_id=gus.pk).values_list("pk", flat=True))
                receipts = PurgeReceipt.objects.filter(
                    enterprise=world.globex, run_id=result["run_id"], category="health_reports"
                )
                return left, receipts.get().rows, receipts.count()

        left, receipt_rows, receipts = committed(after)
        assert left == seeded["kept"]  # none of the kept ones, all of the due ones
        assert receipt_rows == DUE and receipts == 1
    finally:
        for process in (worker, second):
            if process is not None and process.poll() is None:
                stop(process)

        def clean() -> None:
            from django.db import connection, transaction

            with enterprise_schema(world.globex):
                run_ids = list(PurgeRun.objects.values_list("pk", flat=True))
                PurgeReceipt.objects.filter(enterprise=world.globex, run_id__in=run_ids).delete()
                PurgeRun.objects.all().delete()
                HealthReport.objects.filter(membership_id=gus.pk).delete()
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute("SET LOCAL portal.ledger_purge = 'on'")
                    cursor.execute("DELETE FROM enterprise_data_ledgerentry WHERE id > %s", [seeded["last_entry"]])

        committed(clean)
        end_other_sessions(django_db_blocker)
