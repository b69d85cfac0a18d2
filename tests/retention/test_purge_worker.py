"""The daily purge through a real Celery worker and broker (RET-2): beat's dispatcher fans out
one purge per enterprise in the states it names, each in its own schema.

The worker cannot see this test's (uncommitted) transaction, so the expired rows are written
and cleaned up from a separate thread with its own, autocommitting connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from celery.result import AsyncResult
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from health.models import HealthReport
from ledger.models import LedgerEntry
from retention.models import PurgeRun
from tenants.context import enterprise_schema
from tenants.models import PurgeReceipt
from tenants.tasks import dispatch_per_enterprise
from tests.tenants.test_tasks import celery_worker  # noqa: F401  (the fixture)


def committed(work: Callable[[], Any]) -> Any:
    """Run `work` in another thread, on its own connection (autocommit), and return its result."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = work()
        except BaseException as error:  # noqa: BLE001  (re-raised in the test's thread)
            box["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=60)
    if "error" in box:
        raise box["error"]
    return box.get("result")


@pytest.mark.celery_worker
def test_beat_dispatch_purges_each_enterprise_once_in_its_schema(world, celery_worker):  # noqa: F811
    gus = world.membership(world.globex, world.gus)
    today = timezone.localdate()

    def seed() -> dict[str, Any]:
        with enterprise_schema(world.globex):
            last_entry = LedgerEntry.objects.order_by("-id").values_list("id", flat=True).first()
            due = [
                HealthReport.objects.create(
                    membership_id=gus.pk,
                    date=today - timedelta(days=40 + i),
                    city="Wuhan",
                    unwell=False,
                    details_encrypted=b"x",
                ).pk
                for i in range(3)
            ]
            kept = [
                HealthReport.objects.create(
                    membership_id=gus.pk,
                    date=today - timedelta(days=20 + i),
                    city="Wuhan",
                    unwell=False,
                    details_encrypted=b"x",
                ).pk
                for i in range(2)
            ]
        return {"last_entry": last_entry, "due": due, "kept": kept}

    seeded = committed(seed)
    entry = settings.CELERY_BEAT_SCHEDULE["retention-purge"]
    results: list[dict[str, Any]] = []
    try:
        child_ids = dispatch_per_enterprise.apply_async(kwargs=entry["kwargs"]).get(timeout=90)
        results = [AsyncResult(task_id).get(timeout=90) for task_id in child_ids]
        by_schema = {result["schema"]: result for result in results}
        # once each, never public; the suspended initech too (minimisation does not pause)
        assert sorted(r["schema"] for r in results) == ["acme", "globex", "initech"]
        assert {r["status"] for r in results} == {"done"}
        assert by_schema["globex"]["rows"]["health_reports"] == 3
        assert by_schema["acme"]["rows"]["health_reports"] == 0

        def check() -> tuple[list[int], dict[str, int], int]:
            with enterprise_schema(world.globex):
                left = sorted(
                    HealthReport.objects.filter(pk__in=seeded["due"] + seeded["kept"]).values_list("pk", flat=True)
                )
                receipts = dict(
                    PurgeReceipt.objects.filter(
                        enterprise=world.globex, run_id=by_schema["globex"]["run_id"]
                    ).values_list("category", "rows")
                )
                entries = LedgerEntry.objects.filter(id__gt=seeded["last_entry"], purpose="retention purge").count()
            return left, receipts, entries

        left, receipts, entries = committed(check)
        assert left == sorted(seeded["kept"])
        assert receipts["health_reports"] == 3 and len(receipts) == 8
        assert entries == 1
    finally:

        def clean() -> None:
            run_ids = {r["schema"]: r["run_id"] for r in results if r.get("run_id")}
            PurgeReceipt.objects.filter(schema_name__in=run_ids.keys(), run_id__in=run_ids.values()).delete()
            for enterprise in (world.acme, world.globex, world.initech):
                with enterprise_schema(enterprise):
                    PurgeRun.objects.all().delete()
            with enterprise_schema(world.globex), transaction.atomic(), connection.cursor() as cursor:
                HealthReport.objects.filter(pk__in=seeded["due"] + seeded["kept"]).delete()
                # the receipt's ledger entry is the chain's head: removing it leaves the chain whole
                cursor.execute("SET LOCAL portal.ledger_purge = 'on'")
                cursor.execute("DELETE FROM enterprise_data_ledgerentry WHERE id > %s", [seeded["last_entry"]])

        committed(clean)
