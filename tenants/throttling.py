"""The API's throttles (SEC-7; docs/security.md, "Throttles and caps").

REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] puts all four on every API view; each counts the
requests of one key in fixed windows (accounts.throttling.window_hit: an atomic Redis counter
per clock minute or hour) against its rate in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]:

- AddressRateThrottle, rate `address`: the client address (accounts.throttling.client_ip:
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

from typing import Any

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from accounts.throttling import Rate, address_key, client_ip, window_hit


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

    def allow_request(self, request: Any, view: Any) -> bool:
        name = self.rate_name(request, view)
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(name) if name else None  # read now, not at import
        identity = self.identity(request, view) if rate else None
        if rate is None or identity is None:
            return True
        where = f"{_schema(request)}:" if self.per_enterprise else ""
        self.retry_after = window_hit(f"api:{name}:{where}{identity}", Rate.parse(rate))
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
