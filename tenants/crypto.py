"""Envelope-encryption primitives (RET-6), shared by enterprise and platform data.

master key (PORTAL_MASTER_KEY, environment)
  └─ key-encryption key = HKDF-SHA256(master, salt, info)   — enterprise: salt in tenants.EnterpriseKey
       └─ data key (random 32 bytes), stored wrapped (AES-256-GCM) — per member / per account
            └─ field ciphertext (AES-256-GCM), bound by associated data to its owner and field

See docs/encryption.md."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

FORMAT_VERSION = b"\x01"
NONCE_BYTES = 12


class KeyUnavailable(Exception):
    """The key needed to read a ciphertext no longer exists (crypto-shredded) or is wrong."""


def master_key() -> bytes:
    raw = settings.PORTAL_MASTER_KEY
    try:
        key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured("PORTAL_MASTER_KEY must be 32 bytes, urlsafe base64.") from error
    if len(key) != 32:
        raise ImproperlyConfigured("PORTAL_MASTER_KEY must be 32 bytes, urlsafe base64.")
    return key


def derive_key(*, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(master_key())


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, plaintext: bytes, *, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT_VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def unseal(key: bytes, blob: bytes, *, aad: bytes) -> bytes:
    blob = bytes(blob)
    if not blob.startswith(FORMAT_VERSION) or len(blob) < 1 + NONCE_BYTES + 16:
        raise KeyUnavailable("Not a ciphertext of this format.")
    nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag as error:
        raise KeyUnavailable("The ciphertext does not open with this key.") from error
