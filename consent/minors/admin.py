"""Operators record and revoke guardian consents for accounts under 14 in the Django admin
(ACC-4), after checking them. Recording and revoking go through consent.minors.services (the
admin's save only calls the service); a recorded consent is never edited or deleted, only
revoked, so the record of who consented, when, and who recorded it stays.

Registered on `admin.site` when imported: consent/admin.py imports this module
(`from consent import admin_minors  # noqa: F401`). `GuardianConsentInline` is for the
account admin's inlines."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import ModelAdmin, TabularInline

from consent.minors.services import account_age, guardian_consent_record, guardian_consent_revoke
from consent.models.platform import GuardianConsent

RECORD_FIELDS = ("account", "guardian_name", "relation", "contact")
SHOWN_FIELDS = (*RECORD_FIELDS, "recorded_at", "recorded_by", "revoked_at")


@admin.register(GuardianConsent)
class GuardianConsentAdmin(ModelAdmin):
    list_display = (
        "account",
        "account_age_display",
        "guardian_name",
        "relation",
        "recorded_at",
        "recorded_by",
        "revoked_at",
    )
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    list_select_related = ("account", "recorded_by")
    search_fields = ("account__mobile", "account__nickname", "guardian_name")
    raw_id_fields = ("account",)
    actions = ["revoke_selected"]

    @admin.display(description=_("age"))
    def account_age_display(self, obj: GuardianConsent) -> str:
        age = account_age(account=obj.account)
        return "—" if age is None else str(age)

    def get_fields(self, request: HttpRequest, obj: GuardianConsent | None = None) -> tuple[str, ...]:
        return RECORD_FIELDS if obj is None else SHOWN_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: GuardianConsent | None = None) -> tuple[str, ...]:
        return () if obj is None else SHOWN_FIELDS

    def has_delete_permission(self, request: HttpRequest, obj: GuardianConsent | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: GuardianConsent, form: Any, change: bool) -> None:
        if change:  # recorded consents are read-only; revoke instead
            return
        created = guardian_consent_record(
            account=obj.account,
            guardian_name=obj.guardian_name,
            relation=obj.relation,
            contact=obj.contact,
            recorded_by=request.user if request.user.is_authenticated else None,  # type: ignore[arg-type]
        )
        obj.pk = created.pk
        obj.recorded_at = created.recorded_at
        obj.recorded_by = created.recorded_by

    @admin.action(description=_("Revoke the selected guardian consents"))
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[GuardianConsent]) -> None:
        revoked = sum(guardian_consent_revoke(consent=consent) for consent in queryset)
        self.message_user(
            request,
            ngettext("%(n)d guardian consent revoked.", "%(n)d guardian consents revoked.", revoked) % {"n": revoked},
            messages.SUCCESS,
        )


class GuardianConsentInline(TabularInline):
    """Read-only list of an account's guardian consents, for the account admin (ACC-4)."""

    model = GuardianConsent
    fk_name = "account"
    fields = ("guardian_name", "relation", "contact", "recorded_at", "recorded_by", "revoked_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
