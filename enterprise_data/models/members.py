"""The member directory card (ENT-2) and membership (ACC-3, ENT-8)."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def member_photo_path(instance: Any, filename: str) -> str:
    """Relative to the enterprise's own media folder (TenantFileSystemStorage adds the schema)."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"members/photos/{uuid.uuid4().hex}.{extension}"


class Membership(models.Model):
    """A person's card in this enterprise's directory and, once they accept an invitation, their
    membership (ACC-3). `account` is empty while the card is only invited.

    The account lives in the public schema. PostgreSQL enforces the foreign key, but Django is
    told DO_NOTHING: an account is deleted only after it has left every enterprise (DSR-6), and
    Django's cascade collector cannot see other schemas anyway."""

    class Status(models.TextChoices):
        INVITED = "invited", _("Invited")
        ACTIVE = "active", _("Active")
        LEFT = "left", _("Left")

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMIN = "admin", _("Administrator")
        SCOPED_ADMIN = "scoped_admin", _("Scoped administrator")
        MEMBER = "member", _("Member")

    class Gender(models.TextChoices):
        UNKNOWN = "", _("Not stated")
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")

    ADMIN_ROLES = (Role.OWNER, Role.ADMIN, Role.SCOPED_ADMIN)
    # Card fields that may be shown outside the company (ENT-2), in display order.
    EXTERNAL_FIELDS = (
        "display_name", "photo", "gender", "mobile", "company", "title", "position", "rank", "departments",
        "email", "landline", "fax", "seat", "enterprise_mailbox", "work_signature",
    )

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), null=True, blank=True, on_delete=models.DO_NOTHING,
        related_name="+",
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MEMBER)
    # --- the card -----------------------------------------------------------------------------
    display_name = models.CharField(_("name"), max_length=100)
    photo = models.FileField(_("photo"), upload_to=member_photo_path, blank=True)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, blank=True, default="")
    mobile = models.CharField(_("mobile number"), max_length=20, blank=True, help_text=_("E.164"))
    # Resident ID number, encrypted with the member's data key (RET-6); never stored in clear.
    id_number_encrypted = models.BinaryField(null=True, blank=True, editable=False)
    company = models.CharField(_("company"), max_length=200, blank=True)
    invoice_title = models.CharField(_("invoice title"), max_length=200, blank=True)
    work_signature = models.CharField(_("work signature"), max_length=200, blank=True)
    landline = models.CharField(_("landline"), max_length=32, blank=True)
    email = models.EmailField(_("email"), blank=True)
    position = models.ForeignKey(
        "enterprise_data.Position", verbose_name=_("position"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="members",
    )
    rank = models.ForeignKey(
        "enterprise_data.Rank", verbose_name=_("rank"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="members",
    )
    title = models.CharField(_("title"), max_length=100, blank=True)
    departments = models.ManyToManyField(
        "enterprise_data.Department", verbose_name=_("departments"), blank=True, related_name="members"
    )
    fax = models.CharField(_("fax"), max_length=32, blank=True)
    seat = models.CharField(_("seat"), max_length=64, blank=True)
    secretary = models.ForeignKey(
        "self", verbose_name=_("secretary"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enterprise_mailbox = models.EmailField(_("enterprise mailbox"), blank=True)
    external_fields = models.JSONField(_("shown outside the company"), default=list, blank=True)
    # --- lifecycle ----------------------------------------------------------------------------
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    joined_at = models.DateTimeField(_("joined"), null=True, blank=True)
    left_at = models.DateTimeField(_("left"), null=True, blank=True)
    # Set when the card of a departed member was anonymised (retention "departed profiles").
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True, editable=False)
    # The newest enterprise notice version this member acknowledged (CON-3), 0 for none.
    notice_acknowledged = models.PositiveIntegerField(_("notice acknowledged"), default=0, editable=False)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["display_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=models.Q(account__isnull=False), name="membership_one_per_account"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "display_name"], name="membership_status_name"),
            # the directory's order: a page of 50 is read off the index, not sorted (PERF-3)
            models.Index(fields=["display_name", "id"], name="membership_name_order"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def is_admin(self) -> bool:
        return self.role in self.ADMIN_ROLES

    @property
    def masked_mobile(self) -> str:
        from accounts.masking import mask_mobile

        return mask_mobile(self.mobile) if self.mobile else ""
