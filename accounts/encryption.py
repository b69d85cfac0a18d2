"""Field encryption for platform account data (real-name verification, ACC-2): per-account
data keys wrapped by the platform key, derived from the master key like enterprise keys."""

from __future__ import annotations

from django.db import transaction

from accounts.models import AccountDataKey, User
from tenants.crypto import KeyUnavailable, derive_key, new_key, seal, unseal

__all__ = ["KeyUnavailable", "account_key_destroy", "decrypt_for_account", "encrypt_for_account"]

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


def account_key_destroy(*, account: User) -> bool:
    deleted, _rows = AccountDataKey.objects.filter(account=account).delete()
    return deleted > 0
