"""Console forms. They only parse input; the services validate and decide (STYLE 2)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.models import Department, Membership, Position, Rank
from core.scopes import AdminScope
from tenants.categories import Category

EXTERNAL_FIELD_LABELS = {
    "display_name": _("Name"),
    "photo": _("Photo"),
    "gender": _("Gender"),
    "mobile": _("Mobile number"),
    "company": _("Company"),
    "title": _("Title"),
    "position": _("Position"),
    "rank": _("Rank"),
    "departments": _("Departments"),
    "email": _("Email"),
    "landline": _("Landline"),
    "fax": _("Fax"),
    "seat": _("Seat"),
    "enterprise_mailbox": _("Enterprise mailbox"),
    "work_signature": _("Work signature"),
}


class MemberCardForm(forms.Form):
    display_name = forms.CharField(label=_("Name"), max_length=100)
    gender = forms.ChoiceField(label=_("Gender"), choices=Membership.Gender.choices, required=False)
    mobile = forms.CharField(label=_("Mobile number"), max_length=32, required=False)
    id_number = forms.CharField(
        label=_("Resident ID number"),
        max_length=18,
        required=False,
        help_text=_("Stored encrypted. Leave empty to keep the current one."),
    )
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    invoice_title = forms.CharField(label=_("Invoice title"), max_length=200, required=False)
    work_signature = forms.CharField(label=_("Work signature"), max_length=200, required=False)
    landline = forms.CharField(label=_("Landline"), max_length=32, required=False)
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    position = forms.ModelChoiceField(label=_("Position"), queryset=Position.objects.none(), required=False)
    rank = forms.ModelChoiceField(label=_("Rank"), queryset=Rank.objects.none(), required=False)
    title = forms.CharField(label=_("Title"), max_length=100, required=False)
    departments = forms.ModelMultipleChoiceField(
        label=_("Departments"), queryset=Department.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    fax = forms.CharField(label=_("Fax"), max_length=32, required=False)
    seat = forms.CharField(label=_("Seat"), max_length=64, required=False)
    secretary = forms.ModelChoiceField(label=_("Secretary"), queryset=Membership.objects.none(), required=False)
    enterprise_mailbox = forms.CharField(label=_("Enterprise mailbox"), max_length=254, required=False)
    external_fields = forms.MultipleChoiceField(
        label=_("Shown outside the company"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(f, EXTERNAL_FIELD_LABELS[f]) for f in Membership.EXTERNAL_FIELDS],
    )
    photo = forms.FileField(label=_("Photo (JPEG or PNG, at most 2 MB)"), required=False)

    def __init__(self, *args: Any, scope: AdminScope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["position"].queryset = Position.objects.all()  # type: ignore[attr-defined]
        self.fields["rank"].queryset = Rank.objects.all()  # type: ignore[attr-defined]
        self.fields["departments"].queryset = scope.departments(Category.DIRECTORY)  # type: ignore[attr-defined]
        self.fields["secretary"].queryset = scope.members(  # type: ignore[attr-defined]
            Category.DIRECTORY, include_invited=False
        )

    def card_data(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k != "photo"}
        if not data.get("id_number"):
            data.pop("id_number", None)
        return data


class ScopeGrantForm(forms.Form):
    department = forms.ModelChoiceField(
        label=_("Department (with its sub-departments)"), queryset=Department.objects.none()
    )
    categories = forms.MultipleChoiceField(
        label=_("Data categories"), choices=Category.choices, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, scope: AdminScope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = scope.departments(Category.DIRECTORY)  # type: ignore[attr-defined]
