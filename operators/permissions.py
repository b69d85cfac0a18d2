"""The permission pickers of the operators' console (groups, accounts) in the reader's language.

Django stores permission names in English when it migrates ("Can add account"), and the pickers
would list them as stored: "应用 | 模型 | Can add account". Here each permission is named from the
console's own words — the sidebar group and link (operators.console.NAVIGATION) and an action
("add", "change", "delete", "view") — at render time, in the active language. Only the models the
console shows are offered: the enterprise schemas' models (departments' scope permissions, cards)
are not managed through platform groups, and Django's internals (content types, sessions, the
admin log) are the superuser's."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import ManyToManyField, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from operators.console import NAVIGATION

ACTIONS = {
    "add": _("Can add"),
    "change": _("Can change"),
    "delete": _("Can delete"),
    "view": _("Can view"),
}


def _links() -> dict[tuple[str, str], tuple[Any, Any]]:
    """(app_label, model_name) → (sidebar group title, link title)."""
    out = {}
    for group, links in NAVIGATION:
        for link in links:
            app_label, model = link.model.split(".")
            out[(app_label, model.lower())] = (group, link.title)
    return out


def console_permissions() -> QuerySet[Permission]:
    """The four actions on each model the console's sidebar links to."""
    match = Q(pk__in=[])
    for app_label, model in _links():
        match |= Q(app_label=app_label, model=model)
    types = ContentType.objects.filter(match)
    return (
        Permission.objects.filter(content_type__in=types, codename__regex=r"^(add|change|delete|view)_")
        .select_related("content_type")
        .order_by("content_type__app_label", "content_type__model", "codename")
    )


def permission_label(permission: Permission) -> str:
    group, title = _links().get(
        (permission.content_type.app_label, permission.content_type.model), (None, permission.content_type.model)
    )
    action = ACTIONS.get(permission.codename.partition("_")[0], permission.name)
    return " | ".join(str(part) for part in (group, title, action) if part is not None)


class PermissionChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Permission) -> str:  # type: ignore[override]
        return permission_label(obj)


class TranslatedPermissionsMixin:
    """For a ModelAdmin with a `permissions` or `user_permissions` many-to-many field."""

    def formfield_for_manytomany(
        self, db_field: ManyToManyField[Any, Any], request: HttpRequest | None = None, **kwargs: Any
    ) -> forms.ModelMultipleChoiceField[Any] | None:
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]
        if db_field.name in ("permissions", "user_permissions") and formfield is not None:
            field = PermissionChoices(
                queryset=console_permissions(),
                required=False,
                widget=formfield.widget,
                label=formfield.label,
                help_text=formfield.help_text,
            )
            return field
        return formfield
