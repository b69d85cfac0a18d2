"""Two-factor authentication (SEC-2) with django-otp: a TOTP authenticator app plus ten one-time
recovery codes, required of enterprise administrators and platform operators before any console
page, console API or operators' admin page (accounts.two_factor.middleware.TwoFactorRequiredMiddleware).

Enrolment: `two_factor_enrolment_start` creates (or reuses) the account's unconfirmed TOTP device
and returns its key for the authenticator app; `two_factor_enrolment_confirm` checks a first code,
confirms the device and returns the recovery codes (shown once; only django-otp's stored tokens
remain). Later sign-ins verify a TOTP code or spend a recovery code (`two_factor_verify`)."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import segno
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.masking import mask_mobile
from accounts.models import User

RECOVERY_CODES = 10
TOTP_NAME = "authenticator"
RECOVERY_NAME = "recovery"
TWO_FACTOR_REQUIRED = "two_factor_required"


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    secret: str  # base32, for typing into an authenticator app
    config_url: str  # otpauth:// URI (issuer: the platform's name, label: the masked mobile)
    qr_data_uri: str  # the URI as a QR code: data:image/svg+xml;base64,…


def provisioning_uri(*, device: TOTPDevice, account: User) -> str:
    """The otpauth:// key URI of `device` (Google's Key-Uri-Format) for an authenticator app: the
    issuer is the platform's name (OTP_TOTP_ISSUER), the label the account's *masked* mobile
    (ENT-9: the app shows it, and a photo of the screen should not give the number away)."""
    issuer = str(settings.OTP_TOTP_ISSUER).replace(":", "")
    label = f"{issuer}:{mask_mobile(str(account.mobile))}"
    params = urlencode(
        {
            "secret": base64.b32encode(device.bin_key).decode(),
            "algorithm": "SHA1",
            "digits": device.digits,
            "period": device.step,
        }
    )
    return f"otpauth://totp/{quote(label)}?{params}&issuer={quote(issuer)}"


def qr_svg_data_uri(text: str) -> str:
    """`text` as a QR code (segno, error correction M), an SVG in a base64 data: URI for an
    <img> (CSP img-src allows data:)."""
    buffer = io.BytesIO()
    segno.make_qr(text, error="m").save(buffer, kind="svg", scale=4, border=4, xmldecl=False, svgns=True)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def two_factor_enabled(*, account: User) -> bool:
    """The account has a confirmed authenticator (one query)."""
    return TOTPDevice.objects.filter(user=account, confirmed=True).exists()


def two_factor_enrolment_start(*, account: User) -> Enrolment:
    """The account's pending authenticator (created if needed). Refused when one is confirmed."""
    if two_factor_enabled(account=account):
        raise ValidationError({"token": [_("Two-factor authentication is already set up for this account.")]})
    device = TOTPDevice.objects.filter(user=account, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=account, name=TOTP_NAME, confirmed=False)
    secret = base64.b32encode(device.bin_key).decode()
    uri = provisioning_uri(device=device, account=account)
    return Enrolment(device=device, secret=secret, config_url=uri, qr_data_uri=qr_svg_data_uri(uri))


def _clean_token(token: Any) -> str:
    value = "".join(str(token or "").split()).lower()
    if not value or len(value) > 16 or not value.isalnum():
        raise ValidationError({"token": [_("Enter the 6-digit code from your authenticator app.")]})
    return value


def two_factor_enrolment_confirm(*, account: User, token: Any) -> tuple[TOTPDevice, list[str]]:
    """Confirm the pending authenticator with a first code; returns it and new recovery codes.
    A wrong code is a field error and changes nothing but django-otp's throttling counter."""
    value = _clean_token(token)
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=account, confirmed=False).first()
        if device is None:
            raise ValidationError({"token": [_("Start the set-up again: there is no pending authenticator.")]})
        if not device.verify_token(value):
            raise ValidationError({"token": [_("That code is not right. Check your phone's clock and try again.")]})
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = recovery_codes_regenerate(account=account)
    return device, codes


def recovery_codes_regenerate(*, account: User) -> list[str]:
    """Ten new one-time recovery codes; the old ones stop working."""
    with transaction.atomic():
        device, _created = StaticDevice.objects.get_or_create(
            user=account, name=RECOVERY_NAME, defaults={"confirmed": True}
        )
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def two_factor_verify(*, account: User, token: Any) -> TOTPDevice | StaticDevice:
    """The confirmed device that accepts `token` (a TOTP code, or a recovery code, which is then
    used up). Field error otherwise."""
    value = _clean_token(token)
    for device in [
        *TOTPDevice.objects.filter(user=account, confirmed=True),
        *StaticDevice.objects.filter(user=account, confirmed=True),
    ]:
        if device.verify_is_allowed()[0] and device.verify_token(value):
            return device
    raise ValidationError(
        {
            "token": [
                _(
                    "That code is not right. Use the current code from your authenticator app "
                    "or one of your recovery codes."
                )
            ]
        }
    )


def two_factor_required(*, account: User, on_console: bool) -> bool:
    """Who must use two factors (SEC-2): operators everywhere they act as operators, and enterprise
    administrators (owner, full, scoped) on their console and API."""
    return bool(account.is_staff or on_console)
