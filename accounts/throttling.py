"""Sign-in throttling with django-axes (SEC-2), and the counters of the abuse limits (SEC-7);
docs/security.md, "Sign-in throttling" and "Throttles and caps".

Rules (settings: AXES_FAILURE_LIMIT, PORTAL_LOGIN_FAILURE_LIMIT_PER_IP, AXES_COOLOFF_TIME):

* per account: at most 10 failed sign-ins within the cool-off (1 hour), counted over every IP
  address and browser, so rotating addresses does not help; the account is keyed by its
  normalised mobile number (`13900000003`, `+86 139 0000 0003` are one account);
* per IP address: at most 30 failed sign-ins within the cool-off, whatever the accounts;
* a locked client is refused (even with the right password) until the failures that locked it
  are older than the cool-off; failing again while locked does not extend the lockout;
* a successful sign-in forgets the failures of that account (not those of its IP address, so
  an attacker cannot clear the per-IP count by signing in to an account of their own).

Attempts live in axes' AccessAttempt table in the public schema (one row per account, IP
address and user agent, with a failure count and the time of the last failure).

The abuse limits (SEC-7: SMS codes per address and platform-wide, the API throttles in
tenants/throttling.py) count in Redis instead: `window_hit` adds one to a counter of the current
fixed window (a clock minute, hour or day) with an atomic INCR, so concurrent requests cannot
slip past a limit together; the counter expires with its window. The keys live in the
`throttle` cache, whose keys are NOT prefixed with the connection's schema (the default cache's
are): a caller puts the enterprise's schema into the key where a limit is per enterprise, and
leaves it out where it is platform-wide (an address, the platform's SMS budget).
"""

from __future__ import annotations

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet, Sum
from django.http import HttpRequest

from accounts.validators import normalize_mobile

USERNAME_MAX_LENGTH = 255  # AccessAttempt.username


def login_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the account a sign-in is for, as its normalised (E.164) mobile
    number; input that is no mobile number is kept as typed (it matches no account)."""
    raw = (credentials or {}).get("username")
    if raw is None and request is not None:
        raw = request.POST.get("username")
    raw = str(raw or "").strip()
    if not raw:
        return None
    try:
        return normalize_mobile(raw)
    except ValidationError:
        return raw[:USERNAME_MAX_LENGTH]


# --- fixed-window counters in Redis (SEC-7) ----------------------------------------------------


class LoginThrottleHandler(AxesDatabaseHandler):
    """axes' database handler with two limits instead of one: the account's failures against
    AXES_FAILURE_LIMIT and the IP address's against PORTAL_LOGIN_FAILURE_LIMIT_PER_IP."""

    @staticmethod
    def _failures(attempts: QuerySet[AccessAttempt]) -> int:
        return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        """The failure count axes compares with AXES_FAILURE_LIMIT: the account's failures in the
        cool-off window (over every IP address), or the limit itself once the IP address has
        reached its own limit."""
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
        username = get_client_username(request, credentials)
        by_account = self._failures(recent.filter(username=username)) if username else 0
        ip_address = getattr(request, "axes_ip_address", None)
        by_ip = self._failures(recent.filter(ip_address=ip_address)) if ip_address else 0
        if by_ip >= settings.PORTAL_LOGIN_FAILURE_LIMIT_PER_IP:
            return max(by_account, settings.AXES_FAILURE_LIMIT)
        return by_account

    def reset_user_attempts(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        """After a successful sign-in: forget the account's failures (from every address)."""
        username = get_client_username(request, credentials)
        if not username:
            return 0
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count
