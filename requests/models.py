"""Data-subject requests (DSR-1, DSR-3, DSR-4).

Placement (config/routers.py, settings.SPLIT_APP_PUBLIC_MODELS / SPLIT_APP_BOTH_MODELS):

- `Request` and `RequestEvent` have a table in the public schema *and* in every enterprise schema.
  A request about an enterprise's data lives in that enterprise's schema and goes to its admins;
  a request about account data lives in the public schema and goes to platform operators. The
  same code serves both: the connection's schema decides which table is read.
- `HolidayOverride` lives in the public schema only: the working-day calendar is the platform's.

`Request.membership` points at `enterprise_data.Membership`, which exists only in enterprise
schemas, so the column has no database constraint (`db_constraint=False`); it is empty in the
public schema. `RequestEvent` rows are only ever inserted: PostgreSQL refuses UPDATE, DELETE and
TRUNCATE on the table (migration 0002)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tenants.categories import Category


class RequestKind(models.TextChoices):
    """DSR-1."""

    ACCESS = "access", _("Access (view my data)")
    EXPORT = "export", _("Copy (export my data)")
    CORRECTION = "correction", _("Correction")
    DELETION = "deletion", _("Deletion")
    CONSENT_WITHDRAWAL = "consent_withdrawal", _("Consent withdrawal")
    LEAVE = "leave", _("Leave the enterprise")
    ACCOUNT_DELETION = "account_deletion", _("Account deletion")
    COMPLAINT = "complaint", _("Complaint")


class RefusalGround(models.TextChoices):
    """The recognised grounds for refusing a request (DSR-3)."""

    LEGAL_OBLIGATION = "legal_obligation", _("Needed to fulfil a legal obligation")
    NATIONAL_SECURITY = "national_security", _("National security or defence")
    PUBLIC_SAFETY = "public_safety", _("Public safety or public health")
    CRIMINAL_INVESTIGATION = "criminal_investigation", _("Criminal investigation, prosecution or trial")
    ABUSE = "abuse", _("Evidence of malice or abuse of rights")
    VITAL_INTERESTS = "vital_interests", _("Vital interests of the person or others where consent cannot be had")
    OTHERS_RIGHTS = "others_rights", _("Serious harm to the rights of others")
    TRADE_SECRETS = "trade_secrets", _("Trade secrets")


# The data categories a member can name in a request about an enterprise's data; the admins who
# hold that category over the member handle it (ENT-8).
REQUEST_CATEGORIES = (Category.DIRECTORY, Category.ATTENDANCE, Category.HEALTH, Category.BIOMETRICS, Category.CONSENT)
REQUEST_CATEGORY_CHOICES = [(category.value, category.label) for category in REQUEST_CATEGORIES]


class Request(models.Model):
    """One data-subject request of any kind (DSR-1) with its lifecycle (DSR-3) and deadline (DSR-4)."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        IDENTITY_VERIFIED = "identity_verified", _("Identity verified")
        IN_REVIEW = "in_review", _("In review")
        AWAITING_INFORMATION = "awaiting_information", _("Awaiting information")
        COMPLETED = "completed", _("Completed")
        REFUSED = "refused", _("Refused")
        CANCELLED = "cancelled", _("Cancelled")

    OPEN_STATUSES = (Status.SUBMITTED, Status.IDENTITY_VERIFIED, Status.IN_REVIEW, Status.AWAITING_INFORMATION)
    # The deadline clock runs in these (it is paused while awaiting information).
    RUNNING_STATUSES = (Status.IDENTITY_VERIFIED, Status.IN_REVIEW)
    CLOSED_STATUSES = (Status.COMPLETED, Status.REFUSED, Status.CANCELLED)

    kind = models.CharField(_("kind"), max_length=24, choices=RequestKind.choices)
    status = models.CharField(_("status"), max_length=24, choices=Status.choices, default=Status.SUBMITTED)
    # The requester. The account lives in the public schema (as for Membership, PostgreSQL keeps
    # the foreign key; Django is told DO_NOTHING because an account is deleted only after DSR-6).
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requester"), on_delete=models.DO_NOTHING, related_name="+"
    )
    membership = models.ForeignKey(
        "enterprise_data.Membership",
        verbose_name=_("member"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_constraint=False,
        related_name="+",
    )
    category = models.CharField(
        _("data category"), max_length=20, blank=True, default="", choices=REQUEST_CATEGORY_CHOICES
    )
    description = models.TextField(_("description"), blank=True)
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    verified_at = models.DateTimeField(_("identity verified"), null=True, blank=True)
    # DSR-4: the last working day to answer; set at identity verification, moved by pauses.
    due_on = models.DateField(_("due"), null=True, blank=True)
    paused_on = models.DateField(_("paused since"), null=True, blank=True)
    paused_working_days = models.PositiveIntegerField(_("working days paused"), default=0)
    # The smallest "working days left" threshold a reminder was sent for (5, then 2).
    reminded_days_left = models.PositiveSmallIntegerField(
        null=True, blank=True, editable=False, verbose_name=_("reminded days left")
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    refusal_ground = models.CharField(
        _("refusal ground"), max_length=32, blank=True, default="", choices=RefusalGround.choices
    )
    resolution = models.TextField(_("answer"), blank=True)

    class Meta:
        verbose_name = _("data-subject request")
        verbose_name_plural = _("data-subject requests")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["status", "due_on"], name="request_status_due"),
            models.Index(fields=["account", "submitted_at"], name="request_account"),
            models.Index(fields=["membership", "kind", "submitted_at"], name="request_member_kind"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class RequestEvent(models.Model):
    """One step in a request's history: who did what, when, with which note. Insert-only."""

    class Action(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        IDENTITY_VERIFIED = "identity_verified", _("Identity verified")
        REVIEW_STARTED = "review_started", _("Review started")
        INFORMATION_REQUESTED = "information_requested", _("More information requested")
        INFORMATION_RECEIVED = "information_received", _("Information received")
        COMPLETED = "completed", _("Completed")
        REFUSED = "refused", _("Refused")
        CANCELLED = "cancelled", _("Cancelled")

    class ActorKind(models.TextChoices):
        REQUESTER = "requester", _("Requester")
        ADMIN = "admin", _("Administrator")
        OPERATOR = "operator", _("Platform operator")
        SYSTEM = "system", _("System")

    request = models.ForeignKey(Request, on_delete=models.PROTECT, related_name="events", verbose_name=_("request"))
    created_at = models.DateTimeField(_("when"), default=timezone.now)
    action = models.CharField(_("what"), max_length=24, choices=Action.choices)
    status = models.CharField(_("status afterwards"), max_length=24, choices=Request.Status.choices)
    actor_kind = models.CharField(_("who"), max_length=16, choices=ActorKind.choices)
    actor_account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        verbose_name=_("actor account"),
    )
    actor_membership = models.ForeignKey(
        "enterprise_data.Membership",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_constraint=False,
        related_name="+",
        verbose_name=_("actor membership"),
    )
    refusal_ground = models.CharField(
        _("refusal ground"), max_length=32, blank=True, default="", choices=RefusalGround.choices
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("request event")
        verbose_name_plural = _("request events")
        ordering = ["created_at", "id"]


class HolidayOverride(models.Model):
    """A date whose working-day status the holiday library does not know or gets wrong (DSR-4):
    a public holiday (not a working day) or an official make-up working day (调休). Operators
    edit these in the admin; an override wins over the library. Public schema only."""

    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("working-day override")
        verbose_name_plural = _("working-day overrides")
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {'working' if self.is_working_day else 'day off'}"


class Export(models.Model):
    """A member's copy of their data in this enterprise (DSR-2), built by a Celery task into a
    zip under the enterprise's own media folder. Enterprise schemas only. The download link's
    token is random and only its hash is kept; the link works once, for its owner, until
    `expires_at`. Exports are themselves a retention category (RetentionCategory.EXPORTS)."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Being prepared")
        DONE = "done", _("Ready")
        FAILED = "failed", pgettext_lazy("export state", "Failed")
        EXPIRED = "expired", _("Expired")

    membership = models.ForeignKey(
        "enterprise_data.Membership", on_delete=models.CASCADE, related_name="+", verbose_name=_("membership")
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    language = models.CharField(_("language"), max_length=16, default="zh-hans")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    file_path = models.CharField(max_length=200, blank=True, editable=False, verbose_name=_("file path"))
    token_hash = models.CharField(max_length=64, editable=False, verbose_name=_("token hash"))
    expires_at = models.DateTimeField(_("expires"))
    downloaded_at = models.DateTimeField(_("downloaded"), null=True, blank=True)

    class Meta:
        verbose_name = _("data export")
        verbose_name_plural = _("data exports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["membership", "created_at"], name="export_member_created")]

    def __str__(self) -> str:
        return f"export #{self.pk} {self.state}"


class AccountDeletion(models.Model):
    """An account's deletion (DSR-6), public schema only: requested after re-authentication,
    cancellable during the cooling-off period, then executed by beat
    (requests.account_deletion.services). The row is the progress record, so an execution cut
    short resumes where it stopped. It stays after execution, pointing at the account's
    tombstone, as the record that (and when) the account was deleted."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Cooling off")
        CANCELLED = "cancelled", _("Cancelled")
        EXECUTING = "executing", _("Being executed")
        BLOCKED = "blocked", _("Stopped by a blocker")
        DONE = "done", _("Executed")

    PENDING_STATUSES = (Status.SCHEDULED, Status.EXECUTING)

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    not_before = models.DateTimeField(_("executed after"))
    # The language of the pages the account used: the notices sent later are written in it.
    language = models.CharField(_("language"), max_length=16, default="zh-hans")
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    started_at = models.DateTimeField(_("execution started"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("execution attempts"), default=0)
    # What execution has done so far: one entry per enterprise left ({enterprise id, name,
    # anonymisation date, erasure plan}), written in the transaction of that leaving.
    enterprises_left = models.JSONField(_("enterprises left"), default=list, blank=True, editable=False)
    final_notice_at = models.DateTimeField(_("final notice sent"), null=True, blank=True)
    executed_at = models.DateTimeField(_("executed"), null=True, blank=True)
    # Why execution stopped (BLOCKED): which enterprise would have been left without an owner.
    blocked_reason = models.TextField(_("blocker"), blank=True)
    # The completed (or cancelled) `account_deletion` request that records it in the history.
    request = models.ForeignKey(
        Request, verbose_name=_("request"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("account deletion")
        verbose_name_plural = _("account deletions")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(status__in=["scheduled", "executing"]),
                name="account_deletion_one_pending",
            ),
        ]
        indexes = [models.Index(fields=["status", "not_before"], name="account_deletion_due")]

    def __str__(self) -> str:
        return f"account deletion #{self.pk} {self.status}"

    @property
    def is_pending(self) -> bool:
        return self.status in self.PENDING_STATUSES


class AccountExport(models.Model):
    """A copy of what the platform holds about an account (DSR-2 for account data; issue 17 §3),
    public schema only: built by a Celery task into a zip under the public schema's media folder
    (`MEDIA_ROOT/public/account-exports/`). Its owner downloads it from `/account/export/` while
    the link is valid (`expires_at`); beat removes the file once it has expired
    (requests.account_export.services)."""

    class State(models.TextChoices):
        PREPARING = "preparing", _("Being prepared")
        READY = "ready", _("Ready")
        FAILED = "failed", pgettext_lazy("export state", "Failed")
        EXPIRED = "expired", _("Expired")

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.CASCADE, related_name="+"
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PREPARING)
    # The language of the pages the account used when asking: index.html is written in it.
    language = models.CharField(_("language"), max_length=16, default="zh-hans")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("link valid until"), null=True, blank=True)
    file_path = models.CharField(max_length=200, blank=True, editable=False)

    class Meta:
        verbose_name = _("account data export")
        verbose_name_plural = _("account data exports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "created_at"], name="account_export_created")]

    def __str__(self) -> str:
        return f"account export #{self.pk} {self.state}"
