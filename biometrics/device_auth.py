"""Device authentication for `/api/device/v1/` (ENT-6): `Authorization: Device dev_<prefix>_<secret>`.

The device is looked up by its key prefix in the schema of the HOST the request came to (set by
TenantMainMiddleware), so a key of one enterprise is unknown on any other enterprise's host.
The key is checked against its keyed hash in constant time; revoked devices are refused. On
success `request.user` is anonymous (devices are not members) and `request.auth` is the Device."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from biometrics.models import Device
from biometrics.selectors import device_for_key

KEYWORD = "Device"


class DeviceKeyAuthentication(BaseAuthentication):
    keyword = KEYWORD

    def authenticate(self, request: Any) -> tuple[AnonymousUser, Device] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        tenant = getattr(request._request, "tenant", None)
        if tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
            return None  # no enterprise, no devices (the view refuses the public host)
        if len(header) != 2:
            raise AuthenticationFailed(_("Invalid device key header: use “Device <key>”."))
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise AuthenticationFailed(_("Invalid device key.")) from error
        device = device_for_key(key=key)
        if device is None:
            raise AuthenticationFailed(_("Invalid device key."))
        if device.revoked_at is not None:
            raise AuthenticationFailed(_("This device key has been revoked."))
        return AnonymousUser(), device

    def authenticate_header(self, request: Any) -> str:
        return self.keyword


class DeviceKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Describes the scheme in /api/schema/."""

    target_class = "biometrics.device_auth.DeviceKeyAuthentication"
    name = "deviceKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Device dev_<prefix>_<secret>`, the key shown once when the device was registered.",
        }
