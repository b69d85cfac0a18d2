"""Invitations (ENT-3): by mobile number or by link; the invitee accepts or declines."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Invitation(models.Model):
    class Kind(models.TextChoices):
        MOBILE = "mobile", _("By mobile number")
        LINK = "link", _("By link")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        REVOKED = "revoked", _("Revoked")
        EXPIRED = "expired", _("Expired")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    # The directory card the invitee takes over on acceptance (created with the invitation).
    membership = models.ForeignKey(
        "enterprise_data.Membership",
        on_delete=models.CASCADE,
        related_name="invitations",
        null=True,
        blank=True,
        verbose_name=_("membership"),
    )
    mobile = models.CharField(_("mobile number"), max_length=20, blank=True)
    # Link invitations: only a hash of the token is kept; the link is shown once.
    token_hash = models.CharField(max_length=64, blank=True, db_index=True, verbose_name=_("token hash"))
    role = models.CharField(_("role"), max_length=16, default="member")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    created_by = models.ForeignKey(
        "enterprise_data.Membership",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    expires_at = models.DateTimeField(_("expires"))
    responded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("responded at"))
    accepted_account_id = models.BigIntegerField(null=True, blank=True, verbose_name=_("accepted account"))

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        app_label = "enterprise_data"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"], name="invitation_open")]

    def __str__(self) -> str:
        return f"invitation {self.pk} ({self.kind}, {self.status})"
