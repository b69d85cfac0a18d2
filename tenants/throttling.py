"""The API's throttles (SEC-7; docs/security.md, "Throttles and caps").

REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] puts all four on every API view; each counts the
requests of one key in fixed windows (tenants.throttling.window_hit: an atomic Redis counter
per clock minute or hour) against its rate in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]:

- AddressRateThrottle, rate `address`: the client address (tenants.throttling.client_ip:
  REMOTE_ADDR, or behind PORTAL_TRUSTED_PROXY_COUNT proxies what the outermost one appended;
  IPv6 by its /64), over every enterprise;
- AccountRateThrottle, rate `account`: the signed-in account, in this enterprise (schema);
- DeviceRateThrottle, rate `device`: the device of the `Authorization: Device <key>`, in its
  enterprise;
- ScopedWriteRateThrottle, the rate named by the view's `throttle_scope`: the account (or
  device, else address), in this enterprise; writes only (not GET, HEAD, OPTIONS).

The rates are read from the settings at each request (DRF's SimpleRateThrottle binds them when it
is imported), so tests can lower them with override_settings; a rate that is missing or None
turns that throttle off. Over a rate, DRF answers 429 with `Retry-After` (the seconds until the
window ends); tenants.apis.exception_handler gives it the API's error shape (`code`
`throttled`). DRF checks throttles after authentication and permissions: a request refused
with 401/403 is not counted (it costs nothing but the check)."""

from __future__ import annotations

import ipaddress
import math
import time
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle


def _schema(request: Any) -> str:
    tenant = getattr(request._request, "tenant", None)
    return tenant.schema_name if tenant is not None else settings.PUBLIC_SCHEMA_NAME


def _account_id(request: Any) -> int | None:
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None


def _device_id(request: Any) -> int | None:
    """The device of a request authenticated with `Authorization: Device <key>`: the only
    authentication with a credential object for an anonymous user (biometrics.device_auth
    returns the Device as `request.auth`; session authentication returns none)."""
    auth = getattr(request, "auth", None)
    if auth is None or _account_id(request) is not None:
        return None
    return getattr(auth, "pk", None)


class PortalRateThrottle(BaseThrottle):
    """One rate (`rate_name` in DEFAULT_THROTTLE_RATES) for one key (`identity`)."""

    per_enterprise = True

    def __init__(self) -> None:
        self.retry_after: int | None = None

    def rate_name(self, request: Any, view: Any) -> str | None:
        raise NotImplementedError

    def identity(self, request: Any, view: Any) -> str | None:
        """What is counted (None: this throttle does not apply to the request)."""
        raise NotImplementedError

    def counter(self, request: Any, view: Any) -> tuple[str, Rate] | None:
        """The key this request counts against and its rate (None: the throttle does not apply)."""
        name = self.rate_name(request, view)
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(name) if name else None  # read now, not at import
        identity = self.identity(request, view) if rate else None
        if rate is None or identity is None:
            return None
        where = f"{_schema(request)}:" if self.per_enterprise else ""
        return f"api:{name}:{where}{identity}", Rate.parse(rate)

    def allow_request(self, request: Any, view: Any) -> bool:
        counter = self.counter(request, view)
        self.retry_after = None if counter is None else window_hit(*counter)
        return self.retry_after is None

    def wait(self) -> float | None:
        return self.retry_after


class AddressRateThrottle(PortalRateThrottle):
    """Every request, by client address, over every enterprise."""

    per_enterprise = False

    def rate_name(self, request: Any, view: Any) -> str:
        return "address"

    def identity(self, request: Any, view: Any) -> str | None:
        return address_key(client_ip(request._request))


class AccountRateThrottle(PortalRateThrottle):
    """Every request of a signed-in account, per enterprise."""

    def rate_name(self, request: Any, view: Any) -> str:
        return "account"

    def identity(self, request: Any, view: Any) -> str | None:
        account = _account_id(request)
        return None if account is None else str(account)


