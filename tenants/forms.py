from django import forms
from django.utils.translation import gettext_lazy as _


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
