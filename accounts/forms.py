from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AdminUserCreationForm, AuthenticationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.validators import normalize_mobile


class MobileAuthenticationForm(AuthenticationForm):
    """Sign in with a mobile number (national or +86 form) and password. On an enterprise host
    core.forms.EnterpriseLoginForm also requires a membership of that enterprise."""

    username = forms.CharField(
        label=_("Mobile number"),
        max_length=32,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username", "inputmode": "tel"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Wrong mobile number or password."),
    }

    frozen = False  # set when the password was right but the account is frozen (the page links to unfreezing)

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if getattr(user, "frozen_at", None) is not None:
            self.frozen = True
            raise ValidationError(
                _(
                    "This account is frozen: nobody can sign in until it is unfrozen with a code sent to its "
                    "mobile number."
                ),
                code="frozen",
            )

    def clean(self) -> dict[str, Any]:
        raw = self.cleaned_data.get("username") or ""
        password = self.cleaned_data.get("password")
        try:
            mobile = normalize_mobile(raw)
        except ValidationError as error:
            raise self.get_invalid_login_error() from error
        if password:
            self.user_cache = authenticate(self.request, username=mobile, password=password)
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class SignupStartForm(forms.Form):
    mobile = forms.CharField(
        label=_("Mobile number"),
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )

    def clean_mobile(self) -> str:
        return normalize_mobile(self.cleaned_data["mobile"])


class SignupVerifyForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the SMS"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
    nickname = forms.CharField(label=_("Nickname"), max_length=64, required=False)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password_again = forms.CharField(
        label=_("Password again"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    accept_policy = forms.BooleanField(
        label=_("I have read and accept the privacy policy"),
        required=True,
        error_messages={"required": _("Accept the privacy policy to create an account.")},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords differ."))
        return data


class AccountCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("mobile",)


class AccountChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
