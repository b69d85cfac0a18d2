from __future__ import annotations

from accounts.models import User
from accounts.validators import normalize_mobile


def account_by_mobile(*, mobile: str) -> User | None:
    """The account with this mobile number (any accepted spelling), or None."""
    return User.objects.filter(mobile=normalize_mobile(mobile)).first()
