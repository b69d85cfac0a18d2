"""Forms of the account-security pages: they parse input; the rules are in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.validators import normalize_mobile


def _password(label: Any, autocomplete: str = "new-password") -> forms.CharField:
    return forms.CharField(
        label=label, strip=False, max_length=128, widget=forms.PasswordInput(attrs={"autocomplete": autocomplete})
    )


class PasswordChangeForm(forms.Form):
    current_password = _password(_("Current password"), "current-password")
    new_password = _password(_("New password"))
    new_password_again = _password(_("New password again"))


class MobileForm(forms.Form):
    mobile = forms.CharField(
        label=_("Mobile number"),
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel", "autofocus": True}),
    )

    def clean_mobile(self) -> str:
        return normalize_mobile(self.cleaned_data["mobile"])


def _code() -> forms.CharField:
    return forms.CharField(
        label=_("Code from the SMS"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class PasswordResetForm(forms.Form):
    code = _code()
    new_password = _password(_("New password"))
    new_password_again = _password(_("New password again"))


class UnfreezeForm(forms.Form):
    code = _code()


class EmailForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
