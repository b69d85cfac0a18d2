"""CON-6 end to end through a real Celery worker on the real broker: a withdrawal committed by the
portal schedules the deletion, and the worker — a separate process — performs it in the right
enterprise's schema.

A worker cannot see rows written inside a test's transaction, so this test writes committed data
from a thread with its own database connection, and removes it again at the end."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from consent.consents.services import consent_withdraw
from consent.models import ConsentRecord
from core.models import Membership
from core.services import membership_create
from health.models import HealthReport
from health.services import health_report_submit
from ledger.models import LedgerEntry
from tenants.context import enterprise_schema
from tenants.models import MembershipIndex
from tests.conftest import consent_everything
from tests.tenants.test_tasks import celery_worker  # noqa: F401  (the module's real worker)

MOBILE = "+8613700077001"


def committed(fn: Callable[[], Any]) -> Any:
    """Run `fn` in a thread on its own (autocommit) connection, so its writes are committed."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as error:  # re-raised in the test's thread
            box["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


@pytest.mark.celery_worker
def test_a_withdrawal_is_executed_by_the_worker_in_that_enterprise(world, celery_worker):  # noqa: F811
    acme, globex = world.acme, world.globex
    gus = world.membership(globex, world.gus)

    def setup() -> tuple[int, int]:
        account = User.objects.create_user(MOBILE, "a-long-pass-42", nickname="Wendy Worker")
        member = membership_create(enterprise=acme, account=account, role=Membership.Role.MEMBER)
        consent_everything(acme, member)
        today = timezone.localdate()  # the service takes reports of the last 7 local days only
        for day in (today - timedelta(days=1), today):
            health_report_submit(enterprise=acme, membership=member, date=day, city="Shanghai", unwell=False)
        with enterprise_schema(acme):
            record = ConsentRecord.objects.get(membership=member, category="health", withdrawn_at__isnull=True)
        return account.pk, record.pk

    def globex_reports() -> int:
        with enterprise_schema(globex):
            return HealthReport.objects.filter(membership=gus).count()

    def ledger_head() -> int:
        with enterprise_schema(acme):
            return LedgerEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0

    head = committed(ledger_head)
    try:
        account_id, record_id = committed(setup)
        globex_before = committed(globex_reports)

        def withdraw() -> None:  # commits, so on_commit sends the task to the broker
            with enterprise_schema(acme):
                member = Membership.objects.get(account_id=account_id)
            consent_withdraw(enterprise=acme, membership=member, record_id=record_id)

        committed(withdraw)

        def state() -> tuple[str, int, dict]:
            with enterprise_schema(acme):
                record = ConsentRecord.objects.get(pk=record_id)
                return (
                    record.erasure,
                    HealthReport.objects.filter(membership_id=record.membership_id).count(),
                    record.erased_counts,
                )

        deadline = time.monotonic() + 120  # generous: CI machines can be busy
        while (current := committed(state))[0] != ConsentRecord.Erasure.DONE and time.monotonic() < deadline:
            time.sleep(0.25)
        assert current == (ConsentRecord.Erasure.DONE, 0, {"health_reports": 2})
        assert committed(globex_reports) == globex_before
    finally:

        def cleanup() -> None:
            """Leave the World as it was: the member, its account, and the ledger's new tail (the
            append-only trigger lets a transaction that sets portal.ledger_purge delete rows; the
            chain stays valid because only entries after `head` go)."""
            account = User.objects.filter(mobile=MOBILE).first()
            with enterprise_schema(acme), transaction.atomic():
                if account is not None:
                    Membership.objects.filter(account_id=account.pk).delete()
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL portal.ledger_purge = 'on'")
                LedgerEntry.objects.filter(id__gt=head).delete()
            if account is not None:
                MembershipIndex.objects.filter(account_id=account.pk).delete()
                account.delete()

        committed(cleanup)
