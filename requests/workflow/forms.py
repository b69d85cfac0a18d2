"""Forms of the request pages. They only parse input; the rules (required description, a
refusal's ground, which transitions are possible) are the services', whose field errors are
shown on these forms."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from requests.models import REQUEST_CATEGORY_CHOICES, RefusalGround
from requests.workflow.selectors import State
from requests.workflow.services import DECISION_CHOICES, FORM_KINDS, TEXT_MAX_LENGTH

KIND_CHOICES = [(kind.value, kind.label) for kind in FORM_KINDS]


class AccountRequestForm(forms.Form):
    """A request about account data (public host)."""

    kind = forms.ChoiceField(label=_("Kind of request"), choices=KIND_CHOICES)
    description = forms.CharField(
        label=_("What should be done, and why"),
        max_length=TEXT_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class MemberRequestForm(AccountRequestForm):
    """A request about the member's data in this enterprise: which category it concerns decides
    which administrators handle it."""

    category = forms.ChoiceField(label=_("About which of my data"), choices=REQUEST_CATEGORY_CHOICES)
    field_order = ["kind", "category", "description"]


class InformationForm(forms.Form):
    note = forms.CharField(
        label=_("The information asked for"),
        max_length=TEXT_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DecisionForm(forms.Form):
    action = forms.ChoiceField(label=_("Decision"), choices=DECISION_CHOICES)
    ground = forms.ChoiceField(
        label=_("Refusal ground"),
        choices=[("", "—"), *RefusalGround.choices],
        required=False,
        help_text=_("Required for a refusal."),
    )
    note = forms.CharField(
        label=_("Note to the requester"),
        max_length=TEXT_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when refusing or asking for information."),
    )


class StateForm(forms.Form):
    state = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[(State.OPEN, _("Open")), (State.CLOSED, _("Closed")), (State.ALL, _("All"))],
    )
