"""Field encryption for enterprise data: per-member data keys wrapped by the enterprise key.

`encrypt_for_member` / `decrypt_for_member` are the only way enterprise code stores or reads
an encrypted field (ID numbers, health details, raw coordinates, biometric templates).
`member_key_destroy` is crypto-shredding: afterwards every ciphertext of that member, in the
database and in every backup, is unreadable (RET-6)."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TypeVar

from django.db import transaction
from django.utils import timezone

from core.models import MemberDataKey
from tenants.context import enterprise_schema
from tenants.crypto import KeyUnavailable, derive_key, new_key, seal, unseal
from tenants.models import Enterprise, EnterpriseKey

K = TypeVar("K")

__all__ = [
    "KeyUnavailable",
    "decrypt_for_member",
    "decrypt_many_for_members",
    "encrypt_for_member",
    "enterprise_key",
    "enterprise_key_destroy",
    "member_key_destroy",
]


@lru_cache(maxsize=256)
def _derive_enterprise_key(schema: str, salt: bytes) -> bytes:
    return derive_key(salt=salt, info=b"portal/enterprise-key/v1/" + schema.encode())


def enterprise_key(enterprise: Enterprise) -> bytes:
    """The enterprise's key-encryption key; its salt is created on first use."""
    row = EnterpriseKey.objects.filter(enterprise=enterprise).first()
    if row is None:
        row, _created = EnterpriseKey.objects.get_or_create(enterprise=enterprise, defaults={"salt": os.urandom(32)})
    if row.destroyed_at is not None or not bytes(row.salt):
        raise KeyUnavailable(f"The key of {enterprise.schema_name} has been destroyed.")
    return _derive_enterprise_key(enterprise.schema_name, bytes(row.salt))


def _wrap_aad(enterprise: Enterprise, membership_id: int) -> bytes:
    return f"{enterprise.schema_name}/member-key/{membership_id}".encode()


def _field_aad(enterprise: Enterprise, membership_id: int, field: str) -> bytes:
    return f"{enterprise.schema_name}/{field}/{membership_id}".encode()


def _member_key(enterprise: Enterprise, membership_id: int, *, create: bool) -> bytes:
    with enterprise_schema(enterprise):
        row = MemberDataKey.objects.filter(membership_id=membership_id).first()
        if row is None:
            if not create:
                raise KeyUnavailable(f"Member {membership_id} has no data key (never created or destroyed).")
            key = new_key()
            with transaction.atomic():
                row, created = MemberDataKey.objects.get_or_create(
                    membership_id=membership_id,
                    defaults={
                        "wrapped_key": seal(enterprise_key(enterprise), key, aad=_wrap_aad(enterprise, membership_id))
                    },
                )
            if created:
                return key
        return unseal(enterprise_key(enterprise), bytes(row.wrapped_key), aad=_wrap_aad(enterprise, membership_id))


def encrypt_for_member(*, enterprise: Enterprise, membership_id: int, field: str, value: str | bytes) -> bytes:
    """Ciphertext of `value`, bound to this enterprise, member and field name."""
    plaintext = value.encode() if isinstance(value, str) else value
    key = _member_key(enterprise, membership_id, create=True)
    return seal(key, plaintext, aad=_field_aad(enterprise, membership_id, field))


def decrypt_for_member(*, enterprise: Enterprise, membership_id: int, field: str, blob: bytes) -> bytes:
    """Plaintext bytes; raises KeyUnavailable after crypto-shredding or on a swapped ciphertext."""
    key = _member_key(enterprise, membership_id, create=False)
    return unseal(key, bytes(blob), aad=_field_aad(enterprise, membership_id, field))


def decrypt_many_for_members(
    *, enterprise: Enterprise, field: str, items: list[tuple[K, int, bytes]]
) -> dict[K, bytes]:
    """Decrypt many ciphertexts of one field at once: `items` are (key, membership_id, blob);
    returns {key: plaintext} for those still readable (crypto-shredded ones are left out). Two
    queries whatever the number of items (the enterprise key, the members' data keys)."""
    if not items:
        return {}
    try:
        kek = enterprise_key(enterprise)
    except KeyUnavailable:
        return {}
    with enterprise_schema(enterprise):
        wrapped = dict(
            MemberDataKey.objects.filter(membership_id__in={mid for _k, mid, _b in items}).values_list(
                "membership_id", "wrapped_key"
            )
        )
    member_keys: dict[int, bytes | None] = {}
    plaintexts: dict[K, bytes] = {}
    for key, membership_id, blob in items:
        if membership_id not in member_keys:
            try:
                member_keys[membership_id] = (
                    unseal(kek, bytes(wrapped[membership_id]), aad=_wrap_aad(enterprise, membership_id))
                    if membership_id in wrapped
                    else None
                )
            except KeyUnavailable:
                member_keys[membership_id] = None
        data_key = member_keys[membership_id]
        if data_key is None:
            continue
        try:
            plaintexts[key] = unseal(data_key, bytes(blob), aad=_field_aad(enterprise, membership_id, field))
        except KeyUnavailable:
            continue
    return plaintexts


def member_key_destroy(*, enterprise: Enterprise, membership_id: int) -> bool:
    """Delete the member's data key. Returns True if one existed.

    The low-level primitive, with no guard and no ledger entry: erasure calls
    `retention.services.erasure.departed_data_keys_destroy`, which destroys the key as the
    last step of a member's erasure, only once their card is anonymised (never an active
    member's), and records it in the ledger (RET-6, docs/encryption.md)."""
    with enterprise_schema(enterprise):
        deleted, _rows = MemberDataKey.objects.filter(membership_id=membership_id).delete()
    return deleted > 0


def enterprise_key_destroy(*, enterprise: Enterprise) -> bool:
    """Crypto-shred a whole enterprise (termination, TEN-4, RET-6): mark its key destroyed and
    overwrite the salt, so the key can never be derived again (clearing `destroyed_at` does not
    bring it back) and every member key of the enterprise becomes unwrappable. An enterprise
    that never had a key gets a destroyed row, so no new key is created for it later.
    Returns True if a usable key existed."""
    with transaction.atomic():
        row = EnterpriseKey.objects.select_for_update().filter(enterprise=enterprise).first()
        if row is None:
            EnterpriseKey.objects.create(enterprise=enterprise, salt=b"", destroyed_at=timezone.now())
            existed = False
        else:
            existed = row.destroyed_at is None and bool(bytes(row.salt))
            row.salt = b""
            row.destroyed_at = row.destroyed_at or timezone.now()
            row.save(update_fields=["salt", "destroyed_at"])
    _derive_enterprise_key.cache_clear()
    return existed
