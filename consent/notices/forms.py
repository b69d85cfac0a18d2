"""Forms of the enterprise notice (CON-3): the draft with its items (one per category and purpose)
for administrators, publishing it, and a member's "I have read it"."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from consent.models import NoticeCategory
from consent.notices.services import (
    MAX_RETENTION_DAYS,
    NoticeItemInput,
)


class NoticeForm(forms.Form):
    """The notice's own text; the rules (a summary, a contact, lengths) are notice_draft_save's."""

    summary_zh = forms.CharField(
        label=gettext_lazy("Summary (Simplified Chinese)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "lang": "zh-Hans"}),
    )
    summary_en = forms.CharField(
        label=gettext_lazy("Summary (English)"), required=False, widget=forms.Textarea(attrs={"rows": 4, "lang": "en"})
    )
    contact = forms.CharField(label=gettext_lazy("Contact for personal-data questions"), required=False)


class NoticeItemForm(forms.Form):
    """One row of the draft: a category (hidden), whether it is collected, why, and how long."""

    category = forms.CharField(widget=forms.HiddenInput, required=False)
    collected = forms.BooleanField(label=gettext_lazy("Collected"), required=False)
    purpose_zh = forms.CharField(
        label=gettext_lazy("Purpose (Simplified Chinese)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "lang": "zh-Hans"}),
    )
    purpose_en = forms.CharField(
        label=gettext_lazy("Purpose (English)"), required=False, widget=forms.Textarea(attrs={"rows": 2, "lang": "en"})
    )
    retention_days = forms.CharField(
        label=gettext_lazy("Kept for (days)"),
        required=False,
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_RETENTION_DAYS}),
    )

    @property
    def category_label(self) -> str:
        value = self["category"].value() or ""
        return str(NoticeCategory(value).label) if value in NoticeCategory.values else str(value)


class NoticeDraftForms:
    """The notice form and one NoticeItemForm per NoticeCategory (prefix `items-<row>`)."""

    ROWS = len(NoticeCategory.values)

    def __init__(
        self, data: Any = None, *, initial: dict[str, Any] | None = None, rows: list[dict[str, Any]] | None = None
    ) -> None:
        if data is not None:  # a row whose category was not posted is that row's category
            data = data.copy()
            for index, category in enumerate(NoticeCategory.values):
                data.setdefault(f"items-{index}-category", category)
        self.notice = NoticeForm(data, initial=initial)
        self.rows = [
            NoticeItemForm(data, prefix=f"items-{index}", initial=(rows or [{}] * self.ROWS)[index])
            for index in range(self.ROWS)
        ]
        self._submitted: list[int] = []  # row index of each item passed to the service

    def is_valid(self) -> bool:
        return all([self.notice.is_valid(), *(row.is_valid() for row in self.rows)])

    def items(self) -> list[NoticeItemInput]:
        items = []
        self._submitted = []
        for index, row in enumerate(self.rows):
            data = row.cleaned_data
            if not data["collected"]:
                continue
            self._submitted.append(index)
            items.append(
                NoticeItemInput(
                    category=data["category"],
                    purpose_zh=data["purpose_zh"],
                    purpose_en=data["purpose_en"],
                    retention_days=data["retention_days"],
                )
            )
        return items

    def apply_service_errors(self, error: ValidationError) -> None:
        """The service's field errors: `items-<k>-<field>` names the k-th submitted item."""
        for key, errors in error.message_dict.items():
            parts = key.split("-")
            if len(parts) == 3 and parts[0] == "items" and parts[1].isdigit() and int(parts[1]) < len(self._submitted):
                row = self.rows[self._submitted[int(parts[1])]]
                row.add_error(parts[2] if parts[2] in row.fields else None, errors)
            else:
                self.notice.add_error(key if key in self.notice.fields else None, errors)


class PublishForm(forms.Form):
    confirm = forms.BooleanField(
        label=gettext_lazy(
            "I understand that every member will have to read and acknowledge this version before continuing."
        )
    )


class AcknowledgeForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, label=gettext_lazy("Version"))
    next = forms.CharField(widget=forms.HiddenInput, required=False)
