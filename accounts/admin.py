from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.admin_profile import REAL_NAME_FIELDS, RealNameAdminMixin
from accounts.forms import AccountChangeForm, AccountCreationForm
from accounts.models import SmsCode, User


@admin.register(User)
class UserAdmin(RealNameAdminMixin, BaseUserAdmin):
    """Accounts; mobile numbers and ID numbers are masked (ENT-9). Real-name submissions are
    verified or rejected with the list's actions (ACC-2, accounts.admin_profile)."""

    form = AccountChangeForm
    add_form = AccountCreationForm
    list_display = ("masked_mobile", "nickname", "real_name_status", "masked_id_number", "is_staff", "is_active",
                    "date_joined")
    list_filter = ("is_staff", "is_active", "real_name_status")
    actions = ["mark_real_name_verified", "reject_real_name_submission"]
    search_fields = ("mobile", "nickname")
    ordering = ("-date_joined",)
    fieldsets = (
        (None, {"fields": ("mobile", "password")}),
        (_("Profile"), {"fields": ("nickname", "email", "gender", "birthday")}),
        (_("Real-name verification"), {"fields": REAL_NAME_FIELDS}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("mobile", "password1", "password2")}),)
    readonly_fields = ("last_login", "date_joined", *REAL_NAME_FIELDS)

    @admin.display(description=_("mobile number"), ordering="mobile")
    def masked_mobile(self, obj: User) -> str:
        return obj.masked_mobile


@admin.register(SmsCode)
class SmsCodeAdmin(admin.ModelAdmin):
    list_display = ("__str__", "purpose", "attempts", "expires_at", "consumed_at")
    list_filter = ("purpose",)
    fields = ("purpose", "attempts", "created_at", "expires_at", "consumed_at")
    readonly_fields = fields

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
