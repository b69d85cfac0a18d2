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

import ipaddress
import math
import time
from dataclasses import dataclass
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import caches
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


def client_ip(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the client's address.

    REMOTE_ADDR, unless the portal runs behind PORTAL_TRUSTED_PROXY_COUNT reverse proxies
    (production: 1): then the address the outermost trusted proxy appended to
    X-Forwarded-For. Entries further left are written by the client and never trusted."""
    remote = request.META.get("REMOTE_ADDR") or None
    count = settings.PORTAL_TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < count:
        return remote
    candidate = forwarded[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def address_key(address: str | None) -> str | None:
    """The part of a client address a per-address limit counts: an IPv4 address as it is, an
    IPv6 address by its /64 network (one subscriber usually holds a whole /64, so counting single
    IPv6 addresses would let them rotate past any limit)."""
    if not address:
        return None
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


# --- fixed-window counters in Redis (SEC-7) ----------------------------------------------------

THROTTLE_CACHE = "throttle"  # settings.CACHES alias: same Redis, keys without the schema
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    """At most `limit` hits per `seconds`-long window."""

    limit: int
    seconds: int

    @classmethod
    def parse(cls, rate: str) -> Rate:
        """DRF's notation: `"120/min"`, `"10/hour"`, `"5/h"`, `"1000/day"`, `"3/second"`."""
        number, _, period = rate.partition("/")
        limit = int(number)
        seconds = PERIODS.get(period.strip()[:1].lower())
        if limit < 0 or seconds is None:
            raise ValueError(f"Not a rate: {rate!r} (use e.g. 120/min, 10/hour, 1000/day).")
        return cls(limit=limit, seconds=seconds)


def _window_key(key: str, rate: Rate, now: float) -> tuple[str, float]:
    """The counter of `key` in the window `now` falls in, and the time that window ends."""
    window = int(now // rate.seconds)
    return f"{key}:{rate.seconds}:{window}", float((window + 1) * rate.seconds)


def window_hit(key: str, rate: Rate, *, now: float | None = None) -> int | None:
    """Count one hit for `key`; None while the window's count is within `rate.limit`, else the
    whole seconds until the window ends (Retry-After; at least 1). The hit is counted either
    way, so a client that keeps trying is still refused until the window ends — and no longer."""
    now = time.time() if now is None else now
    counter, ends = _window_key(key, rate, now)
    cache = caches[THROTTLE_CACHE]
    try:
        count = cache.incr(counter)
    except ValueError:  # the window's first hit: start its counter (it expires after the window)
        count = 1 if cache.add(counter, 1, timeout=rate.seconds + 1) else cache.incr(counter)
    if count <= rate.limit:
        return None
    return max(1, math.ceil(ends - now))


def window_refund(key: str, rate: Rate, *, now: float | None = None) -> None:
    """Take back a hit counted by `window_hit` in this window (a later check refused the action,
    so it did not happen)."""
    counter, _ends = _window_key(key, rate, time.time() if now is None else now)
    try:
        caches[THROTTLE_CACHE].decr(counter)
    except ValueError:  # the window is over: nothing to take back
        pass


class RateLimited(Exception):
    """An abuse limit refused the action (SEC-7): pages answer 429 with `message`, the API a JSON
    429 (tenants.apis.exception_handler); both with `Retry-After: retry_after`."""

    def __init__(self, message: str, *, retry_after: int, code: str = "throttled") -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.code = code


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
