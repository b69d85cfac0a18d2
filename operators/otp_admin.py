"""The second-factor devices in the operators' console (issue 17 §5): django-otp's admins with
every label in the reader's language, on the console's theme.

django-otp writes its field labels, help texts, fieldset titles and search help as plain strings
(not marked for translation), so our catalogue cannot translate them where they are; changing the
models' fields would change that package's migrations. These admins put our own words in place at
the admin level instead: the form's labels and help texts, list columns and read-only values as
methods with a description, list filters with a title, fieldsets with translated titles.

The devices' secrets stay out of reach: settings.OTP_ADMIN_HIDE_SENSITIVE_DATA is on, so an
existing authenticator's key and QR code and a recovery-code set's codes are never shown."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.admin import StaticDeviceAdmin, StaticTokenInline
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice
from unfold.admin import ModelAdmin, TabularInline

from operators.admin_labels import TranslatedForm, titled_filter

LABELS: dict[str, Any] = {
    "user": _("account"),
    "name": _("name of the device"),
    "confirmed": _("confirmed"),
    "key": _("secret key"),
    "step": _("time step (seconds)"),
    "t0": _("start time (Unix time)"),
    "digits": _("digits"),
    "tolerance": _("tolerance (time steps)"),
    "drift": _("drift (time steps)"),
    "throttling_failure_timestamp": _("last failed attempt"),
    "throttling_failure_count": _("failed attempts in a row"),
    "token": _("recovery code"),
}
HELP_TEXTS: dict[str, Any] = {
    "user": _("The account this device belongs to."),
    "name": _("A name that tells the account holder which device this is."),
    "confirmed": _("Whether the device is ready for use."),
    "key": _("A hex-encoded secret key of up to 40 bytes."),
    "step": _("The time step in seconds."),
    "t0": _("The Unix time at which to begin counting steps."),
    "digits": _("The number of digits to expect in a code."),
    "tolerance": _("The number of time steps in the past or future to allow."),
    "drift": _("The number of time steps the device is known to deviate from our clock."),
    "throttling_failure_timestamp": _("When the last verification failed; empty if the last one succeeded."),
    "throttling_failure_count": _("Failed verifications in a row."),
}
FIELDSET_TITLES: dict[str, Any] = {
    "Identity": _("Device"),
    "Timestamps": _("Times"),
    "Configuration": _("Configuration"),
    "State": _("State"),
    "Throttling": _("Throttling"),
}
# read-only model fields shown through methods of ours (their labels come from the description)
READ_ONLY = {"created_at": "created", "last_used_at": "last_used"}


class TranslatedDeviceAdmin(TranslatedForm):
    """Mixed in before django-otp's admin class and unfold's ModelAdmin."""

    labels = LABELS
    help_texts = HELP_TEXTS

    list_display = ["account", "device_name", "created", "last_used", "is_confirmed"]
    list_filter = [
        ("created_at", titled_filter(admin.DateFieldListFilter, _("created"))),
        ("last_used_at", titled_filter(admin.DateFieldListFilter, _("last used"))),
        ("confirmed", titled_filter(admin.BooleanFieldListFilter, _("confirmed"))),
    ]
    search_help_text = _("Search by the account's mobile number or e-mail address")
    readonly_fields = ["created", "last_used"]

    def get_list_display(self, request: HttpRequest) -> list[str]:
        return list(self.list_display)  # without django-otp's QR-code column

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list[tuple[Any, dict[str, Any]]]:
        translated = []
        for title, options in super().get_fieldsets(request, obj):  # type: ignore[misc]
            fields = [READ_ONLY.get(name, name) for name in options.get("fields", ()) if name != "qrcode_link"]
            if fields:
                translated.append((FIELDSET_TITLES.get(title, title), {**options, "fields": fields}))
        return translated

    @admin.display(description=_("account"), ordering="user")
    def account(self, obj: Any) -> str:
        return str(obj.user)

    @admin.display(description=_("name of the device"), ordering="name")
    def device_name(self, obj: Any) -> str:
        return str(obj.name)

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, obj: Any) -> Any:
        return obj.created_at

    @admin.display(description=_("last used"), ordering="last_used_at")
    def last_used(self, obj: Any) -> Any:
        return obj.last_used_at

    @admin.display(description=_("confirmed"), boolean=True, ordering="confirmed")
    def is_confirmed(self, obj: Any) -> bool:
        return bool(obj.confirmed)


class OperatorStaticTokenInline(StaticTokenInline, TabularInline):
    verbose_name = _("recovery code")
    verbose_name_plural = _("recovery codes")

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        kwargs["labels"] = {"token": LABELS["token"]}
        return super().get_formset(request, obj, **kwargs)


class OperatorTOTPDeviceAdmin(TranslatedDeviceAdmin, TOTPDeviceAdmin, ModelAdmin):
    pass


class OperatorStaticDeviceAdmin(TranslatedDeviceAdmin, StaticDeviceAdmin, ModelAdmin):
    inlines = [OperatorStaticTokenInline]


def register() -> None:
    """Replace django-otp's registrations (called from operators/admin.py)."""
    for model, model_admin in ((TOTPDevice, OperatorTOTPDeviceAdmin), (StaticDevice, OperatorStaticDeviceAdmin)):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
        admin.site.register(model, model_admin)
