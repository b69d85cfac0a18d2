"""Console forms. They only parse input; the services validate and decide (STYLE 2)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
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
    display_name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("As shown in the directory, e.g. the person's real name.")
    )
    gender = forms.ChoiceField(label=_("Gender"), choices=Membership.Gender.choices, required=False)
    mobile = forms.CharField(label=_("Mobile number"), max_length=32, required=False)
    id_number = forms.CharField(
        label=_("Resident ID number"),
        max_length=18,
        required=False,
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
        label=_("Fields shown to external contacts"),
        help_text=_("Everything else stays inside the company."),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(f, EXTERNAL_FIELD_LABELS[f]) for f in Membership.EXTERNAL_FIELDS],
    )
    photo = forms.FileField(label=_("Photo (JPEG or PNG, at most 2 MB)"), required=False)

    SECTIONS = (
        (_("Basic information"), ("display_name", "gender", "photo")),
        (_("Contact"), ("mobile", "email", "landline", "fax", "enterprise_mailbox")),
        (_("Organisation"), ("departments", "position", "rank", "title", "secretary", "seat")),
        (_("Company and identity"), ("company", "invoice_title", "work_signature", "id_number")),
        (_("Shown outside the company"), ("external_fields",)),
    )

    def __init__(self, *args: Any, scope: AdminScope, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            self.fields["id_number"].help_text = _("Stored encrypted. Leave empty to keep the current one.")
        else:
            self.fields["mobile"].help_text = _(
                "The invitation is sent to this number; without one, invite the person by link later."
            )
            self.fields["id_number"].help_text = _(
                "Stored encrypted. It can be added once the person has joined and consented."
            )
        self.fields["position"].queryset = Position.objects.all()  # type: ignore[attr-defined]
        self.fields["rank"].queryset = Rank.objects.all()  # type: ignore[attr-defined]
        self.fields["departments"].queryset = scope.departments(Category.DIRECTORY)  # type: ignore[attr-defined]
        self.fields["secretary"].queryset = scope.members(  # type: ignore[attr-defined]
            Category.DIRECTORY, include_invited=False
        )

    def sections(self) -> list[tuple[str, list[Any]]]:
        """The ~20 fields in titled groups, for the card form's fieldsets."""
        return [(str(title), [self[name] for name in names]) for title, names in self.SECTIONS]

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


# --- the member list (ENT-11) --------------------------------------------------------------------

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
SORT_CHOICES = [
    ("name", _("Name")),
    ("-name", _("Name (descending)")),
    ("department", _("Department")),
    ("-department", _("Department (descending)")),
    ("joined", _("Joined")),
    ("-joined", _("Joined (newest first)")),
    ("status", _("Status")),
    ("-status", _("Status (descending)")),
]


def _tree_label(department: Department) -> str:
    """A department indented by its depth in the tree (non-breaking spaces survive <option>)."""
    return "\u00a0\u00a0" * max(0, department.path.count("/") - 3) + department.name


class MemberFilterForm(forms.Form):
    """The filter panel (GET). Choices come from `DirectoryLookups` (read once per request), so a
    department outside the admin's scope is an invalid choice exactly like a missing one."""

    q = forms.CharField(label=_("Name or mobile number"), max_length=100, required=False)
    department = forms.TypedChoiceField(
        label=_("Department"),
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": _("Choose a department in your scope.")},
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("Any status")),
            (Membership.Status.ACTIVE, _("Active")),
            (Membership.Status.INVITED, _("Invited")),
        ],
    )
    position = forms.TypedChoiceField(
        label=_("Position"),
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": _("Choose an existing position.")},
    )
    rank = forms.TypedChoiceField(
        label=_("Rank"),
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": _("Choose an existing rank.")},
    )
    joined_from = forms.DateField(label=_("Joined from"), required=False, widget=DATE_INPUT)
    joined_to = forms.DateField(label=_("Joined until"), required=False, widget=DATE_INPUT)
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES)

    def __init__(self, *args: Any, lookups: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lookups = lookups
        self.fields["department"].choices = [("", _("Every department in my scope"))] + [  # type: ignore[attr-defined]
            (d.pk, _tree_label(d)) for d in lookups.departments
        ]
        self.fields["position"].choices = [("", _("Any position"))] + [(p.pk, p.name) for p in lookups.positions]  # type: ignore[attr-defined]
        self.fields["rank"].choices = [("", _("Any rank"))] + [(r.pk, r.name) for r in lookups.ranks]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("joined_from"), data.get("joined_to")
        if start and end and start > end:
            self.add_error("joined_to", _("The end date must not be before the start date."))
        return data

    def filters(self) -> Any:
        from directory.selectors import DEFAULT_SORT, MemberFilters

        data = self.cleaned_data
        return MemberFilters(
            department=self.lookups.by_id.get(data["department"]) if data.get("department") else None,
            status=data.get("status") or "",
            position=data.get("position"),
            rank=data.get("rank"),
            joined_from=data.get("joined_from"),
            joined_to=data.get("joined_to"),
            q=(data.get("q") or "").strip(),
            sort=data.get("sort") or DEFAULT_SORT,
        )


class BulkActionForm(forms.Form):
    """Checked members and what to do with them. The ids are resolved through the scope by the
    service (all of them, or a field error and nothing changed)."""

    class Action(models.TextChoices):
        MOVE = "move", _("Move to a department")
        REMOVE = "remove", _("Remove from the enterprise")
        RESEND = "resend", _("Resend the invitation")

    action = forms.ChoiceField(label=_("Action"), choices=Action.choices)
    members = forms.Field(label=_("Members"), required=False, widget=forms.MultipleHiddenInput)
    department = forms.TypedChoiceField(
        label=_("Move to"),
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": _("Choose a department in your scope.")},
    )

    def __init__(self, *args: Any, lookups: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lookups = lookups
        choices = [("", _("Move to…"))] + [(d.pk, _tree_label(d)) for d in lookups.departments]
        self.fields["department"].choices = choices  # type: ignore[attr-defined]

    def clean_members(self) -> list[int]:
        raw = self.data.getlist("members") if hasattr(self.data, "getlist") else self.data.get("members", [])
        ids = []
        for value in raw:
            if not str(value).isdigit():
                raise forms.ValidationError(_("Choose members of the list."))
            ids.append(int(value))
        if not ids:
            raise forms.ValidationError(_("Tick at least one member."))
        return sorted(set(ids))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == self.Action.MOVE and not data.get("department"):
            self.add_error("department", _("Choose the department to move them to."))
        return data


class MemberExportForm(forms.Form):
    unmasked = forms.BooleanField(
        label=_("Unmasked values"),
        required=False,
        help_text=_("Full mobile numbers and email addresses. Recorded in the instruction ledger with your purpose."),
    )
    purpose = forms.CharField(label=_("Purpose"), max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("unmasked") and not (data.get("purpose") or "").strip():
            self.add_error("purpose", _("Say why you need the unmasked values."))
        return data
