"""Operators' admin for security incidents (SEC-4): drafts are edited here; "Publish" calls
incidents.services.incident_publish (never a plain save). A published incident's texts are
read-only; the regulator report fields stay editable."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from incidents.models import SecurityIncident
from incidents.services import TEXT_FIELDS, incident_publish

SCOPE_FIELDS = ("occurred_at", "discovered_at", "affected_enterprises", "all_members_affected", "affected_accounts")
REGULATOR_FIELDS = ("regulator_status", "regulator_reported_at", "regulator_reference")
STATE_FIELDS = ("status", "published_at", "notified_accounts", "created_at", "created_by")


@admin.register(SecurityIncident)
class SecurityIncidentAdmin(ModelAdmin):
    list_display = ("title_en", "discovered_at", "status", "regulator_status", "notified_accounts", "published_at")
    list_filter = ("status", "regulator_status")
    search_fields = ("title_en", "title_zh")
    filter_horizontal = ("affected_enterprises",)
    raw_id_fields = ("affected_accounts",)
    fields = TEXT_FIELDS + SCOPE_FIELDS + REGULATOR_FIELDS + STATE_FIELDS
    actions = ["publish"]

    def get_readonly_fields(self, request: HttpRequest, obj: SecurityIncident | None = None) -> tuple[str, ...]:
        if obj is not None and obj.status == SecurityIncident.Status.PUBLISHED:
            return TEXT_FIELDS + SCOPE_FIELDS + STATE_FIELDS
        return STATE_FIELDS

    def save_model(self, request: HttpRequest, obj: SecurityIncident, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: SecurityIncident | None = None) -> bool:
        return obj is None or obj.status == SecurityIncident.Status.DRAFT

    @admin.action(description=_("Publish the selected incidents and notify the affected people"))
    def publish(self, request: HttpRequest, queryset: QuerySet[SecurityIncident]) -> None:
        for incident in queryset:
            try:
                published = incident_publish(incident=incident, actor=request.user)  # type: ignore[arg-type]
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    for message in errors:
                        self.message_user(request, f"{incident}: {field}: {message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(title)s published; %(count)d accounts notified.")
                    % {"title": published.title_en, "count": published.notified_accounts},
                    messages.SUCCESS,
                )
