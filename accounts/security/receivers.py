"""Sign-in writes the session's row (connected in AccountsConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.models import User
from accounts.security.services import session_record_sign_in


@receiver(user_logged_in, dispatch_uid="accounts.security.session_record_sign_in")
def record_sign_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and isinstance(user, User):
        session_record_sign_in(request=request, account=user)
