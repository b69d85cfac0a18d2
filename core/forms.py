"""Forms of the pages every enterprise host has: signing in as a member, and creating an
enterprise on the public host (TEN-2)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.forms import MobileAuthenticationForm
from core.selectors import membership_for_account


class EnterpriseLoginForm(MobileAuthenticationForm):
    """Sign-in on an enterprise host: only that enterprise's active members may sign in."""

    error_messages = {
        **MobileAuthenticationForm.error_messages,
        "not_member": _("This account is not a member of %(enterprise)s."),
    }

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        enterprise = getattr(self.request, "enterprise", None)
        if enterprise is not None and membership_for_account(enterprise=enterprise, account_id=user.pk) is None:
            raise ValidationError(
                self.error_messages["not_member"], code="not_member", params={"enterprise": enterprise.name}
            )


class EnterpriseSignupForm(forms.Form):
    name = forms.CharField(label=_("Enterprise name"), max_length=200)
    slug = forms.CharField(
        label=_("Short name"),
        max_length=40,
        help_text=_("Used in your enterprise's web address: lower-case letters, digits and hyphens."),
    )
    creator_name = forms.CharField(label=_("Your name"), max_length=100)
    creator_email = forms.EmailField(label=_("Your work email"), required=False)

    def clean_slug(self) -> str:
        return self.cleaned_data["slug"].strip().lower()
