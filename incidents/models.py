"""Security incidents (SEC-4), in the public schema: operators record what happened, its scope,
the affected enterprises and accounts, the measures taken and the advice to users, and the status
of the report to the regulator. Publishing (incidents.services.incident_publish) notifies the
affected accounts and the administrators of the affected enterprises."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SecurityIncident(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    class Regulator(models.TextChoices):
        NOT_REQUIRED = "not_required", _("No report required")
        PENDING = "pending", _("Report pending")
        REPORTED = "reported", pgettext_lazy("report to the regulator", "Reported")

    title_zh = models.CharField(_("title (Simplified Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    what_happened_zh = models.TextField(_("what happened (Simplified Chinese)"))
    what_happened_en = models.TextField(_("what happened (English)"))
    scope_zh = models.TextField(_("scope: data and people concerned (Simplified Chinese)"))
    scope_en = models.TextField(_("scope: data and people concerned (English)"))
    measures_zh = models.TextField(_("measures taken (Simplified Chinese)"))
    measures_en = models.TextField(_("measures taken (English)"))
    advice_zh = models.TextField(_("advice to users (Simplified Chinese)"))
    advice_en = models.TextField(_("advice to users (English)"))
    occurred_at = models.DateTimeField(_("occurred at"), null=True, blank=True)
    discovered_at = models.DateTimeField(_("discovered at"))
    affected_enterprises = models.ManyToManyField(
        "tenants.Enterprise", verbose_name=_("affected enterprises"), blank=True, related_name="+"
    )
    all_members_affected = models.BooleanField(_("every member of the affected enterprises is affected"), default=False)
    affected_accounts = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("affected accounts"), blank=True, related_name="+"
    )
    regulator_status = models.CharField(
        _("report to the regulator"), max_length=16, choices=Regulator.choices, default=Regulator.PENDING
    )
    regulator_reported_at = models.DateTimeField(_("reported to the regulator at"), null=True, blank=True)
    regulator_reference = models.CharField(_("regulator's reference"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    notified_accounts = models.PositiveIntegerField(_("accounts notified"), default=0)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("security incident")
        verbose_name_plural = _("security incidents")
        ordering = ["-discovered_at", "-id"]

    def __str__(self) -> str:
        return self.title_en