class DeviceRateThrottle(PortalRateThrottle):
    """Every request made with a device key, per device (of its enterprise)."""

    def rate_name(self, request: Any, view: Any) -> str:
        return "device"

    def identity(self, request: Any, view: Any) -> str | None:
        device = _device_id(request)
        return None if device is None else str(device)


class ScopedWriteRateThrottle(PortalRateThrottle):
    """The writes (not GET/HEAD/OPTIONS) of a view that sets `throttle_scope`, e.g. "requests"
    on the views that create data-subject requests; per account (device, else address) and
    enterprise."""

    def rate_name(self, request: Any, view: Any) -> str | None:
        if request.method in SAFE_METHODS:
            return None
        return getattr(view, "throttle_scope", None)

    def identity(self, request: Any, view: Any) -> str | None:
        account, device = _account_id(request), _device_id(request)
        if account is not None:
            return f"account:{account}"
        if device is not None:
            return f"device:{device}"
        address = address_key(client_ip(request._request))
        return None if address is None else f"address:{address}"


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


_CLIENT: list[Any] = []  # [redis client] of this process, on django's connection pool


def _redis_client(cache: Any) -> Any:
    """A redis client on the cache's connection pool, made once per process: django's RedisCache
    makes a new one (with its ~170 response callbacks) for every call (PERF-7)."""
    pool = cast(Any, cache)._cache._get_connection_pool(True)  # django's RedisCache: its write pool
    if not _CLIENT or _CLIENT[0].connection_pool is not pool:
        _CLIENT[:] = [cast(Any, cache)._cache._client(connection_pool=pool)]
    return _CLIENT[0]


def window_hit(key: str, rate: Rate, *, now: float | None = None) -> int | None:
    """Count one hit for `key`; None while the window's count is within `rate.limit`, else the
    whole seconds until the window ends (Retry-After; at least 1). The hit is counted either
    way, so a client that keeps trying is still refused until the window ends — and no longer."""
    return window_hits([(key, rate)], now=now)[0]


def window_hits(counters: list[tuple[str, Rate]], *, now: float | None = None) -> list[int | None]:
    """`window_hit` for several keys in one Redis round trip (an API request's throttles, PERF-7):
    per key, `SET counter 0 NX EX` starts the window's counter (it expires after the window),
    then `INCR` counts the hit; both are atomic, so concurrent hits are all counted."""
    if not counters:
        return []
    now = time.time() if now is None else now
    cache = caches[THROTTLE_CACHE]
    pipeline = _redis_client(cache).pipeline(transaction=False)
    windows = []
    for key, rate in counters:
        counter, ends = _window_key(key, rate, now)
        stored = cache.make_and_validate_key(counter)
        pipeline.set(stored, 0, nx=True, ex=rate.seconds + 1)
        pipeline.incr(stored)
        windows.append((rate, ends))
    answers = pipeline.execute()
    return [
        None if count <= rate.limit else max(1, math.ceil(ends - now))
        for count, (rate, ends) in zip(answers[1::2], windows, strict=True)
    ]


class ThrottledInOneTrip:
    """For API views: DRF's `check_throttles` with every `PortalRateThrottle` of the request
    counted in one Redis round trip (`window_hits`) instead of two or four. As in DRF, every
    throttle that applies counts the hit, and the longest wait is the answer's Retry-After."""

    def check_throttles(self, request: Any) -> None:
        waits: list[float | None] = []
        batched: list[tuple[PortalRateThrottle, tuple[str, Rate]]] = []
        for throttle in self.get_throttles():  # type: ignore[attr-defined]
            if isinstance(throttle, PortalRateThrottle):
                counter = throttle.counter(request, self)
                if counter is not None:
                    batched.append((throttle, counter))
            elif not throttle.allow_request(request, self):
                waits.append(throttle.wait())
        for (throttle, _counter), retry_after in zip(
            batched, window_hits([counter for _throttle, counter in batched]), strict=True
        ):
            throttle.retry_after = retry_after
            if retry_after is not None:
                waits.append(retry_after)
        if waits:
            self.throttled(request, max((w for w in waits if w is not None), default=None))  # type: ignore[attr-defined]


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
