"""Forms of the import pages: they only parse input (STYLE 2)."""

from __future__ import annotations

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from directory.imports.files import MAX_BYTES, MAX_ROWS


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=format_lazy(
            _("An Excel workbook (.xlsx) or a CSV file (UTF-8 or GB18030), at most {mb} MB and {rows} rows."),
            mb=MAX_BYTES // (1024 * 1024),
            rows=MAX_ROWS,
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )


class ImportConfirmForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    send_invitations = forms.BooleanField(
        label=_("Send each new member the invitation by SMS"), required=False, initial=True
    )
