"""Field encryption for platform account data (real-name verification, ACC-2): per-account
data keys wrapped by the platform key, derived from the master key like enterprise keys."""

from __future__ import annotations

from django.db import transaction

from accounts.models import AccountDataKey, User
from tenants.crypto import KeyUnavailable, derive_key, new_key, seal, unseal

__all__ = [
    "KeyUnavailable",
    "account_key_destroy",
    "decrypt_for_account",
    "decrypt_many_for_accounts",
    "encrypt_for_account",
]

_PLATFORM_SALT = b"portal/platform-key/v1"


def _platform_key() -> bytes:
    return derive_key(salt=_PLATFORM_SALT, info=b"portal/platform-key/v1/accounts")


def _account_key(account: User, *, create: bool) -> bytes:
    aad = f"public/account-key/{account.pk}".encode()
    row = AccountDataKey.objects.filter(account=account).first()
    if row is None:
        if not create:
            raise KeyUnavailable(f"Account {account.pk} has no data key.")
        key = new_key()
        with transaction.atomic():
            row, created = AccountDataKey.objects.get_or_create(
                account=account, defaults={"wrapped_key": seal(_platform_key(), key, aad=aad)}
            )
        if created:
            return key
    return unseal(_platform_key(), bytes(row.wrapped_key), aad=aad)


def encrypt_for_account(*, account: User, field: str, value: str | bytes) -> bytes:
    plaintext = value.encode() if isinstance(value, str) else value
    return seal(_account_key(account, create=True), plaintext, aad=f"public/{field}/{account.pk}".encode())


def decrypt_for_account(*, account: User, field: str, blob: bytes) -> bytes:
    return unseal(_account_key(account, create=False), bytes(blob), aad=f"public/{field}/{account.pk}".encode())


def decrypt_many_for_accounts(*, field: str, blobs: dict[int, bytes]) -> dict[int, bytes]:
    """Decrypt one field of many accounts ({account id: ciphertext}) with one query for their
    keys. Accounts whose key is gone (erased) or whose ciphertext does not open are left out."""
    keys = dict(AccountDataKey.objects.filter(account_id__in=list(blobs)).values_list("account_id", "wrapped_key"))
    platform = _platform_key()
    plain: dict[int, bytes] = {}
    for account_id, blob in blobs.items():
        wrapped = keys.get(account_id)
        if wrapped is None:
            continue
        try:
            key = unseal(platform, bytes(wrapped), aad=f"public/account-key/{account_id}".encode())
            plain[account_id] = unseal(key, bytes(blob), aad=f"public/{field}/{account_id}".encode())
        except KeyUnavailable:
            continue
    return plain


def account_key_destroy(*, account: User) -> bool:
    deleted, _rows = AccountDataKey.objects.filter(account=account).delete()
    return deleted > 0
