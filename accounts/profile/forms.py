"""Forms of the account profile and real-name verification (ACC-2). They only parse input; the
rules (sizes, image types, dates, ID checksum) are in accounts.profile.services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User


class ProfileForm(forms.Form):
    nickname = forms.CharField(label=_("Nickname"), max_length=64, required=False)
    gender = forms.ChoiceField(label=_("Gender"), choices=User.Gender.choices, required=False)
    birthday = forms.DateField(
        label=_("Birthday"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    # A plain FileField: the image type is checked by its magic bytes (no Pillow).
    avatar = forms.FileField(
        label=_("Avatar (JPEG or PNG, at most 2 MB)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png"}),
    )
    avatar_clear = forms.BooleanField(label=_("Remove the avatar"), required=False)


class RealNameForm(forms.Form):
    legal_name = forms.CharField(label=_("Legal name"), max_length=64)
    id_number = forms.CharField(
        label=_("Resident ID number"), max_length=32, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    id_front = forms.FileField(
        label=_("ID card, front (JPEG or PNG, at most 5 MB)"),
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png"}),
    )
    id_back = forms.FileField(
        label=_("ID card, back (JPEG or PNG, at most 5 MB)"),
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png"}),
    )
