"""Operators' admin for the platform privacy policy (CON-1, CON-2) and the inbox.

Drafts are written and edited here; publishing is the "Publish" action, which calls
consent.policy.services.policy_version_publish (never a plain save). Published versions,
acceptances and notifications are read-only; account mobile numbers are masked (ENT-9)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from accounts.masking import mask_mobile
from consent.messages import kind_label
from consent.models import Notification, PolicyAcceptance, PolicyVersion
from consent.policy.services import policy_version_publish

VERSION_FIELDS = ("version", "level", "major_kinds", "title_en", "title_zh", "body_en", "body_zh", "effective_at")
STATE_FIELDS = ("status", "published_at", "created_at")


class PolicyVersionForm(forms.ModelForm):
    major_kinds = forms.MultipleChoiceField(
        label=_("kinds of major change"),
        choices=PolicyVersion.MajorKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A major version names at least one; a minor version none."),
    )

    class Meta:
        model = PolicyVersion
        fields = VERSION_FIELDS
        help_texts = {"effective_at": _("Leave empty to take effect when published; or a future date and time.")}


def _is_published(obj: PolicyVersion | None) -> bool:
    return obj is not None and obj.status == PolicyVersion.Status.PUBLISHED


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ModelAdmin):
    form = PolicyVersionForm
    list_display = ("version", "title_en", "level", "status", "effective_at", "published_at")
    list_filter = ("status", "level")
    search_fields = ("version", "title_en", "title_zh")
    actions = ["publish"]

    def get_fields(self, request: HttpRequest, obj: PolicyVersion | None = None) -> tuple[str, ...]:
        return VERSION_FIELDS + STATE_FIELDS if obj is not None else VERSION_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: PolicyVersion | None = None) -> tuple[str, ...]:
        if _is_published(obj):
            return VERSION_FIELDS + STATE_FIELDS
        return STATE_FIELDS

    def has_change_permission(self, request: HttpRequest, obj: PolicyVersion | None = None) -> bool:
        if _is_published(obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: PolicyVersion | None = None) -> bool:
        if _is_published(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # bulk delete would bypass the published check
        return actions

    @admin.action(description=_("Publish the selected drafts"), permissions=["change"])
    def publish(self, request: HttpRequest, queryset: QuerySet[PolicyVersion]) -> None:
        for version in queryset.order_by("effective_at", "pk"):
            try:
                policy_version_publish(version=version, effective_at=version.effective_at, actor=request.user)  # type: ignore[arg-type]
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    for message in errors:
                        self.message_user(request, f"{version.version} — {field}: {message}", messages.ERROR)
            else:
                self.log_change(request, version, [{"changed": {"fields": ["status"]}}])
                self.message_user(
                    request,
                    _("Published %(version)s; every active account was notified.") % {"version": version.version},
                    messages.SUCCESS,
                )


class ReadOnlyAdmin(ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PolicyAcceptance)
class PolicyAcceptanceAdmin(ReadOnlyAdmin):
    list_display = ("masked_account", "version", "accepted_at", "channel")
    list_filter = ("channel", "version")
    list_select_related = ("account", "version")
    fields = ("masked_account", "version", "accepted_at", "channel", "ip")
    readonly_fields = fields

    @admin.display(description=_("account"))
    def masked_account(self, obj: PolicyAcceptance) -> str:
        return mask_mobile(str(obj.account.mobile))


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    # the title and body in the reading operator's language, the kind as a label (issue 17 §5)
    list_display = ("message_title", "masked_account", "kind_label", "created_at", "read_at")
    list_select_related = ("account",)
    fields = (
        "masked_account",
        "kind_label",
        "message_title",
        "message_body",
        "url",
        "enterprise_id",
        "created_at",
        "read_at",
    )
    readonly_fields = fields

    @admin.display(description=_("account"))
    def masked_account(self, obj: Notification) -> str:
        return mask_mobile(str(obj.account.mobile))

    @admin.display(description=_("kind"), ordering="kind")
    def kind_label(self, obj: Notification) -> str:
        return kind_label(obj.kind)

    @admin.display(description=_("title"))
    def message_title(self, obj: Notification) -> str:
        return obj.display_title

    @admin.display(description=_("body"))
    def message_body(self, obj: Notification) -> str:
        return obj.display_body


from consent.minors import admin as admin_minors  # noqa: E402, F401  (ACC-4: guardian consents in the operators' admin)
