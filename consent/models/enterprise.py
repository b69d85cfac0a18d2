"""Enterprise-level consent data, in each enterprise's schema (CON-3, CON-4, CON-6).

These models are in the consent app but not in settings.SPLIT_APP_PUBLIC_MODELS, so the
router creates their tables in enterprise schemas only."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tenants.categories import Category


class SensitiveCategory(models.TextChoices):
    """The categories that need a separate consent (CON-4)."""

    BIOMETRICS = "biometrics", _("Biometrics")
    HEALTH = "health", pgettext_lazy("sensitive personal data", "Health")
    PRECISE_LOCATION = "precise_location", _("Precise location")
    ID_DOCUMENTS = "id_documents", _("ID documents")
    CONTACTS = "contacts", _("Contacts")


class ConsentPurpose(models.TextChoices):
    ATTENDANCE = "attendance", _("Attendance")
    DOOR_ACCESS = "door_access", _("Door access")
    HEALTH_MONITORING = "health_monitoring", _("Daily health reports")
    HR_RECORDS = "hr_records", _("Personnel records")
    CONTACT_MATCHING = "contact_matching", _("Finding colleagues among your phone contacts")


# The purposes each sensitive category can be collected for; one consent per pair (CON-4).
PURPOSES: dict[str, tuple[str, ...]] = {
    SensitiveCategory.BIOMETRICS: (ConsentPurpose.ATTENDANCE, ConsentPurpose.DOOR_ACCESS),
    SensitiveCategory.HEALTH: (ConsentPurpose.HEALTH_MONITORING,),
    SensitiveCategory.PRECISE_LOCATION: (ConsentPurpose.ATTENDANCE,),
    SensitiveCategory.ID_DOCUMENTS: (ConsentPurpose.HR_RECORDS,),
    SensitiveCategory.CONTACTS: (ConsentPurpose.CONTACT_MATCHING,),
}


class NoticeCategory(models.TextChoices):
    """What an enterprise notice can say it collects (CON-3): the sensitive categories and the
    ordinary ones."""

    DIRECTORY = "directory", _("Directory card")
    ATTENDANCE = "attendance", _("Attendance records")
    PRECISE_LOCATION = "precise_location", _("Precise location")
    HEALTH = "health", _("Health")
    BIOMETRICS = "biometrics", _("Biometrics")
    ID_DOCUMENTS = "id_documents", _("ID documents")
    CONTACTS = "contacts", _("Contacts")


class EnterpriseNotice(models.Model):
    """A version of an enterprise's notice to its members (CON-3). Versions are numbered 1, 2, …;
    at most one draft exists; a published version is never changed."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    version = models.PositiveIntegerField(_("version"), unique=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    summary_zh = models.TextField(_("summary (Simplified Chinese)"))
    summary_en = models.TextField(_("summary (English)"), blank=True)
    contact = models.CharField(_("contact for personal-data questions"), max_length=200)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        "enterprise_data.Membership",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        "enterprise_data.Membership",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("published by"),
    )

    class Meta:
        verbose_name = _("enterprise notice")
        verbose_name_plural = _("enterprise notices")
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=models.Q(status="draft"), name="notice_one_draft"),
        ]

    def __str__(self) -> str:
        return f"v{self.version}"


class NoticeItem(models.Model):
    """One line of a notice: a category the enterprise collects, why, and how long it keeps it."""

    notice = models.ForeignKey(
        EnterpriseNotice, on_delete=models.CASCADE, related_name="items", verbose_name=_("notice")
    )
    category = models.CharField(_("category"), max_length=20, choices=NoticeCategory.choices)
    purpose_zh = models.TextField(_("purpose (Simplified Chinese)"))
    purpose_en = models.TextField(_("purpose (English)"), blank=True)
    retention_days = models.PositiveIntegerField(_("kept for (days)"))

    class Meta:
        verbose_name = _("notice item")
        ordering = ["notice", "id"]
        constraints = [
            models.UniqueConstraint(fields=["notice", "category"], name="notice_item_one_per_category"),
        ]


