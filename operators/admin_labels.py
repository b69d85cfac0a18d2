"""What the operators' console's admins of other packages share (operators/otp_admin.py,
operators/beat_admin.py): their forms' labels and help texts, and their list filters' titles, in
our words — at the admin level, since those packages' models and migrations stay unchanged."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


def titled_filter(filter_class: type[admin.FieldListFilter], title: Any) -> type[admin.FieldListFilter]:
    """`filter_class` with `title` (a list filter on a field whose label is not ours)."""

    class Titled(filter_class):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.title = title

    return Titled


class TranslatedForm:
    """get_form with our labels and help texts (mixed in before the package's admin class)."""

    labels: dict[str, Any] = {}
    help_texts: dict[str, Any] = {}

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["labels"] = {**self.labels, **kwargs.get("labels", {})}
        kwargs["help_texts"] = {**self.help_texts, **kwargs.get("help_texts", {})}
        return super().get_form(request, obj, change, **kwargs)  # type: ignore[misc]
