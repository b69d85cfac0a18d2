"""Biometrics (ENT-6): devices with their own keys, encrypted templates, a change feed."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Purpose(models.TextChoices):
    ATTENDANCE = "attendance", _("Attendance")
    DOOR_ACCESS = "door_access", _("Door access")


class Device(models.Model):
    class Kind(models.TextChoices):
        ATTENDANCE_MACHINE = "attendance_machine", _("Attendance machine")
        DOOR_CONTROLLER = "door_controller", _("Door controller")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    # The key is shown once; only its prefix (to find the row) and a hash are kept.
    key_prefix = models.CharField(max_length=12, unique=True, verbose_name=_("key prefix"))
    key_hash = models.CharField(max_length=128, verbose_name=_("key hash"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    last_seen_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last seen at"))

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        app_label = "enterprise_data"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BiometricTemplate(models.Model):
    class Modality(models.TextChoices):
        FACE = "face", _("Face")
        FINGERPRINT = "fingerprint", _("Fingerprint")
        VOICEPRINT = "voiceprint", _("Voiceprint")
        IRIS = "iris", _("Iris")

    membership = models.ForeignKey(
        "enterprise_data.Membership",
        on_delete=models.CASCADE,
        related_name="biometric_templates",
        verbose_name=_("membership"),
    )
    modality = models.CharField(_("kind"), max_length=16, choices=Modality.choices)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    template_encrypted = models.BinaryField(verbose_name=_("template (encrypted)"))
    enrolled_at = models.DateTimeField(auto_now_add=True, verbose_name=_("enrolled at"))
    enrolled_by = models.ForeignKey(
        "enterprise_data.Membership",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("enrolled by"),
    )
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))

    class Meta:
        verbose_name = _("biometric template")
        verbose_name_plural = _("biometric templates")
        app_label = "enterprise_data"
        ordering = ["-enrolled_at"]


class TemplateChange(models.Model):
    """The devices' change feed: every enrolment, revocation and deletion, in id order. Devices
    poll `?after=<cursor>`; a deletion reaches them even though the template row is gone."""

    class Change(models.TextChoices):
        UPSERT = "upsert", _("Enrolled")
        DELETE = "delete", _("Removed")

    id = models.BigAutoField(primary_key=True)
    template_id = models.BigIntegerField(verbose_name=_("template"))
    membership_id = models.BigIntegerField(verbose_name=_("membership"))
    purpose = models.CharField(max_length=16, choices=Purpose.choices, verbose_name=_("purpose"))
    change = models.CharField(max_length=8, choices=Change.choices, verbose_name=_("change"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("template change")
        verbose_name_plural = _("template changes")
        app_label = "enterprise_data"
        ordering = ["id"]
        indexes = [models.Index(fields=["purpose", "id"], name="template_change_feed")]
