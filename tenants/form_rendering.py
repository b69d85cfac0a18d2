"""One place renders every Django form (UI-1, docs/frontend.md): the project's templates under
templates/django/forms/ (field groups with a required marker, help text and inline errors) and a
bound field that gives each widget Tabler's class, so forms need no per-field markup."""

from __future__ import annotations

from typing import Any

from django.forms import BoundField, widgets
from django.forms.renderers import TemplatesSetting


def widget_css_class(widget: widgets.Widget) -> str:
    if isinstance(widget, widgets.CheckboxInput | widgets.RadioSelect | widgets.CheckboxSelectMultiple):
        return "form-check-input"
    if isinstance(widget, widgets.Select):
        return "form-select"
    if isinstance(widget, widgets.HiddenInput):
        return ""
    return "form-control"


class PortalBoundField(BoundField):
    def build_widget_attrs(self, attrs: dict[str, Any], widget: widgets.Widget | None = None) -> dict[str, Any]:
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        if widget.attrs.get("class"):
            # a widget styled by its own theme (the operators' console: django-unfold's) keeps its
            # classes; a "class" here would replace them (a render's attrs win over the widget's)
            return attrs
        css = widget_css_class(widget)
        if self.form.is_bound and self.errors and css:
            css += " is-invalid"
        if css:
            existing = str(attrs.get("class") or "")
            attrs["class"] = f"{existing} {css}".strip()
        return attrs


class PortalFormRenderer(TemplatesSetting):
    """Templates through the project's engine (templates/django/forms/ overrides Django's)."""

    bound_field_class = PortalBoundField
