"""Account services (ACC-1): one-time SMS codes and registration."""

from __future__ import annotations

import math
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import SmsCode, User
from accounts.signals import account_registered
from accounts.sms import get_sms_sender
from accounts.validators import normalize_mobile
from tenants.throttling import Rate, RateLimited, address_key, window_hit, window_refund


def _code_hash(*, mobile: str, purpose: str, code: str) -> str:
    # Keyed with SECRET_KEY: a stolen table does not let anyone recover or test codes offline.
    return salted_hmac("accounts.sms_code", f"{mobile}:{purpose}:{code}", algorithm="sha256").hexdigest()


SMS_HOUR = 3600
SMS_PLATFORM_KEY = "sms:platform"


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


def _sms_caps_take(ip: str | None) -> None:
    """Count one code against the hourly caps of SEC-7: SMS_CODE_MAX_PER_ADDRESS_PER_HOUR from one
    client address (IPv6: its /64), whatever the numbers, and SMS_CODE_MAX_PER_HOUR_PLATFORM for
    the whole platform (Redis counters of the clock hour, tenants.throttling.window_hit).
    RateLimited (429, Retry-After: the end of the hour) when either is full; a refused code is
    not counted, so the counters are the codes sent."""
    address = address_key(ip)
    caps = (
        []
        if address is None
        else [
            (
                f"sms:address:{address}",
                settings.SMS_CODE_MAX_PER_ADDRESS_PER_HOUR,
                "sms_address_limit",
                _address_limit_message,
            )
        ]
    )
    caps.append(
        (SMS_PLATFORM_KEY, settings.SMS_CODE_MAX_PER_HOUR_PLATFORM, "sms_platform_limit", _platform_limit_message)
    )
    counted: list[tuple[str, Rate]] = []
    for key, limit, code, message in caps:
        rate = Rate(limit=limit, seconds=SMS_HOUR)
        counted.append((key, rate))
        wait = window_hit(key, rate)
        if wait is not None:
            for counter, counter_rate in counted:  # no code is sent: take every hit back
                window_refund(counter, counter_rate)
            raise RateLimited(message(_minutes(wait)), retry_after=wait, code=code)


def _address_limit_message(n: int) -> str:
    return ngettext(
        "Too many verification codes were requested from your network. Try again in %(n)d minute.",
        "Too many verification codes were requested from your network. Try again in %(n)d minutes.",
        n,
    ) % {"n": n}


def _platform_limit_message(n: int) -> str:
    return ngettext(
        "Too many verification codes are being requested right now. Try again in %(n)d minute.",
        "Too many verification codes are being requested right now. Try again in %(n)d minutes.",
        n,
    ) % {"n": n}


def sms_code_send(*, mobile: str, purpose: str, ip: str | None = None, deliver: bool = True) -> SmsCode:
    """Send a new 6-digit code. Refused (ValidationError on `mobile`) when one was sent less than
    SMS_CODE_RESEND_SECONDS ago or SMS_CODE_MAX_PER_HOUR were sent in the last hour to that
    number; refused with RateLimited (a 429) beyond the caps per client address `ip` and for
    the platform (`_sms_caps_take`). `ip` is tenants.throttling.client_ip of the request.

    `deliver=False` writes and counts the code exactly the same but sends no SMS: for a number
    that must not be told apart from one with an account (password reset, unfreezing)."""
    mobile = normalize_mobile(mobile)
    now = timezone.now()
    recent = SmsCode.objects.filter(mobile=mobile, purpose=purpose, created_at__gte=now - timedelta(hours=1))
    last = recent.order_by("-created_at").first()
    if last is not None:
        wait = int(settings.SMS_CODE_RESEND_SECONDS - (now - last.created_at).total_seconds())
        if wait > 0:
            raise ValidationError(
                {
                    "mobile": ngettext(
                        "Wait %(n)d second before asking for a new code.",
                        "Wait %(n)d seconds before asking for a new code.",
                        wait,
                    )
                    % {"n": wait}
                },
                code="throttled",
            )
    if recent.count() >= settings.SMS_CODE_MAX_PER_HOUR:
        raise ValidationError(
            {"mobile": _("Too many codes were sent to this number. Try again in an hour.")}, code="throttled"
        )
    _sms_caps_take(ip)
    code = f"{secrets.randbelow(10**6):06d}"
    sms_code = SmsCode.objects.create(
        mobile=mobile,
        purpose=purpose,
        code_hash=_code_hash(mobile=mobile, purpose=purpose, code=code),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.SMS_CODE_TTL_SECONDS),
        sent_to_ip=ip,
    )
    if deliver:
        get_sms_sender().send(
            mobile=mobile,
            text=_("Your verification code is %(code)s. It is valid for 5 minutes. Do not share it.") % {"code": code},
        )
    return sms_code


