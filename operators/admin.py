"""Operators' admin for enterprises and domains (public host only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline

from accounts.admin import UserAdmin as AccountUserAdmin
from accounts.masking import mask_mobile
from accounts.models import User
from accounts.selectors import account_by_mobile
from core.services import enterprise_create
from operators import beat_admin, otp_admin
from operators.permissions import TranslatedPermissionsMixin
from retention.services.platform import purge_category_label
from retention.services.termination import (
    enterprise_termination_cancel,
    enterprise_termination_execute,
    enterprise_termination_start,
)
from tenants.models import Domain, Enterprise, PurgeReceipt, TerminationReceipt
from tenants.services import enterprise_reactivate, enterprise_suspend, enterprise_validate_new


class DomainLabels:
    """django-tenants' Domain fields carry no translatable labels: these columns do."""

    @admin.display(description=_("domain"), ordering="domain")
    def domain_name(self, obj: Domain) -> str:
        return obj.domain

    @admin.display(description=_("enterprise"), ordering="tenant__name")
    def enterprise(self, obj: Domain) -> str:
        return str(obj.tenant)

    @admin.display(description=_("primary domain"), boolean=True)
    def primary(self, obj: Domain) -> bool:
        return bool(obj.is_primary)


class DomainInline(DomainLabels, TabularInline):
    model = Domain
    extra = 0
    fields = ("domain_name", "primary")
    readonly_fields = ("domain_name", "primary")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EnterpriseAddForm(forms.ModelForm):
    owner_mobile = forms.CharField(
        label=_("Owner's mobile number"), help_text=_("An existing account; it becomes the enterprise's owner.")
    )

    class Meta:
        model = Enterprise
        fields = ("name", "slug")

    def clean_owner_mobile(self) -> User:
        owner = account_by_mobile(mobile=self.cleaned_data["owner_mobile"])
        if owner is None:
            raise ValidationError(_("No account has this mobile number."))
        return owner

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("name") and data.get("slug"):
            try:
                enterprise_validate_new(name=data["name"], slug=data["slug"])
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    self.add_error(field if field in self.fields else None, errors)
        return data

    def validate_unique(self) -> None:  # the service checks uniqueness with clearer messages
        pass


@admin.register(Enterprise)
class EnterpriseAdmin(ModelAdmin):
    list_display = ("name", "slug", "schema", "state", "members", "created_at")
    list_filter = ("state",)
    search_fields = ("name", "slug")
    inlines = [DomainInline]
    actions = ["suspend", "reactivate", "give_termination_notice", "cancel_termination", "execute_termination"]
    readonly_fields = (
        "schema",
        "slug",
        "state",
        "state_reason",
        "state_changed_at",
        "termination_notice_at",
        "termination_effective_at",
        "created_by",
        "creator_name",
        "creator_masked_mobile",
        "creator_email",
        "created_at",
        "members",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Enterprise]:
        # the live member count (tenants.MembershipIndex), not the periodic task's stored figure
        return super().get_queryset(request).exclude(schema_name="public").annotate(live_members=Count("account_links"))

    @admin.display(description=_("creator's mobile"))
    def creator_masked_mobile(self, obj: Enterprise) -> str:
        """Masked like every mobile number in the admin (ENT-9)."""
        return mask_mobile(obj.creator_mobile) if obj.creator_mobile else "—"

    @admin.display(description=_("schema"), ordering="schema_name")
    def schema(self, obj: Enterprise) -> str:
        return obj.schema_name

    @admin.display(description=_("members"), ordering="live_members")
    def members(self, obj: Enterprise) -> int:
        live = getattr(obj, "live_members", None)
        return obj.account_links.count() if live is None else live

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = EnterpriseAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("name", "slug", "owner_mobile")
        return ("name",) + self.readonly_fields

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        return self.inlines if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Enterprise, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        created = enterprise_create(
            name=form.cleaned_data["name"], slug=form.cleaned_data["slug"], owner=form.cleaned_data["owner_mobile"]
        )
        obj.pk = created.pk
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_")})

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # enterprises end through termination (TEN-4), never a plain delete

    @admin.action(description=_("Suspend the selected enterprises"))
    def suspend(self, request: HttpRequest, queryset: QuerySet[Enterprise]) -> None:
        for enterprise in queryset:
            try:
                enterprise_suspend(enterprise=enterprise, reason=f"Suspended by operator {request.user}")
            except ValidationError as error:
                self.message_user(request, f"{enterprise}: {' '.join(error.messages)}", messages.ERROR)
            else:
                self.message_user(request, _("%(name)s is suspended.") % {"name": enterprise}, messages.SUCCESS)

    @admin.action(description=_("Give 30 days' notice of termination to the selected enterprises"))
    def give_termination_notice(self, request: HttpRequest, queryset: QuerySet[Enterprise]) -> None:
        for enterprise in queryset:
            try:
                enterprise_termination_start(
                    enterprise=enterprise, reason=f"Termination notice given by operator {request.user}"
                )
            except ValidationError as error:
                self.message_user(request, f"{enterprise}: {' '.join(error.messages)}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(name)s: notice given; it closes on %(date)s.")
                    % {"name": enterprise.name, "date": timezone.localdate(enterprise.termination_effective_at)},
                    messages.SUCCESS,
                )

    @admin.action(description=_("Cancel the termination of the selected enterprises"))
    def cancel_termination(self, request: HttpRequest, queryset: QuerySet[Enterprise]) -> None:
        for enterprise in queryset:
            try:
                enterprise_termination_cancel(enterprise=enterprise, reason=f"Kept by operator {request.user}")
            except ValidationError as error:
                self.message_user(request, f"{enterprise}: {' '.join(error.messages)}", messages.ERROR)

    @admin.action(description=_("Execute the due terminations among the selected enterprises"))
    def execute_termination(self, request: HttpRequest, queryset: QuerySet[Enterprise]) -> None:
        for enterprise in queryset:
            try:
                enterprise_termination_execute(enterprise=enterprise)
            except ValidationError as error:
                self.message_user(request, f"{enterprise}: {' '.join(error.messages)}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(name)s: terminated; its key is destroyed and its schema dropped.") % {"name": enterprise.name},
                    messages.SUCCESS,
                )

    @admin.action(description=_("Reactivate the selected enterprises"))
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Enterprise]) -> None:
        for enterprise in queryset:
            try:
                enterprise_reactivate(enterprise=enterprise)
            except ValidationError as error:
                self.message_user(request, f"{enterprise}: {' '.join(error.messages)}", messages.ERROR)
            else:
                self.message_user(request, _("%(name)s is active again.") % {"name": enterprise}, messages.SUCCESS)


