"""Data each enterprise controls, in the enterprise's own schema (§4)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Membership(models.Model):
    """An account's membership of this enterprise (ACC-3) with its role (ENT-8 adds scopes).

    The account lives in the public schema. The foreign key is enforced by PostgreSQL, but
    Django is told DO_NOTHING: an account is deleted only after it has left every enterprise
    (DSR-6), and Django's cascade collector cannot see other schemas anyway."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMIN = "admin", _("Administrator")
        MEMBER = "member", _("Member")

    ADMIN_ROLES = (Role.OWNER, Role.ADMIN)

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.DO_NOTHING, related_name="+"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MEMBER)
    display_name = models.CharField(_("name"), max_length=100)
    joined_at = models.DateTimeField(_("joined"), default=timezone.now)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["display_name", "id"]
        constraints = [models.UniqueConstraint(fields=["account"], name="membership_one_per_account")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_admin(self) -> bool:
        return self.role in self.ADMIN_ROLES
