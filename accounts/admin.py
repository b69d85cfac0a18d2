"""Operators' side of real-name verification (ACC-2) in the Django admin: actions on the account
list to mark pending submissions verified or reject them, the masked ID number (never the full
one) and the ID photos, decrypted on demand for operators who may change accounts."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import ModelAdmin
from unfold.forms import AdminPasswordChangeForm

from accounts.forms import AccountChangeForm, AccountCreationForm
from accounts.models import IdDocument, SmsCode, User
from accounts.profile.services import (
    id_document_image,
    mask_id_number,
    real_name_id_number,
    real_name_reject,
    real_name_summary,
    real_name_verify,
)

REAL_NAME_FIELDS = ("real_name_status", "real_name_verified_at", "legal_name", "masked_id_number", "id_photos")


class RealNameAdminMixin:
    """Mixed into accounts.admin.UserAdmin."""

    admin_site: admin.AdminSite
    model: type[User]

    @admin.action(description=_("Mark real-name verified"), permissions=["change"])
    def mark_real_name_verified(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        done = [account for account in queryset if real_name_verify(account=account)]
        for account in done:
            self.log_change(request, account, "Real-name submission verified.")  # type: ignore[attr-defined]
        self._report(
            request,
            len(done),
            queryset.count(),
            ngettext(
                "%(n)d real-name submission marked verified.", "%(n)d real-name submissions marked verified.", len(done)
            ),
        )

    @admin.action(description=_("Reject real-name submission"), permissions=["change"])
    def reject_real_name_submission(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        done = [account for account in queryset if real_name_reject(account=account)]
        for account in done:
            self.log_change(request, account, "Real-name submission rejected and erased.")  # type: ignore[attr-defined]
        self._report(
            request,
            len(done),
            queryset.count(),
            ngettext(
                "%(n)d real-name submission rejected; its data was erased.",
                "%(n)d real-name submissions rejected; their data was erased.",
                len(done),
            ),
        )

    def _report(self, request: HttpRequest, done: int, selected: int, text: str) -> None:
        self.message_user(request, text % {"n": done}, messages.SUCCESS)  # type: ignore[attr-defined]
        if done < selected:
            skipped = selected - done
            self.message_user(  # type: ignore[attr-defined]
                request,
                ngettext(
                    "%(n)d account was skipped: only pending submissions can be verified or rejected.",
                    "%(n)d accounts were skipped: only pending submissions can be verified or rejected.",
                    skipped,
                )
                % {"n": skipped},
                messages.WARNING,
            )

    @admin.display(description=_("resident ID number"))
    def masked_id_number(self, obj: User) -> str:
        """Masked (`110***********1234`): the full number is never shown in the admin."""
        if not obj.pk or not obj.id_number_encrypted:
            return "—"
        return mask_id_number(real_name_id_number(account=obj)) or "—"

    @admin.display(description=_("legal name"))
    def legal_name(self, obj: User) -> str:
        if not obj.pk or not obj.legal_name_encrypted:
            return "—"
        return real_name_summary(account=obj).legal_name or "—"

    @admin.display(description=_("ID photos"))
    def id_photos(self, obj: User) -> str:
        if not obj.pk:
            return "—"
        sides = list(IdDocument.objects.filter(account=obj).order_by("side").values_list("side", flat=True))
        if not sides:
            return "—"
        labels = dict(IdDocument.Side.choices)
        return format_html_join(
            " · ",
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            (
                (reverse(f"{self.admin_site.name}:accounts_user_id_document", args=[obj.pk, side]), labels[side])
                for side in sides
            ),
        ) or format_html("—")

    def get_urls(self) -> list[URLPattern]:
        urls: list[URLPattern] = super().get_urls()  # type: ignore[misc]
        extra = [
            path(
                "<int:object_id>/id-document/<str:side>/",
                self.admin_site.admin_view(self.id_document_view),
                name="accounts_user_id_document",
            )
        ]
        return extra + urls

    def id_document_view(self, request: HttpRequest, object_id: int, side: str) -> HttpResponse:
        """One ID photo, decrypted for an operator who may change accounts; never cached."""
        account = User.objects.filter(pk=object_id).first()
        if account is None or side not in IdDocument.Side.values:
            raise Http404("No such document.")
        if not self.has_change_permission(request, account):  # type: ignore[attr-defined]
            raise PermissionDenied
        image = id_document_image(account=account, side=side)
        if image is None:
            raise Http404("No such document.")
        data, content_type = image
        response = HttpResponse(data, content_type=content_type)
        response["X-Content-Type-Options"] = "nosniff"
        add_never_cache_headers(response)
        return response


@admin.register(User)
class UserAdmin(RealNameAdminMixin, BaseUserAdmin, ModelAdmin):
    """Accounts; mobile numbers and ID numbers are masked (ENT-9). Real-name submissions are
    verified or rejected with the list's actions (ACC-2, accounts.admin)."""

    form = AccountChangeForm
    add_form = AccountCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = (
        "masked_mobile",
        "nickname",
        "real_name_status",
        "masked_id_number",
        "is_staff",
        "is_active",
        "date_joined",
    )
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
class SmsCodeAdmin(ModelAdmin):
    list_display = ("__str__", "purpose", "attempts", "expires_at", "consumed_at")
    list_filter = ("purpose",)
    fields = ("purpose", "attempts", "created_at", "expires_at", "consumed_at")
    readonly_fields = fields

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
