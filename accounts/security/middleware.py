"""Keeps the session list current (issue 17 §2; docs/account-security.md).

After authentication: a signed-in request touches its AccountSession at most once every
SESSION_TOUCH_SECONDS (a Redis `add` decides, so nothing is written to the session itself):
one UPDATE in autocommit, no lock held through the request. A frozen account's session is
signed out (freezing already ended it through the session generation; this is a second net)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from accounts.models import User
from accounts.security.services import session_touch, touch_due

logger = logging.getLogger(__name__)


class AccountSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if isinstance(user, User) and user.is_authenticated:
            if user.is_frozen:
                logout(request)
            else:
                self._touch(request, user)
        return self.get_response(request)

    @staticmethod
    def _touch(request: HttpRequest, user: User) -> None:
        session_key = request.session.session_key
        if not session_key:
            return
        try:
            due = touch_due(session_key)
        except Exception:  # noqa: BLE001  # the cache is down: the list is a little stale, the request goes on
            logger.warning("account session touch skipped: cache unavailable", exc_info=True)
            return
        if due:
            session_touch(request=request, account=user)
