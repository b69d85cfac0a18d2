"""Daily health reports (ENT-5)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class HealthReport(models.Model):
    """One per member per day. City and the unwell flag are kept in clear for aggregate
    summaries by department; symptoms, close contacts and special circumstances are encrypted
    together with the member's data key (`details_encrypted`, a JSON object)."""

    membership = models.ForeignKey(
        "enterprise_data.Membership",
        on_delete=models.CASCADE,
        related_name="health_reports",
        verbose_name=_("membership"),
    )
    date = models.DateField(_("date"))
    city = models.CharField(_("city"), max_length=64)
    unwell = models.BooleanField(_("unwell"))
    details_encrypted = models.BinaryField(verbose_name=_("details (encrypted)"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("health report")
        verbose_name_plural = _("health reports")
        app_label = "enterprise_data"
        ordering = ["-date"]
        constraints = [models.UniqueConstraint(fields=["membership", "date"], name="health_report_one_per_day")]
        indexes = [models.Index(fields=["date"], name="health_report_date")]
