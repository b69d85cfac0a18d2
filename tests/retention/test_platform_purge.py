"""The platform's own retention purge (RET-2..RET-5 for the public schema): SMS codes, the inbox,
the SMS/e-mail copies of messages and the account security records (sessions and browsers by when
they were last seen, the event log by when it was written) are deleted past their periods, nothing
younger, with a receipt per category; a concurrent run is skipped; the task works from an
enterprise's schema too."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.test import override_settings
from django.utils import timezone

from accounts.models import AccountEvent, AccountSession, KnownDevice, SmsCode
from accounts.services import sms_code_send
from consent.inbox.services import notify
from consent.models import Notification, NotificationDelivery
from retention.services.platform import PLATFORM_PURGE_LOCK, platform_purge
from retention.tasks import platform_purge as platform_purge_task
from tenants.context import enterprise_schema, public_schema
from tenants.models import PurgeReceipt

DAYS = {
    "sms_codes": 1,
    "notification_deliveries": 90,
    "notifications": 365,
    "account_sessions": 30,
    "known_devices": 365,
    "account_events": 180,
}


def _age(model, pks, days: float, column: str = "created_at") -> None:
    model.objects.filter(pk__in=pks).update(**{column: timezone.now() - timedelta(days=days)})


@pytest.fixture
def aged(world):
    """For each category: rows just past the period (due) and just inside it (kept), for two accounts."""
    due, kept = {}, {}
    codes = [
        sms_code_send(mobile=str(user.mobile), purpose=SmsCode.Purpose.REGISTER).pk for user in (world.bob, world.gus)
    ]
    _age(SmsCode, codes[:1], 1.01)
    _age(SmsCode, codes[1:], 0.99)
    due["sms_codes"], kept["sms_codes"] = codes[:1], codes[1:]

    old = [notify(account=user, kind="test", title="old", channels=["sms"]) for user in (world.bob, world.gus)]
    new = [notify(account=user, kind="test", title="new", channels=["sms"]) for user in (world.bob, world.gus)]
    # Inbox messages: the old ones are past 365 days; their SMS copies too (past 90).
    _age(Notification, [n.pk for n in old], 366)
    _age(Notification, [n.pk for n in new], 364)
    old_copies = list(NotificationDelivery.objects.filter(notification__in=old).values_list("pk", flat=True))
    new_copies = list(NotificationDelivery.objects.filter(notification__in=new).values_list("pk", flat=True))
    _age(NotificationDelivery, old_copies, 91)
    _age(NotificationDelivery, new_copies, 89)
    due["notifications"], kept["notifications"] = [n.pk for n in old], [n.pk for n in new]
    due["notification_deliveries"], kept["notification_deliveries"] = old_copies, new_copies

    # Security records: a session that began long ago but was seen yesterday stays (its age is
    # from when it was last seen); so does a browser first seen years ago and used last week.
    now = timezone.now()
    for category, model, column, days, make in (
        (
            "account_sessions",
            AccountSession,
            "last_seen",
            30,
            lambda user, n: AccountSession.objects.create(
                account=user, session_key_hash=f"{user.pk:x}{n}".ljust(64, "0")
            ),
        ),
        (
            "known_devices",
            KnownDevice,
            "last_seen",
            365,
            lambda user, n: KnownDevice.objects.create(account=user, device_hash=f"{user.pk:x}{n}".ljust(64, "0")),
        ),
        (
            "account_events",
            AccountEvent,
            "created_at",
            180,
            lambda user, n: AccountEvent.objects.create(account=user, kind=AccountEvent.Kind.EMAIL_SET),
        ),
    ):
        old_rows = [make(user, 1).pk for user in (world.bob, world.gus)]
        new_rows = [make(user, 2).pk for user in (world.bob, world.gus)]
        _age(model, old_rows, days + 0.01, column)
        _age(model, new_rows, days - 0.01, column)
        if column != "created_at":
            model.objects.filter(pk__in=new_rows).update(
                **{"first_seen" if model is KnownDevice else "created_at": now - timedelta(days=5 * 365)}
            )
        due[category], kept[category] = old_rows, new_rows
    assert all(due.values()) and all(kept.values())
    return due, kept


MODELS = {
    "sms_codes": SmsCode,
    "notification_deliveries": NotificationDelivery,
    "notifications": Notification,
    "account_sessions": AccountSession,
    "known_devices": KnownDevice,
    "account_events": AccountEvent,
}


@override_settings(PLATFORM_RETENTION_DAYS=DAYS)
def test_rows_past_the_period_are_deleted_younger_rows_stay_and_receipts_count_them(aged):
    due, kept = aged
    before = {category: model.objects.count() for category, model in MODELS.items()}

    outcome = platform_purge(batch_size=1)

    assert outcome.status == "done"
    assert outcome.rows == {category: len(pks) for category, pks in due.items()}
    for category, model in MODELS.items():
        assert not model.objects.filter(pk__in=due[category]).exists(), category
        assert model.objects.filter(pk__in=kept[category]).count() == len(kept[category]), category
        assert model.objects.count() == before[category] - len(due[category]), category
    receipts = PurgeReceipt.objects.filter(enterprise=None, schema_name="public")
    assert dict(receipts.values_list("category", "rows")) == outcome.rows
    assert {r.category: r.retention_days for r in receipts} == DAYS

    assert platform_purge().rows == dict.fromkeys(MODELS, 0)  # a second run has nothing left


@override_settings(PLATFORM_RETENTION_DAYS=DAYS)
def test_the_task_purges_the_public_schema_even_from_an_enterprise_schema(world, aged):
    due, _ = aged
    with enterprise_schema(world.acme):
        result = platform_purge_task.apply().get()
        assert connection.schema_name == world.acme.schema_name  # switched back afterwards
    assert result == {"status": "done", "rows": {category: len(pks) for category, pks in due.items()}}


@override_settings(PLATFORM_RETENTION_DAYS=DAYS)
def test_a_second_run_while_one_holds_the_lock_is_skipped_and_deletes_nothing(aged):
    due, _ = aged
    held, release = threading.Event(), threading.Event()

    def other_worker():
        # another run's transaction holds the transaction-level lock (issue 18 §4) until it ends
        try:
            with transaction.atomic(), connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", PLATFORM_PURGE_LOCK)
                held.set()
                release.wait(10)
        finally:
            connections["default"].close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert held.wait(10)
        assert platform_purge().status == "skipped"
        assert SmsCode.objects.filter(pk__in=due["sms_codes"]).exists()
    finally:
        release.set()
        thread.join()
    assert platform_purge().status == "done"


@pytest.mark.parametrize(
    "days",
    [{**DAYS, "sms_codes": 0}, {key: value for key, value in DAYS.items() if key != "notification_deliveries"}],
)
def test_bad_settings_are_refused_before_anything_is_deleted(aged, days):
    with override_settings(PLATFORM_RETENTION_DAYS=days), pytest.raises(ValueError):
        platform_purge()
    with public_schema():
        assert SmsCode.objects.filter(pk__in=aged[0]["sms_codes"]).exists()


@override_settings(PLATFORM_RETENTION_DAYS=DAYS)
def test_the_operators_read_the_receipts_categories_in_words(world, aged):
    from tests.test_admin import operator_client

    platform_purge()
    client = operator_client(world)
    page = client.get("/admin/tenants/purgereceipt/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for words in ("短信验证码", "已不再活动的登录会话", "已不再使用的浏览器", "账号安全事件"):
        assert words in page
    assert "account_sessions" not in page.replace('category=account_sessions"', "")  # only in filter links
