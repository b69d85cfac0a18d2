"""Platform-level consent data, in the public schema (CON-1, CON-2, CON-5, ACC-4, SEC-5 inbox)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from consent.messages import render as render_message


class PolicyVersion(models.Model):
    """A version of the platform privacy policy (CON-1). Published versions are immutable and stay
    readable at /policy/<version>/; publishing is a service (consent.policy.services), not a save."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    class Level(models.TextChoices):
        MINOR = "minor", _("Minor change")
        MAJOR = "major", _("Major change")

    class MajorKind(models.TextChoices):
        PURPOSE = "purpose", _("Purpose, categories or use of personal data")
        OWNERSHIP = "ownership", _("Ownership of the platform")
        RECIPIENTS = "recipients", _("Recipients of personal data")
        RIGHTS = "rights", _("Users' rights and how to exercise them")
        CONTACT = "contact", _("Responsible contact")
        RISK = "risk", _("High-risk impact assessment")

    version = models.CharField(_("version"), max_length=32, unique=True)
    title_en = models.CharField(_("title (English)"), max_length=200)
    title_zh = models.CharField(_("title (Simplified Chinese)"), max_length=200)
    body_en = models.TextField(_("text (English)"))
    body_zh = models.TextField(_("text (Simplified Chinese)"))
    level = models.CharField(_("change"), max_length=8, choices=Level.choices, default=Level.MINOR)
    major_kinds = models.JSONField(_("kinds of major change"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    effective_at = models.DateTimeField(_("effective from"), null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    # When it took effect for accounts (consent.policy.services.policy_activate_due).
    activated_at = models.DateTimeField(_("took effect at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("privacy policy version")
        verbose_name_plural = _("privacy policy versions")
        ordering = ["-effective_at", "-id"]

    def __str__(self) -> str:
        return self.version


class PolicyAcceptance(models.Model):
    """An account accepted a policy version (CON-1): when, through which channel, from where."""

    class Channel(models.TextChoices):
        WEB = "web", _("Web")
        API = "api", _("API")
        APP = "app", _("App")

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="policy_acceptances", verbose_name=_("account")
    )
    version = models.ForeignKey(
        PolicyVersion, on_delete=models.PROTECT, related_name="acceptances", verbose_name=_("version")
    )
    accepted_at = models.DateTimeField(verbose_name=_("accepted at"))
    channel = models.CharField(max_length=8, choices=Channel.choices, verbose_name=_("channel"))
    ip = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("IP address"))

    class Meta:
        verbose_name = _("policy acceptance")
        verbose_name_plural = _("policy acceptances")
        constraints = [models.UniqueConstraint(fields=["account", "version"], name="policy_accepted_once")]
        ordering = ["-accepted_at"]


class PolicyNoticeDismissal(models.Model):
    """An account dismissed the notice of a minor version (CON-2)."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    version = models.ForeignKey(PolicyVersion, on_delete=models.CASCADE, related_name="+", verbose_name=_("version"))
    dismissed_at = models.DateTimeField(verbose_name=_("dismissed at"))

    class Meta:
        verbose_name = _("policy notice dismissal")
        verbose_name_plural = _("policy notice dismissals")
        constraints = [models.UniqueConstraint(fields=["account", "version"], name="policy_notice_dismissed_once")]


class DevicePermission(models.Model):
    """An account's current device permission (CON-5); off unless a grant is recorded. The history
    of grants and revocations is DevicePermissionEvent."""

    class Kind(models.TextChoices):
        CAMERA = "camera", _("Camera")
        MICROPHONE = "microphone", _("Microphone")
        CALENDAR = "calendar", _("Calendar")
        CONTACTS = "contacts", _("Contacts")

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="device_permissions", verbose_name=_("account")
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    granted = models.BooleanField(default=False, verbose_name=_("granted"))
    changed_at = models.DateTimeField(verbose_name=_("changed at"))

    class Meta:
        verbose_name = _("device permission")
        verbose_name_plural = _("device permissions")
        constraints = [models.UniqueConstraint(fields=["account", "kind"], name="device_permission_one_per_kind")]


class DevicePermissionEvent(models.Model):
    class Action(models.TextChoices):
        GRANT = "grant", _("Granted")
        REVOKE = "revoke", _("Revoked")

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    kind = models.CharField(max_length=16, choices=DevicePermission.Kind.choices, verbose_name=_("kind"))
    action = models.CharField(max_length=8, choices=Action.choices, verbose_name=_("action"))
    channel = models.CharField(max_length=8, choices=PolicyAcceptance.Channel.choices, verbose_name=_("channel"))
    at = models.DateTimeField(verbose_name=_("at"))

    class Meta:
        verbose_name = _("device permission change")
        verbose_name_plural = _("device permission changes")
        ordering = ["-at", "-id"]


class GuardianConsent(models.Model):
    """A guardian's consent for an account under 14 (ACC-4), needed before any enterprise may
    process the account's data."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="guardian_consents", verbose_name=_("account")
    )
    guardian_name = models.CharField(_("guardian's name"), max_length=100)
    relation = models.CharField(_("relation"), max_length=50)
    contact = models.CharField(_("guardian's contact"), max_length=100)
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))

    class Meta:
        verbose_name = _("guardian consent")
        verbose_name_plural = _("guardian consents")
        ordering = ["-recorded_at"]


