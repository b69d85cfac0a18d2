"""Operators' oversight of account deletions (DSR-6), read-only: which deletions are cooling off,
executed, cancelled or stopped, how many attempts execution took and which enterprises were left.
Nothing is changed here — the account cancels, beat executes (requests.account_deletion.services).
The account column shows the masked number while the account exists and only its id (the
pseudonym) once it is a tombstone."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from requests.models import AccountDeletion


@admin.register(AccountDeletion)
class AccountDeletionAdmin(ModelAdmin):
    list_display = (
        "id",
        "account_label",
        "status",
        "requested_at",
        "not_before",
        "executed_at",
        "attempts",
        "enterprises",
    )
    list_filter = ("status",)
    list_select_related = ("account",)
    fields = (
        "account_label",
        "status",
        "requested_at",
        "not_before",
        "cancelled_at",
        "started_at",
        "attempts",
        "enterprises",
        "final_notice_at",
        "executed_at",
        "blocked_reason",
    )
    readonly_fields = fields

    @admin.display(description=_("account"))
    def account_label(self, obj: AccountDeletion) -> str:
        return f"#{obj.account_id} {obj.account.masked_mobile}".strip()

    @admin.display(description=_("enterprises left"))
    def enterprises(self, obj: AccountDeletion) -> str:
        return ", ".join(entry.get("name", "") for entry in obj.enterprises_left) or "—"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
