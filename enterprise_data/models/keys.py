"""Per-member data keys (RET-6) and per-enterprise settings held in the enterprise's schema."""

from __future__ import annotations

from django.db import models


class MemberDataKey(models.Model):
    """A member's data key, wrapped (AES-GCM) by the enterprise key. Deleting this row is
    crypto-shredding: every ciphertext made with it becomes unreadable (docs/encryption.md)."""

    membership = models.OneToOneField(
        "enterprise_data.Membership", on_delete=models.CASCADE, related_name="data_key"
    )
    wrapped_key = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"data key of membership {self.membership_id}"


class EnterpriseSettings(models.Model):
    """One row per enterprise schema (pk=1): settings that belong to the enterprise itself."""

    # ENT-7: clients hash mobile numbers with HMAC-SHA256 under this salt before sending them.
    contact_hash_salt = models.CharField(max_length=64)

    def __str__(self) -> str:
        return "enterprise settings"
