"""Biometrics (ENT-6): devices with their own keys, encrypted templates, the devices' change feed.

Every write here runs in the enterprise's schema, in its own transaction, and writes exactly one
ledger entry (category biometrics, ENT-10). Template bytes are encrypted with the member's data
key (RET-6) and never leave this module except through the device feed
(biometrics.selectors.device_feed). See docs/biometrics.md."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from biometrics.models import BiometricTemplate, Device, Purpose, TemplateChange
from consent.consents.services import require_basis
from consent.minors.services import require_processable
from consent.models import SensitiveCategory
from core.encryption import encrypt_for_member
from core.models import Membership
from ledger.services import Action, ledger_record
from tenants.categories import Category
from tenants.context import current_schema, enterprise_schema
from tenants.models import Enterprise

TEMPLATE_FIELD = "biometric_template"  # the associated-data label of the ciphertext
TEMPLATE_MAX_BYTES = 64 * 1024
KEY_PREFIX_BYTES = 5  # 10 hex characters (Device.key_prefix holds up to 12)
KEY_SECRET_BYTES = 32  # 256 bits of randomness, urlsafe base64 (43 characters)
KEY_HASH_SCHEME = "hmac-sha256"
_KEY_HASH_SALT = "portal/device-key/v1"


# --- device keys ------------------------------------------------------------------------------


def device_key_split(key: str) -> tuple[str, str] | None:
    """`dev_<prefix>_<secret>` → (prefix, secret), or None when it is not shaped like a key.
    The secret is urlsafe base64 and may itself contain `_`, so only the first two split."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "dev" or len(parts[1]) != 2 * KEY_PREFIX_BYTES or not parts[2]:
        return None
    prefix = parts[1]
    if any(c not in "0123456789abcdef" for c in prefix):
        return None
    return prefix, parts[2]


def device_key_hash(*, schema: str, key: str) -> str:
    """HMAC-SHA256 of the whole key, keyed with SECRET_KEY (through salted_hmac) and bound to
    the enterprise's schema: a row copied into another schema never matches. A fast keyed hash
    is enough because the key carries 256 bits of randomness (docs/biometrics.md)."""
    digest = salted_hmac(_KEY_HASH_SALT, f"{schema}\n{key}", algorithm="sha256").hexdigest()
    return f"{KEY_HASH_SCHEME}${digest}"


def device_key_matches(*, schema: str, key: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented key against the stored hash."""
    return hmac.compare_digest(device_key_hash(schema=schema, key=key).encode(), stored_hash.encode())


def _clean_device(name: str, kind: str, purpose: str) -> str:
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("Enter a name.")
    elif len(name) > 100:
        errors["name"] = _("At most 100 characters.")
    if kind not in Device.Kind.values:
        errors["kind"] = _("Choose a known kind of device.")
    if purpose not in Purpose.values:
        errors["purpose"] = _("Choose a known purpose.")
    if errors:
        raise ValidationError(errors)
    return name


def device_register(
    *, enterprise: Enterprise, actor: Membership | None, name: str, kind: str, purpose: str
) -> tuple[Device, str]:
    """Register a device and return it with its key `dev_<prefix>_<secret>`. The key is returned
    this once; only its prefix (to find the row) and a keyed hash are stored."""
    name = _clean_device(name, kind, purpose)
    with enterprise_schema(enterprise), transaction.atomic():
        prefix = secrets.token_hex(KEY_PREFIX_BYTES)
        while Device.objects.filter(key_prefix=prefix).exists():  # 40 bits: practically never
            prefix = secrets.token_hex(KEY_PREFIX_BYTES)
        key = f"dev_{prefix}_{secrets.token_urlsafe(KEY_SECRET_BYTES)}"
        device = Device.objects.create(
            name=name,
            kind=kind,
            purpose=purpose,
            key_prefix=prefix,
            key_hash=device_key_hash(schema=current_schema(), key=key),
        )
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.CREATE,
            category=Category.BIOMETRICS,
            purpose=purpose,
            obj=device,
            details={"kind": kind, "purpose": purpose},
        )
    return device, key


def device_revoke(*, enterprise: Enterprise, actor: Membership | None, device: Device) -> Device:
    """Refuse the device's key from now on (idempotent: a revoked device stays revoked and
    no second ledger entry is written)."""
    with enterprise_schema(enterprise), transaction.atomic():
        locked = Device.objects.select_for_update().get(pk=device.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            ledger_record(
                enterprise=enterprise,
                actor=actor,
                action=Action.REVOKE,
                category=Category.BIOMETRICS,
                purpose=locked.purpose,
                obj=locked,
            )
        device.revoked_at = locked.revoked_at
    return device


def device_touch(*, enterprise: Enterprise, device: Device, now: datetime | None = None) -> None:
    """Record that the device called in (`last_seen_at`); one UPDATE, no ledger entry."""
    now = now or timezone.now()
    with enterprise_schema(enterprise):
        Device.objects.filter(pk=device.pk).update(last_seen_at=now)
    device.last_seen_at = now


# --- templates --------------------------------------------------------------------------------


def _lock_feed() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"template_change:{current_schema()}"])


def _change_append(*, template_id: int, membership_id: int, purpose: str, change: str) -> TemplateChange:
    """Append to the devices' feed. The transaction-level advisory lock makes feed ids become
    visible in id order: a writer takes it just before its insert and holds it until commit, so
    no reader can see id n+1 while id n is still uncommitted (a device's cursor never skips a
    row). Taken after the ledger's own lock, always in that order, so writers cannot deadlock."""
    _lock_feed()
    return TemplateChange.objects.create(
        template_id=template_id, membership_id=membership_id, purpose=purpose, change=change
    )


