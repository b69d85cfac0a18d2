"""Retention (RET-1..RET-5): per-enterprise settings and the record of purge runs, in the
enterprise's own schema. The operators' copy of every receipt is tenants.PurgeReceipt."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from retention.bounds import RetentionCategory


class RetentionSetting(models.Model):
    """The enterprise's retention period for one category; a category without a row uses the
    platform default (retention.bounds.BOUNDS)."""

    category = models.CharField(_("category"), max_length=32, choices=RetentionCategory.choices, unique=True)
    days = models.PositiveIntegerField(_("days kept"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    updated_by = models.ForeignKey(
        "enterprise_data.Membership",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )

    class Meta:
        verbose_name = _("retention setting")
        verbose_name_plural = _("retention settings")
        app_label = "enterprise_data"
        ordering = ["category"]

    def __str__(self) -> str:
        return f"{self.category}: {self.days} days"


class PurgeRun(models.Model):
    """One purge of every category (RET-4). Its steps' cut-offs are fixed when it starts, so a
    run resumed after a crash deletes exactly what was due when it started."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    id = models.BigAutoField(primary_key=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING, verbose_name=_("status"))
    started_at = models.DateTimeField(verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    attempts = models.PositiveIntegerField(default=1, verbose_name=_("attempts"))

    class Meta:
        verbose_name = _("purge run")
        verbose_name_plural = _("purge runs")
        app_label = "enterprise_data"
        ordering = ["-id"]
        constraints = [
            # at most one unfinished run per enterprise: a crashed one is resumed, never doubled
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="running"), name="purge_run_one_running"
            ),
        ]


class PurgeStep(models.Model):
    """One category of a run: its cut-off and retention period (fixed at the start), the rows
    removed so far (incremented in the same transaction as each batch), and when it finished
    (set in the same transaction as its receipt)."""

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(PurgeRun, on_delete=models.CASCADE, related_name="steps", verbose_name=_("run"))
    category = models.CharField(max_length=32, choices=RetentionCategory.choices, verbose_name=_("category"))
    position = models.PositiveSmallIntegerField(verbose_name=_("position"))
    retention_days = models.PositiveIntegerField(verbose_name=_("retention days"))
    cutoff = models.DateTimeField(verbose_name=_("cutoff"))
    rows = models.BigIntegerField(default=0, verbose_name=_("rows"))
    batches = models.PositiveIntegerField(default=0, verbose_name=_("batches"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    ledger_entry_id = models.BigIntegerField(null=True, blank=True, verbose_name=_("ledger entry"))

    class Meta:
        verbose_name = _("purge step")
        verbose_name_plural = _("purge steps")
        app_label = "enterprise_data"
        ordering = ["run_id", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "category"], name="purge_step_unique")]


class ErasurePlan(models.Model):
    """A scheduled erasure of one member's data in this enterprise (a leaver's profile after the
    grace period, DSR-5; an account deletion after its cooling-off, DSR-6). Plans are rows, so a
    restart loses nothing; a cancelled plan never runs (retention.services.erasure)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CANCELLED = "cancelled", _("Cancelled")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    id = models.BigAutoField(primary_key=True)
    membership = models.ForeignKey(
        "enterprise_data.Membership",
        on_delete=models.PROTECT,
        related_name="erasure_plans",
        verbose_name=_("membership"),
    )
    # {"steps": [{"category": …, "action": …}, …]} (retention.services.erasure.ERASURE_STEPS)
    plan = models.JSONField(verbose_name=_("plan"))
    reason = models.CharField(max_length=200, blank=True, verbose_name=_("reason"))
    not_before = models.DateTimeField(verbose_name=_("not before"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED, verbose_name=_("status"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    created_by = models.ForeignKey(
        "enterprise_data.Membership",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    cancelled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("cancelled at"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    result = models.JSONField(default=dict, blank=True, verbose_name=_("result"))

    class Meta:
        verbose_name = _("erasure plan")
        verbose_name_plural = _("erasure plans")
        app_label = "enterprise_data"
        ordering = ["not_before", "id"]
        indexes = [models.Index(fields=["status", "not_before"], name="erasure_plan_due")]

    def __str__(self) -> str:
        return f"erasure plan {self.pk} ({self.status})"
