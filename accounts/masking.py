"""Display masking (ENT-9): personal numbers are masked wherever they are listed."""


def mask_mobile(value: str) -> str:
    """`+8613812341234` -> `138****1234`; other numbers keep their first 3 and last 4 digits."""
    digits = value[3:] if value.startswith("+86") else value.lstrip("+")
    if len(digits) < 8:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
