"""Forms of the org editor (issue 16 §6). They only parse input; directory.org validates and
decides (STYLE 2). Each page holds one form, so every id on a page is unique."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.models import Department


class NameForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("org item", "Name"), max_length=100)  # 名称, not a person's 姓名


class RankForm(NameForm):
    level = forms.IntegerField(
        label=_("Level"),
        min_value=0,
        max_value=32767,
        initial=0,
        help_text=_("Ranks are listed by level, lowest first."),
    )


class DepartmentChoiceField(forms.ModelChoiceField):
    """Each department indented by its depth, so the select reads as the tree."""

    def label_from_instance(self, obj: Department) -> str:
        return "\u3000" * obj.depth + obj.name  # ideographic spaces: visible in both languages


class DepartmentCreateForm(NameForm):
    # optional: a new enterprise has no departments yet (the root, named after the enterprise,
    # is created with the first one); empty means "directly under the root"
    parent = DepartmentChoiceField(
        label=_("Parent department"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=_("Top level (directly under the enterprise)"),
    )

    def __init__(self, *args: Any, parents: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = parents  # type: ignore[attr-defined]


class DepartmentMoveForm(forms.Form):
    parent = DepartmentChoiceField(label=_("New parent department"), queryset=Department.objects.none())

    def __init__(self, *args: Any, parents: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = parents  # type: ignore[attr-defined]
