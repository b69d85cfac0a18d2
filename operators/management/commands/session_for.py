"""`manage.py session_for <mobile> <host>`: a signed-in session for a development or fuzzing run
(SEC-3's schemathesis step signs in its personas this way). Prints `sessionid csrftoken`.

The session has passed the second factor (the account gets a confirmed authenticator if it has
none), as an administrator's would after entering a code; `--password-only` gives a plain
password session instead (a member's; an administrator's would be sent to two-factor first).

Refused unless DEBUG is on or PORTAL_ALLOW_SESSION_FOR=1 is in the environment: it is a way
around the password, for local tools only."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.management.base import BaseCommand, CommandError
from django.middleware.csrf import _get_new_csrf_string  # type: ignore[attr-defined]
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.selectors import account_by_mobile
from tenants.middleware import SESSION_SCHEMA_KEY
from tenants.models import Domain


class Command(BaseCommand):
    help = "Create a signed-in session for a local tool; prints sessionid and csrftoken."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("mobile")
        parser.add_argument("host", help="e.g. acme.localhost (the session is bound to its schema)")
        parser.add_argument("--password-only", action="store_true", help="no second factor: a plain password sign-in")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and os.environ.get("PORTAL_ALLOW_SESSION_FOR") != "1":
            raise CommandError("Refused: only with DEBUG on or PORTAL_ALLOW_SESSION_FOR=1 (local tools).")
        account = account_by_mobile(mobile=options["mobile"])
        if account is None:
            raise CommandError("No such account.")
        domain = Domain.objects.select_related("tenant").filter(domain=options["host"]).first()
        if domain is None:
            raise CommandError("No such host.")
        session = SessionStore()
        session[SESSION_KEY] = str(account.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = account.get_session_auth_hash()
        session[SESSION_SCHEMA_KEY] = domain.tenant.schema_name
        if not options["password_only"]:
            device = TOTPDevice.objects.filter(user=account, confirmed=True).first() or TOTPDevice.objects.create(
                user=account, name="authenticator", confirmed=True
            )
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.create()
        self.stdout.write(f"{session.session_key} {_get_new_csrf_string()}")