class NoticeAcknowledgement(models.Model):
    """A member acknowledged a notice version (CON-3): when joining, or after a new version."""

    class Channel(models.TextChoices):
        WEB = "web", _("Web")
        API = "api", _("API")
        INVITATION = "invitation", _("Accepting an invitation")

    membership = models.ForeignKey(
        "enterprise_data.Membership",
        on_delete=models.CASCADE,
        related_name="notice_acknowledgements",
        verbose_name=_("membership"),
    )
    notice = models.ForeignKey(
        EnterpriseNotice, on_delete=models.PROTECT, related_name="acknowledgements", verbose_name=_("notice")
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)

    class Meta:
        verbose_name = _("notice acknowledgement")
        constraints = [
            models.UniqueConstraint(fields=["membership", "notice"], name="notice_ack_once"),
        ]


class ConsentRecord(models.Model):
    """The basis for processing one sensitive category of one member for one purpose (CON-4): the
    member's separate consent, given under a notice version, or a non-consent legal basis an
    administrator recorded with a reason. Withdrawal (CON-6) closes the record; the record itself
    stays, so earlier processing remains documented."""

    class Basis(models.TextChoices):
        CONSENT = "consent", _("The member's separate consent")
        HR_NECESSITY = "hr_necessity", _("Necessary for human-resources management under the labour rules")
        LEGAL_OBLIGATION = "legal_obligation", _("Necessary to fulfil a legal duty or obligation")
        EMERGENCY = "emergency", _("Necessary to respond to a public-health emergency or protect life")

    class Channel(models.TextChoices):
        WEB = "web", _("Web")
        API = "api", _("API")
        CONSOLE = "console", _("Console")

    class Erasure(models.TextChoices):
        NONE = "", _("None")
        SCHEDULED = "scheduled", _("Scheduled")
        DONE = "done", _("Done")
        NOT_NEEDED = "not_needed", _("Not needed (another basis covers the data)")

    membership = models.ForeignKey(
        "enterprise_data.Membership",
        on_delete=models.CASCADE,
        related_name="consent_records",
        verbose_name=_("membership"),
    )
    category = models.CharField(_("category"), max_length=20, choices=SensitiveCategory.choices)
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices)
    basis = models.CharField(_("basis"), max_length=20, choices=Basis.choices, default=Basis.CONSENT)
    notice = models.ForeignKey(
        EnterpriseNotice,
        verbose_name=_("notice version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consent_records",
    )
    given_at = models.DateTimeField(_("given at"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    recorded_by = models.ForeignKey(
        "enterprise_data.Membership",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    reason = models.TextField(_("reason"), blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        "enterprise_data.Membership",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("withdrawn by"),
    )
    erasure = models.CharField(_("deletion"), max_length=16, choices=Erasure.choices, blank=True, default="")
    erased_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    erased_counts = models.JSONField(_("deleted"), default=dict, blank=True)

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["-given_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["membership", "category", "purpose", "basis"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="consent_one_active_per_basis",
            ),
        ]
        indexes = [models.Index(fields=["membership", "category", "purpose"], name="consent_member_category")]

    def __str__(self) -> str:
        return f"{self.membership_id} {self.category}/{self.purpose} {self.basis}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None


# The administrator category (ENT-8) that covers each sensitive category: ledger entries use it
# and recording a legal basis needs it over the member.
ADMIN_CATEGORY = {
    SensitiveCategory.BIOMETRICS: Category.BIOMETRICS,
    SensitiveCategory.HEALTH: Category.HEALTH,
    SensitiveCategory.PRECISE_LOCATION: Category.ATTENDANCE,
    SensitiveCategory.ID_DOCUMENTS: Category.DIRECTORY,
    SensitiveCategory.CONTACTS: Category.DIRECTORY,
}