class Notification(models.Model):
    """The in-app inbox (SEC-5): one message to one account. Its SMS and e-mail copies, if any,
    are NotificationDelivery rows."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("account")
    )
    kind = models.CharField(max_length=32, verbose_name=_("kind"))
    title = models.CharField(max_length=200, verbose_name=_("title"))
    body = models.TextField(blank=True, verbose_name=_("body"))
    # What the title and body say, to be put in the reader's language when read (consent.messages):
    # title/body hold the text in the sender's language (older rows have only that).
    title_message = models.JSONField(null=True, blank=True, verbose_name=_("title (message and parameters)"))
    body_message = models.JSONField(null=True, blank=True, verbose_name=_("body (message and parameters)"))
    url = models.CharField(max_length=300, blank=True, verbose_name=_("link"))
    enterprise_id = models.BigIntegerField(null=True, blank=True, verbose_name=_("enterprise"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    read_at = models.DateTimeField(null=True, blank=True, verbose_name=_("read at"))

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return self.display_title

    @property
    def display_title(self) -> str:
        """The title in the active language (the stored text for messages without a key)."""
        return render_message(self.title_message) if self.title_message else self.title

    @property
    def display_body(self) -> str:
        return render_message(self.body_message) if self.body_message else self.body


class NotificationDelivery(models.Model):
    """One SMS or e-mail to send (SEC-5): a copy of an inbox notification, or a message to an
    address without an account (an invitation to a mobile number). Sent by Celery with retries
    (consent.tasks.notification_deliver); the row records the outcome."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("E-mail")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    notification = models.ForeignKey(
        Notification,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("notification"),
    )
    kind = models.CharField(max_length=32, verbose_name=_("kind"))
    channel = models.CharField(max_length=8, choices=Channel.choices, verbose_name=_("channel"))
    address = models.CharField(max_length=254, verbose_name=_("address"))
    subject = models.CharField(max_length=200, blank=True, verbose_name=_("subject"))
    text = models.TextField(verbose_name=_("text"))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, verbose_name=_("status"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    last_error = models.CharField(max_length=200, blank=True, verbose_name=_("last error"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))

    class Meta:
        verbose_name = _("notification delivery")
        verbose_name_plural = _("notification deliveries")
        indexes = [models.Index(fields=["status", "id"], name="delivery_pending")]

    def __str__(self) -> str:
        return f"{self.channel} {self.kind} {self.status}"
