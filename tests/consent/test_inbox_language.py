"""Inbox messages are read in the reader's language, whatever language their sender used
(issue 17 §5, consent/messages.py, docs/i18n.md "Notifications")."""

from __future__ import annotations

from pathlib import Path

from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from consent.inbox.services import notify, notify_many
from consent.messages import Choice, Message, Texts
from consent.models import Notification
from requests.models import Request

CLOSING = gettext_noop("%(enterprise)s will close on %(date)s")


def test_a_message_sent_in_chinese_reads_in_english_on_an_english_page(client_for, world):
    with translation.override("zh-hans"):  # the sender's language (an operator working in Chinese)
        notify(
            account=world.bob,
            kind="test",
            title=Message(CLOSING, {"enterprise": "Acme Test", "date": "2027-01-31"}),
            body=Message(gettext_noop("You left %(enterprise)s"), {"enterprise": "Acme Test"}),
        )
    stored = Notification.objects.get(account=world.bob, kind="test")
    # the sender's text is kept too (SMS and e-mail copies, the admin)
    assert "2027-01-31" in stored.title and "will close" not in stored.title
    client = client_for("acme", world.bob)
    english = client.get("/me/inbox/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Acme Test will close on 2027-01-31" in english and "You left Acme Test" in english
    chinese = client.get("/me/inbox/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Acme Test will close on" not in chinese and "2027-01-31" in chinese
    api = client.get("/api/v1/me/notifications/", HTTP_ACCEPT_LANGUAGE="en").json()["results"][0]
    assert api["title"] == "Acme Test will close on 2027-01-31" and api["body"] == "You left Acme Test"


def test_choices_are_labelled_and_numbers_keep_their_format_at_read_time(world):
    notify_many(
        account_ids=[world.bob.pk],
        kind="test",
        title=Message(
            gettext_noop("Your request #%(id)s (%(kind)s): %(status)s"),
            {
                "id": 7,
                "kind": Choice("requests.request", "kind", "access"),
                "status": Choice("requests.request", "status", "completed"),
            },
        ),
        body=Message(
            gettext_noop("Request #%(id)s: %(left)d working days left (due %(due)s)"),
            {"id": 7, "left": 5, "due": "2027-01-08"},
        ),
    )
    notification = Notification.objects.get(account=world.bob, kind="test")
    for language in ("en", "zh-hans"):
        with translation.override(language):
            kind = str(dict(Request._meta.get_field("kind").flatchoices)["access"])
            status = str(Request.Status.COMPLETED.label)
            assert notification.display_title == gettext("Your request #%(id)s (%(kind)s): %(status)s") % {
                "id": 7,
                "kind": kind,
                "status": status,
            }
    with translation.override("en"):
        assert notification.display_body == "Request #7: 5 working days left (due 2027-01-08)"
    with translation.override("zh-hans"):
        assert "5" in notification.display_body and "working days" not in notification.display_body
        assert "completed" not in notification.display_title and "access" not in notification.display_title


def test_text_written_in_both_languages_is_shown_in_the_readers_and_stored_in_both(world):
    notify(
        account=world.bob,
        kind="test",
        title=Texts({"zh-hans": "考勤设备数据泄露", "en": "Attendance device data exposed"}),
    )
    notification = Notification.objects.get(account=world.bob, kind="test")
    assert notification.title == "考勤设备数据泄露 / Attendance device data exposed"  # SMS and e-mail copies
    with translation.override("en"):
        assert notification.display_title == "Attendance device data exposed"
    with translation.override("zh-hans"):
        assert notification.display_title == "考勤设备数据泄露"


def test_old_rows_without_a_message_keep_their_stored_text(world):
    notify(account=world.bob, kind="test", title="Plain old title", body="Plain old body")
    notification = Notification.objects.get(account=world.bob, kind="test")
    assert notification.title_message is None
    with translation.override("zh-hans"):
        assert (notification.display_title, notification.display_body) == ("Plain old title", "Plain old body")


def test_the_health_reminder_is_no_longer_bilingual_text(world):
    """The reminder used to be stored as "请提交… / Please submit…": an English page showed Chinese."""
    from health import services

    source = Path(services.__file__).read_text(encoding="utf-8")
    assert "请提交" not in source