@admin.register(Domain)
class DomainAdmin(DomainLabels, ModelAdmin):
    list_display = ("domain_name", "enterprise", "primary")
    search_fields = ("domain", "tenant__name")
    list_select_related = ("tenant",)


class PurgeCategoryFilter(admin.SimpleListFilter):
    """The receipts' categories in words (the enterprises' and the platform's own)."""

    title = _("category")
    parameter_name = "category"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        stored = PurgeReceipt.objects.values_list("category", flat=True).distinct().order_by("category")
        return [(category, purge_category_label(category)) for category in stored]

    def queryset(self, request: HttpRequest, queryset: QuerySet[PurgeReceipt]) -> QuerySet[PurgeReceipt]:
        return queryset.filter(category=self.value()) if self.value() else queryset


@admin.register(PurgeReceipt)
class PurgeReceiptAdmin(ModelAdmin):
    """Receipts of retention purges (RET-5): what each enterprise's purge removed, read-only."""

    list_display = ("finished_at", "enterprise", "category_name", "rows", "cutoff", "retention_days", "run_id")
    list_filter = (PurgeCategoryFilter, "enterprise")
    search_fields = ("enterprise__name", "schema_name")
    list_select_related = ("enterprise",)
    date_hierarchy = "finished_at"
    readonly_fields = (
        "enterprise",
        "schema_name",
        "run_id",
        "category_name",
        "cutoff",
        "rows",
        "retention_days",
        "started_at",
        "finished_at",
        "ledger_entry_id",
    )

    @admin.display(description=_("category"), ordering="category")
    def category_name(self, obj: PurgeReceipt) -> str:
        return purge_category_label(obj.category)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TerminationReceipt)
class TerminationReceiptAdmin(ModelAdmin):
    list_display = (
        "name",
        "slug",
        "notice_at",
        "effective_at",
        "executed_at",
        "members",
        "key_destroyed",
        "schema_dropped",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def theme_other_admins(site: admin.AdminSite) -> None:
    """Give the other packages' admins (django-axes, django-otp, django-celery-beat, auth's groups)
    unfold's ModelAdmin as well, so their lists, filters and forms take the console's look. Called
    once by config/urls_public.py, when every app's admin module has been imported."""
    site.index_title = _("Platform overview")  # the dashboard's heading (Django's: "Site administration")
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, ModelAdmin):
            continue
        original = type(model_admin)
        themed = type(original.__name__, (original, ModelAdmin), {"__module__": original.__module__})
        site.unregister(model)
        site.register(model, themed)


# --- the permission pickers in the reader's language (operators/permissions.py) ----------------
# The account admin (accounts.admin) and Django's group admin get the translated pickers here: the
# console's words for models live in this package, which the accounts package must not import.
admin.site.unregister(Group)
admin.site.unregister(User)


@admin.register(Group)
class GroupAdmin(TranslatedPermissionsMixin, BaseGroupAdmin, ModelAdmin):
    pass


@admin.register(User)
class OperatorUserAdmin(TranslatedPermissionsMixin, AccountUserAdmin):
    pass


# django-otp's devices and django-celery-beat's jobs with labels in the reader's language
# (operators/otp_admin.py, operators/beat_admin.py)
otp_admin.register()
beat_admin.register()