def template_enroll(
    *,
    enterprise: Enterprise,
    actor: Membership | None,
    membership: Membership,
    modality: str,
    purpose: str,
    template: bytes,
) -> BiometricTemplate:
    """Enrol a template for `membership` and `purpose` (ENT-6): encrypted with the member's data
    key, announced to the purpose's devices in the same transaction, recorded in the ledger."""
    require_processable(membership.account if membership.account_id else None)  # ACC-4
    errors: dict[str, str] = {}
    if modality not in BiometricTemplate.Modality.values:
        errors["modality"] = _("Choose a known modality.")
    if purpose not in Purpose.values:
        errors["purpose"] = _("Choose a known purpose.")
    if not isinstance(template, bytes | bytearray | memoryview) or not 1 <= len(template) <= TEMPLATE_MAX_BYTES:
        errors["template"] = _("A template is between 1 byte and 64 KiB.")
    if membership.status != Membership.Status.ACTIVE or membership.account_id is None:
        errors["membership"] = _("Templates can be enrolled for active members only.")
    if errors:
        raise ValidationError(errors)
    require_basis(
        enterprise=enterprise, membership=membership, category=SensitiveCategory.BIOMETRICS, purpose=purpose
    )  # CON-4: a consent per purpose
    with enterprise_schema(enterprise), transaction.atomic():
        ciphertext = encrypt_for_member(
            enterprise=enterprise, membership_id=membership.pk, field=TEMPLATE_FIELD, value=bytes(template)
        )
        record = BiometricTemplate.objects.create(
            membership=membership,
            modality=modality,
            purpose=purpose,
            template_encrypted=ciphertext,
            enrolled_by=actor,
        )
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.ENROLL,
            category=Category.BIOMETRICS,
            subject=membership,
            purpose=purpose,
            obj=record,
            details={"modality": modality},
        )
        _change_append(
            template_id=record.pk, membership_id=membership.pk, purpose=purpose, change=TemplateChange.Change.UPSERT
        )
    return record


