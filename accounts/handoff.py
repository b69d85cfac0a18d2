"""The sign-in hand-off (TEN-2, SEC-2; docs/security.md "Sign-in hand-off"): after creating an
enterprise on the public host, its creator is signed in on the new enterprise's own host without
typing the password again, and without any session crossing hosts (sessions stay host-bound,
tenants.middleware.HostBoundSessionMiddleware).

`handoff_create` makes a random token for (account, enterprise), stores only its SHA-256 and
returns the token; `handoff_redeem` consumes it atomically (the row is deleted whether it is
accepted or not) and returns the account when the token is known, unexpired and was made for
this enterprise. Anything else is `HandoffRefused`, one answer for every reason."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import SignInHandoff, User
from tenants.models import Enterprise

TOKEN_BYTES = 32  # 43 URL-safe characters
TOKEN_MAX_LENGTH = 64


class HandoffRefused(Exception):
    """The token is unknown, used, expired or for another enterprise (never said which)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def handoff_create(*, account: User, enterprise: Enterprise) -> str:
    """A new single-use token that signs `account` in on `enterprise`'s host within
    SIGN_IN_HANDOFF_SECONDS. Expired hand-offs of every account are deleted on the way."""
    now = timezone.now()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        SignInHandoff.objects.filter(expires_at__lte=now).delete()
        SignInHandoff.objects.create(
            account=account,
            enterprise=enterprise,
            token_hash=_digest(token),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.SIGN_IN_HANDOFF_SECONDS),
        )
    return token


def handoff_redeem(*, token: str, enterprise: Enterprise) -> User:
    """The account `token` signs in on `enterprise`'s host; the token is used up (deleted) in any
    case, so a second use, or a use on another host, finds nothing. HandoffRefused otherwise."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        raise HandoffRefused
    with transaction.atomic():
        handoff = (
            SignInHandoff.objects.select_for_update()
            .select_related("account")
            .filter(token_hash=_digest(token))
            .first()
        )
        if handoff is None:
            raise HandoffRefused
        handoff.delete()
    if handoff.expires_at <= timezone.now() or handoff.enterprise_id != enterprise.pk:
        raise HandoffRefused
    account = handoff.account
    if not account.is_active or account.is_frozen:  # as ModelBackend.user_can_authenticate; a frozen account
        raise HandoffRefused
    return account
