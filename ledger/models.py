"""The instruction ledger (ENT-10): append-only, hash-chained. See docs/ledger.md."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class LedgerEntry(models.Model):
    """One processing instruction. PostgreSQL refuses UPDATE and DELETE on this table (trigger
    in migration 0003) unless the transaction set `portal.ledger_purge = 'on'` (the retention
    purge, which leaves a LedgerCheckpoint so the chain stays verifiable)."""

    class ActorKind(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        MEMBER = "member", _("Member")
        SYSTEM = "system", _("System")
        DEVICE = "device", _("Device")
        OPERATOR = "operator", _("Platform operator")

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(_("time"))
    actor_kind = models.CharField(_("actor kind"), max_length=16, choices=ActorKind.choices)
    # Ids, not foreign keys: entries outlive the rows they mention (members leave, devices go).
    actor_membership_id = models.BigIntegerField(_("actor"), null=True, blank=True)
    actor_device_id = models.BigIntegerField(null=True, blank=True, verbose_name=_("device"))
    action = models.CharField(_("action"), max_length=32)
    category = models.CharField(_("category"), max_length=16)
    subject_membership_id = models.BigIntegerField(_("whose data"), null=True, blank=True, db_index=True)
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    object_type = models.CharField(max_length=64, blank=True, verbose_name=_("object type"))
    object_id = models.CharField(max_length=64, blank=True, verbose_name=_("object id"))
    # Field names and non-personal facts only; never the personal values themselves.
    details = models.JSONField(default=dict, blank=True, verbose_name=_("details"))
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64, verbose_name=_("prev hash"))
    entry_hash = models.CharField(max_length=64, unique=True, verbose_name=_("entry hash"))

    class Meta:
        app_label = "enterprise_data"
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-id"]
        indexes = [models.Index(fields=["category", "-id"], name="ledger_category_recent")]
        # The chain is verified over ids > 0 (after the newest checkpoint); a row with id <= 0
        # could only be written by hand. Verification still reports one if this is dropped.
        constraints = [models.CheckConstraint(condition=models.Q(id__gt=0), name="ledger_entry_id_positive")]

    def __str__(self) -> str:
        return f"#{self.id} {self.action} {self.category}"


class LedgerCheckpoint(models.Model):
    """Left by a purge of old entries: the chain continues from `upto_hash` (ENT-10, RET-5)."""

    upto_id = models.BigIntegerField(verbose_name=_("up to entry"))
    upto_hash = models.CharField(max_length=64, verbose_name=_("up to hash"))
    rows_purged = models.BigIntegerField(verbose_name=_("rows purged"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("ledger checkpoint")
        verbose_name_plural = _("ledger checkpoints")
        app_label = "enterprise_data"
        ordering = ["-upto_id"]