def template_revoke(
    *, enterprise: Enterprise, actor: Membership | None, template: BiometricTemplate
) -> BiometricTemplate:
    """Stop using a template: it leaves every device at once (a delete row in the feed) and its
    ciphertext is erased; the enrolment's metadata stays as the record that it existed.
    Idempotent: revoking a revoked template changes and records nothing."""
    with enterprise_schema(enterprise), transaction.atomic():
        locked = BiometricTemplate.objects.select_for_update().defer("template_encrypted").get(pk=template.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.template_encrypted = b""
            locked.save(update_fields=["revoked_at", "template_encrypted"])
            ledger_record(
                enterprise=enterprise,
                actor=actor,
                action=Action.REVOKE,
                category=Category.BIOMETRICS,
                subject=locked.membership_id,
                purpose=locked.purpose,
                obj=locked,
                details={"modality": locked.modality},
            )
            _change_append(
                template_id=locked.pk,
                membership_id=locked.membership_id,
                purpose=locked.purpose,
                change=TemplateChange.Change.DELETE,
            )
        template.revoked_at = locked.revoked_at
    return template


def template_delete(*, enterprise: Enterprise, actor: Membership | None, template: BiometricTemplate) -> None:
    """Delete a template and its metadata; a delete row in the feed removes it from devices at
    once (unless it was revoked before, which already sent one)."""
    with enterprise_schema(enterprise), transaction.atomic():
        locked = (
            BiometricTemplate.objects.select_for_update().defer("template_encrypted").filter(pk=template.pk).first()
        )
        if locked is None:
            return
        pk, membership_id, purpose, modality = locked.pk, locked.membership_id, locked.purpose, locked.modality
        was_active = locked.revoked_at is None
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.DELETE,
            category=Category.BIOMETRICS,
            subject=membership_id,
            purpose=purpose,
            obj=locked,
            details={"modality": modality},
        )
        locked.delete()
        if was_active:
            _change_append(
                template_id=pk, membership_id=membership_id, purpose=purpose, change=TemplateChange.Change.DELETE
            )


def templates_revoke_for_member(
    *, enterprise: Enterprise, actor: Membership | None, membership_id: int, purpose: str, reason: str = ""
) -> int:
    """Revoke, at once, every active template of a member for `purpose` (CON-6: the member's last
    basis for biometrics of that purpose has just ended), in the caller's transaction: each
    ciphertext is erased, each gets a delete row in the feed of that purpose's devices, one
    ledger entry records the count. The rows themselves are deleted later by the scheduled
    erasure (templates_delete_for_member, which sends no second delete row). Idempotent: returns
    the number revoked now (0 when none was active)."""
    with enterprise_schema(enterprise), transaction.atomic():
        ids = list(
            BiometricTemplate.objects.select_for_update()
            .filter(membership_id=membership_id, purpose=purpose, revoked_at__isnull=True)
            .order_by("id")
            .values_list("id", flat=True)
        )
        if not ids:
            return 0
        BiometricTemplate.objects.filter(id__in=ids).update(revoked_at=timezone.now(), template_encrypted=b"")
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.REVOKE,
            category=Category.BIOMETRICS,
            subject=membership_id,
            purpose=reason,
            details={"templates": len(ids), "consent_purpose": purpose},
        )
        _lock_feed()  # after the ledger's lock, as everywhere
        TemplateChange.objects.bulk_create(
            [
                TemplateChange(
                    template_id=pk, membership_id=membership_id, purpose=purpose, change=TemplateChange.Change.DELETE
                )
                for pk in ids
            ]
        )
    return len(ids)


def templates_delete_for_member(
    *,
    enterprise: Enterprise,
    actor: Membership | None,
    membership: Membership,
    purpose: str | None = None,
    reason: str = "",
) -> int:
    """Delete every template held for a member (a leaver, DSR-5), or only those for `purpose`
    (a withdrawn consent, CON-6): one ledger entry, one delete row per template that devices
    still hold. Returns the number of templates deleted."""
    with enterprise_schema(enterprise), transaction.atomic():
        templates = BiometricTemplate.objects.select_for_update().filter(membership_id=membership.pk)
        if purpose is not None:
            templates = templates.filter(purpose=purpose)
        rows = list(templates.order_by("id").values_list("id", "purpose", "revoked_at"))
        if not rows:
            return 0
        BiometricTemplate.objects.filter(id__in=[pk for pk, _p, _r in rows]).delete()
        details: dict[str, object] = {"templates": len(rows)}
        if purpose is not None:
            details["consent_purpose"] = purpose
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.DELETE,
            category=Category.BIOMETRICS,
            subject=membership.pk,
            purpose=reason,
            details=details,
        )
        active = [(pk, purpose) for pk, purpose, revoked_at in rows if revoked_at is None]
        if active:
            _lock_feed()
            TemplateChange.objects.bulk_create(
                [
                    TemplateChange(
                        template_id=pk,
                        membership_id=membership.pk,
                        purpose=purpose,
                        change=TemplateChange.Change.DELETE,
                    )
                    for pk, purpose in active
                ]
            )
    return len(rows)
