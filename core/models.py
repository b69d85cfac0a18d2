"""The member directory card (ENT-2) and membership (ACC-3, ENT-8).

Org structure (ENT-1): a department tree, positions and ranks.

Per-member data keys (RET-6) and per-enterprise settings held in the enterprise's schema."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.masking import mask_mobile
from tenants.categories import Category, scope_permission


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
        "display_name",
        "photo",
        "gender",
        "mobile",
        "company",
        "title",
        "position",
        "rank",
        "departments",
        "email",
        "landline",
        "fax",
        "seat",
        "enterprise_mailbox",
        "work_signature",
    )

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
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
    id_number_encrypted = models.BinaryField(
        null=True, blank=True, editable=False, verbose_name=_("ID number (encrypted)")
    )
    company = models.CharField(_("company"), max_length=200, blank=True)
    invoice_title = models.CharField(_("invoice title"), max_length=200, blank=True)
    work_signature = models.CharField(_("work signature"), max_length=200, blank=True)
    landline = models.CharField(_("landline"), max_length=32, blank=True)
    email = models.EmailField(_("email"), blank=True)
    position = models.ForeignKey(
        "enterprise_data.Position",
        verbose_name=_("position"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    rank = models.ForeignKey(
        "enterprise_data.Rank",
        verbose_name=_("rank"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
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
        app_label = "enterprise_data"
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

        return mask_mobile(self.mobile) if self.mobile else ""


class Department(models.Model):
    """A node of the tree. `path` is the materialized path of ids (`/1/4/9/`), so a subtree is
    one indexed prefix match and a move is one UPDATE. Scoped admins hold django-guardian
    permissions `scope_<category>` on departments (ENT-8)."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=255, editable=False, db_index=True, verbose_name=_("path"))
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        app_label = "enterprise_data"
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["path"]
        permissions = [(scope_permission(value), f"Scope: {value}") for value in Category.values]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="department_unique_name_per_parent"),
            models.UniqueConstraint(fields=["path"], name="department_unique_path"),
        ]
        indexes = [models.Index(fields=["path"], name="department_path_prefix", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2


class Position(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        app_label = "enterprise_data"
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Rank(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    level = models.PositiveSmallIntegerField(_("level"), default=0)

    class Meta:
        app_label = "enterprise_data"
        verbose_name = _("rank")
        verbose_name_plural = _("ranks")
        ordering = ["level", "name"]

    def __str__(self) -> str:
        return self.name


class MemberDataKey(models.Model):
    """A member's data key, wrapped (AES-GCM) by the enterprise key. Deleting this row is
    crypto-shredding: every ciphertext made with it becomes unreadable (docs/encryption.md)."""

    membership = models.OneToOneField(
        "enterprise_data.Membership", on_delete=models.CASCADE, related_name="data_key", verbose_name=_("membership")
    )
    wrapped_key = models.BinaryField(verbose_name=_("wrapped key"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("member data key")
        verbose_name_plural = _("member data keys")
        app_label = "enterprise_data"

    def __str__(self) -> str:
        return f"data key of membership {self.membership_id}"


class EnterpriseSettings(models.Model):
    """One row per enterprise schema (pk=1): settings that belong to the enterprise itself."""

    # ENT-7: clients hash mobile numbers with HMAC-SHA256 under this salt before sending them.
    contact_hash_salt = models.CharField(max_length=64, verbose_name=_("contact hash salt"))
    # ENT-5, GB/T 35273 §6.2: aggregate health figures about fewer people than this are shown as
    # "< N" and never broken down further. Never below HEALTH_MIN_GROUP_SIZE_FLOOR (the service
    # refuses it; the check constraint backs it).
    health_min_group_size = models.PositiveSmallIntegerField(default=5, verbose_name=_("health min group size"))

    class Meta:
        verbose_name = _("enterprise settings")
        verbose_name_plural = _("enterprise settings")
        app_label = "enterprise_data"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(health_min_group_size__gte=3), name="enterprise_settings_min_group_size_floor"
            )
        ]

    def __str__(self) -> str:
        return "enterprise settings"
