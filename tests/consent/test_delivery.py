"""The notification service's SMS and e-mail channels (SEC-5): rows written with the inbox message,
sent after the commit by Celery, retried on failure with the outcome recorded."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import override_settings

from accounts import sms
from accounts.models import User
from consent.inbox.delivery import MAX_ATTEMPTS, deliveries_attempt, deliveries_pending_send, send_to_address
from consent.inbox.services import notify, notify_many
from consent.models import Notification, NotificationDelivery
from consent.tasks import notification_deliver


class BrokenSmsSender:
    """A provider that is down (a real class the settings point at, not a mock of ours)."""

    def send(self, *, mobile: str, text: str) -> None:
        raise ConnectionError("provider unreachable")


@pytest.fixture(autouse=True)
def _empty_outboxes():
    sms.outbox.clear()
    mail.outbox.clear()


def test_notify_writes_the_inbox_and_schedules_sms_and_email_after_commit(world, django_capture_on_commit_callbacks):
    User.objects.filter(pk=world.bob.pk).update(email="bob@example.com")
    world.bob.refresh_from_db()
    with django_capture_on_commit_callbacks() as scheduled:
        notification = notify(
            account=world.bob,
            kind="incident",
            title="Security notice",
            body="Change your password",
            url="/me/inbox/",
            channels=("sms", "email"),
        )
    assert len(scheduled) == 1 and not sms.outbox and not mail.outbox  # nothing leaves before the commit
    rows = list(NotificationDelivery.objects.filter(notification=notification).order_by("channel"))
    assert [(r.channel, r.address, r.status) for r in rows] == [
        ("email", "bob@example.com", "pending"),
        ("sms", "+8613900000003", "pending"),
    ]
    assert deliveries_attempt(delivery_ids=[r.pk for r in rows]) == []
    assert [(m.mobile, m.text) for m in sms.outbox] == [("+8613900000003", "Security notice Change your password")]
    assert [(m.to, m.subject) for m in mail.outbox] == [(["bob@example.com"], "Security notice")]
    assert "/me/inbox/" in mail.outbox[0].body
    assert set(NotificationDelivery.objects.filter(notification=notification).values_list("status", flat=True)) == {
        "sent"
    }
    assert deliveries_attempt(delivery_ids=[r.pk for r in rows]) == [] and len(sms.outbox) == 1  # never twice


def test_an_account_without_email_gets_no_email_row(world):
    notify(account=world.erin, kind="test", title="Hello", channels=("email",))
    assert not NotificationDelivery.objects.filter(address="").exists()
    assert not NotificationDelivery.objects.filter(notification__account=world.erin).exists()


def test_inbox_only_by_default(world):
    notification = notify(account=world.erin, kind="test", title="Hello")
    assert Notification.objects.filter(account=world.erin, title="Hello").exists()
    assert not NotificationDelivery.objects.filter(notification=notification).exists()


def test_notify_many_is_set_based(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    few = [world.bob.pk, world.erin.pk, world.gus.pk]
    many = list(User.objects.values_list("pk", flat=True))
    counted = []
    for ids in (few, many):
        with CaptureQueriesContext(connection) as queries:
            assert notify_many(account_ids=ids, kind="test", title="Maintenance tonight", channels=("sms",)) == len(ids)
        counted.append(len(queries))
    assert counted[0] == counted[1]  # the same statements for 3 and for every account
    assert NotificationDelivery.objects.filter(kind="test", channel="sms").count() == len(few) + len(many)


def test_unknown_channel_is_a_programming_error(world):
    with pytest.raises(ValueError):
        notify(account=world.bob, kind="test", title="x", channels=("pigeon",))
    assert not Notification.objects.filter(title="x").exists()


@override_settings(SMS_SENDER="tests.consent.test_delivery.BrokenSmsSender")
def test_failures_are_retried_then_recorded_as_failed(world):
    row = send_to_address(channel="sms", address="+8613700001234", kind="invitation", text="Join us")
    for attempt in range(1, MAX_ATTEMPTS):
        assert deliveries_attempt(delivery_ids=[row.pk]) == [row.pk]  # still pending: the task retries it
        row.refresh_from_db()
        assert (row.status, row.attempts) == ("pending", attempt)
    assert deliveries_attempt(delivery_ids=[row.pk]) == []
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert row.last_error == "ConnectionError: provider unreachable"


def test_the_task_sends_and_reports(world):
    row = send_to_address(channel="sms", address="+8613700001235", kind="invitation", text="Join us")
    result = notification_deliver.apply(kwargs={"delivery_ids": [row.pk]}).get()
    assert result == {"sent_or_skipped": 1}
    assert [(m.mobile, m.text) for m in sms.outbox] == [("+8613700001235", "Join us")]
    assert deliveries_pending_send() == 0
