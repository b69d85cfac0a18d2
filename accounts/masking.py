"""Display masking (ENT-9): personal numbers are masked wherever they are listed or shown,
until someone with the permission reveals them (which the ledger records)."""

from __future__ import annotations


def mask_mobile(value: str) -> str:
    """`+8613812341234` -> `138****1234`; other numbers keep their first 3 and last 4 digits."""
    digits = value[3:] if value.startswith("+86") else value.lstrip("+")
    if len(digits) < 8:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_id_number(value: str) -> str:
    """Resident ID `11010519491231002X` -> `110***********002X`."""
    if len(value) < 8:
        return "*" * len(value)
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"


def mask_phone(value: str) -> str:
    """Landline or fax: keep the last 4 digits, e.g. `010-6555-1234` -> `*********1234`."""
    if len(value) <= 4:
        return "*" * len(value)
    return "*" * (len(value) - 4) + value[-4:]


def mask_email(value: str) -> str:
    """`chen.jing@acme.cn` -> `c*******@acme.cn`."""
    local, _at, domain = value.partition("@")
    if not domain:
        return "*" * len(value)
    return f"{local[:1]}{'*' * max(len(local) - 1, 1)}@{domain}"


def mask_name(value: str) -> str:
    """`张三丰` → `张**`, `Alice Owner` → `A**********`: the first character only."""
    return value[:1] + "*" * (len(value) - 1) if value else ""
