"""Forms of the self-service profile and correction pages (DSR-2, DSR-3). They only parse input;
which fields are self-editable and every value's rules are the services'
(requests.correction.services, directory.services)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from core.models import Membership
from requests.correction.services import (
    ACCOUNT_CONTROLLED,
    CONTROLLED,
    REASON_MAX_LENGTH,
    SELF_EDITABLE,
    VALUE_MAX_LENGTH,
    field_label,
)


class SelfProfileForm(forms.Form):
    """The card fields a member changes themself."""

    work_signature = forms.CharField(label=_("Work signature"), max_length=200, required=False)
    landline = forms.CharField(label=_("Landline"), max_length=32, required=False)
    email = forms.CharField(
        label=_("Email"), max_length=254, required=False, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    fax = forms.CharField(label=_("Fax"), max_length=32, required=False)
    seat = forms.CharField(label=_("Seat"), max_length=64, required=False)
    external_fields = forms.MultipleChoiceField(
        label=_("Shown outside the company"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Which fields of your card people outside the company may see."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["external_fields"]).choices = [
            (name, field_label(name).capitalize()) for name in Membership.EXTERNAL_FIELDS
        ]
        assert tuple(self.fields) == SELF_EDITABLE


class CorrectionForm(forms.Form):
    """A correction of a field the enterprise keeps (a request to its administrators)."""

    choices: tuple[str, ...] = CONTROLLED
    field = forms.ChoiceField(label=_("Which field"))
    value = forms.CharField(label=_("The correct value"), max_length=VALUE_MAX_LENGTH, required=False)
    reason = forms.CharField(
        label=_("Why (optional)"),
        max_length=REASON_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["field"]).choices = [
            (name, field_label(name).capitalize()) for name in self.choices
        ]


class AccountCorrectionForm(CorrectionForm):
    """A correction of the account's verified real-name data or mobile number (to the operators)."""

    choices = ACCOUNT_CONTROLLED
