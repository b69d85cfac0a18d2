"""Pluggable SMS senders (settings.SMS_SENDER). A real provider implements `send`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsSender(Protocol):
    def send(self, *, mobile: str, text: str) -> None: ...


class ConsoleSmsSender:
    """Development: prints the message on the web server's console."""

    def send(self, *, mobile: str, text: str) -> None:
        print(f"[SMS to {mobile}] {text}", flush=True)
        logger.info("SMS to %s sent to the console", mobile)


@dataclass
class SentSms:
    mobile: str
    text: str


outbox: list[SentSms] = []


class OutboxSmsSender:
    """Tests: keeps messages in `accounts.sms.outbox`, like django.core.mail.outbox."""

    def send(self, *, mobile: str, text: str) -> None:
        outbox.append(SentSms(mobile=mobile, text=text))


def get_sms_sender() -> SmsSender:
    sender: SmsSender = import_string(settings.SMS_SENDER)()
    return sender