def sms_code_verify(*, mobile: str, purpose: str, code: str) -> None:
    """Check `code` against the newest unexpired code; consume it on success.

    Every wrong try counts (at most SMS_CODE_MAX_ATTEMPTS). Call it outside any atomic block,
    before writing anything else, so that a failed try is counted and nothing else is written."""
    mobile = normalize_mobile(mobile)
    now = timezone.now()
    sms_code = (
        SmsCode.objects.filter(mobile=mobile, purpose=purpose, consumed_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at")
        .first()
    )
    if sms_code is None:
        raise ValidationError(
            {"code": _("The code has expired or was never sent. Ask for a new code.")}, code="expired"
        )
    if sms_code.attempts >= settings.SMS_CODE_MAX_ATTEMPTS:
        raise ValidationError({"code": _("Too many wrong codes. Ask for a new code.")}, code="locked")
    SmsCode.objects.filter(pk=sms_code.pk).update(attempts=F("attempts") + 1)
    expected = _code_hash(mobile=mobile, purpose=purpose, code=(code or "").strip())
    if not constant_time_compare(expected, sms_code.code_hash):
        left = settings.SMS_CODE_MAX_ATTEMPTS - sms_code.attempts - 1
        raise ValidationError(
            {
                "code": ngettext("Wrong code. %(n)d try left.", "Wrong code. %(n)d tries left.", left) % {"n": left}
                if left > 0
                else _("Too many wrong codes. Ask for a new code.")
            },
            code="invalid",
        )
    SmsCode.objects.filter(pk=sms_code.pk).update(consumed_at=now)


def account_register(
    *,
    mobile: str,
    code: str,
    password: str,
    nickname: str = "",
    policy_accepted: bool,
    ip: str | None = None,
    channel: str = "web",
) -> User:
    """Create an account once its mobile number is confirmed by an SMS code (ACC-1).

    The person must accept the privacy policy in force (CON-1): without `policy_accepted` nothing
    is written (field error on `accept_policy`); with it, the acceptance of the current version
    (channel, IP) is recorded in the same transaction as the account. Before the first version
    is published there is nothing to record. The acceptance is written by consent, which listens to
    `accounts.signals.account_registered` (accounts sit below consent: docs/architecture.md)."""
    if not policy_accepted:
        raise ValidationError(
            {"accept_policy": _("Accept the privacy policy to create an account.")}, code="policy_not_accepted"
        )
    mobile = normalize_mobile(mobile)
    if User.objects.filter(mobile=mobile).exists():
        raise ValidationError(
            {"mobile": _("An account with this mobile number already exists. Sign in instead.")}, code="duplicate"
        )
    try:
        validate_password(password, user=User(mobile=mobile, nickname=nickname))
    except ValidationError as error:
        raise ValidationError({"password": error.messages}, code="weak_password") from error
    sms_code_verify(mobile=mobile, purpose=SmsCode.Purpose.REGISTER, code=code)
    with transaction.atomic():
        user = User.objects.create_user(mobile, password, nickname=nickname.strip())
        # consent records the acceptance here, in this transaction (consent/receivers.py)
        account_registered.send(sender=User, account=user, ip=ip, channel=channel)
        return user
