from __future__ import annotations

import math

from django.conf import settings
from django.utils import timezone

from accounts.models import SmsCode, User
from accounts.validators import normalize_mobile


def account_by_mobile(*, mobile: str) -> User | None:
    """The account with this mobile number (any accepted spelling), or None."""
    return User.objects.filter(mobile=normalize_mobile(mobile)).first()


def sms_code_resend_wait(*, mobile: str, purpose: str) -> int:
    """Seconds before a new code may be sent to `mobile` for `purpose` (0: now), the same
    SMS_CODE_RESEND_SECONDS rule accounts.services.sms_code_send enforces: the sign-up page's
    countdown on "send a new code" starts from it."""
    last = SmsCode.objects.filter(mobile=normalize_mobile(mobile), purpose=purpose).order_by("-created_at").first()
    if last is None:
        return 0
    return max(0, math.ceil(settings.SMS_CODE_RESEND_SECONDS - (timezone.now() - last.created_at).total_seconds()))
