"""Account security (issue 17 §2; docs/account-security.md): signed-in sessions, password change
and reset, known devices, freezing, the e-mail address and its verification, security events.

Ending sessions. Django's database session store holds every session of every host (the
public schema). Two mechanisms, both immediate:

* the session auth hash (`User._get_session_auth_hash`) covers the password *and* the account's
  `session_generation`: a new password or a raised generation ends every session on its next
  request, including sessions signed in before this feature existed; the current session is
  kept by `update_session_auth_hash` where the holder stays signed in;
* one session is ended by deleting its row from the session store (found by the SHA-256 of its
  key that AccountSession keeps) and marking its AccountSession ended.

Notices (inbox + SMS) are announced with `accounts.signals.account_security_notice`; consent,
which owns the inbox, sends them (consent/receivers.py): accounts sit below consent."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core import signing
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import models, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import AccountEvent, AccountSession, KnownDevice, SmsCode, User
from accounts.security.devices import browser_name, coarse_address, system_name
from accounts.security.places import region
from accounts.selectors import account_by_mobile
from accounts.services import sms_code_send, sms_code_verify
from accounts.signals import account_security_notice
from accounts.validators import normalize_mobile
from tenants.throttling import client_ip

logger = logging.getLogger(__name__)

# The session's AccountSession id (set at sign-in; the "this device" marker and touches use it).
SESSION_ROW_KEY = "_account_session"
# Seconds between two writes of a session's `last_seen` (accounts.security.middleware).
SESSION_TOUCH_SECONDS = 5 * 60
# The long-lived signed cookie that names a browser (KnownDevice); a random id, host-only.
DEVICE_COOKIE = "portal_device"
DEVICE_COOKIE_SALT = "accounts.security.device"
DEVICE_COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie
EMAIL_TOKEN_SALT = "accounts.security.email"  # noqa: S105 (a signing salt, not a secret)
EMAIL_VERIFICATION_SECONDS = 24 * 3600
USER_AGENT_MAX = 300


def key_hash(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


def _user_agent(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return str(request.META.get("HTTP_USER_AGENT", ""))[:USER_AGENT_MAX]


def _ip(request: HttpRequest | None) -> str | None:
    return client_ip(request) if request is not None and request.META.get("REMOTE_ADDR") else None


# --- events and notices ------------------------------------------------------------------------


def event_record(*, account: User, kind: str, request: HttpRequest | None = None) -> AccountEvent:
    return AccountEvent.objects.create(account=account, kind=kind, ip=_ip(request), user_agent=_user_agent(request))


def _notice(*, account: User, kind: str, title: str, body: str, params: dict[str, str] | None = None) -> None:
    """An inbox message and its SMS copy (sent by consent's receiver, in this transaction). `title`
    and `body` are msgids (marked with gettext_noop), read in the reader's language."""
    account_security_notice.send(sender=User, account=account, kind=kind, title=title, body=body, params=params or {})


# --- sessions ----------------------------------------------------------------------------------


class _Sha256Hex(models.Func):
    """PostgreSQL's own sha256() of a text column, as hex (no pgcrypto needed)."""

    template = "encode(sha256(convert_to(%(expressions)s, 'UTF8')), 'hex')"
    output_field = models.CharField()


def _delete_stored_sessions(hashes: Iterable[str]) -> int:
    """Delete the sessions with these key hashes from Django's session store (one DELETE; the
    store is the public schema's django_session, SESSION_ENGINE's default)."""
    wanted = [value for value in hashes if value]
    if not wanted:
        return 0
    deleted, _counts = Session.objects.annotate(key_sha=_Sha256Hex("session_key")).filter(key_sha__in=wanted).delete()
    return deleted


def session_record_sign_in(*, request: HttpRequest, account: User) -> AccountSession | None:
    """At sign-in (user_logged_in): the session's row, its id kept in the session."""
    session = getattr(request, "session", None)
    if session is None:
        return None
    if session.session_key is None:
        session.save()
    now = timezone.now()
    row = AccountSession.objects.create(
        account=account,
        session_key_hash=key_hash(str(session.session_key)),
        user_agent=_user_agent(request),
        ip=_ip(request),
        host=request.get_host() if request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME") else "",
        created_at=now,
        last_seen=now,
    )
    session[SESSION_ROW_KEY] = row.pk
    _touched(str(session.session_key))
    return row


def touch_key(session_key: str) -> str:
    return f"account-session-touch:{key_hash(session_key)}"


def touch_cache() -> BaseCache:
    """The remembered touches: the `throttle` cache, whose keys carry no schema prefix — a
    session is the platform's, and sign-in may run in another schema than the requests after it."""
    return caches["throttle"]


def touch_due(session_key: str) -> bool:
    """True at most once every SESSION_TOUCH_SECONDS per session (a Redis `add`)."""
    return bool(touch_cache().add(touch_key(session_key), 1, timeout=SESSION_TOUCH_SECONDS))


def _touched(session_key: str) -> None:
    try:
        touch_cache().set(touch_key(session_key), 1, timeout=SESSION_TOUCH_SECONDS)
    except Exception:  # noqa: BLE001 (the cache is down: the next request touches the row again)
        logger.warning("account session touch not remembered: cache unavailable", exc_info=True)


def session_touch(*, request: HttpRequest, account: User) -> None:
    """Called by the middleware at most every SESSION_TOUCH_SECONDS per session: one UPDATE on
    its own (autocommit, no lock held through the request); a session without a row (signed in
    before this existed, or its row was lost) gets one."""
    session = request.session
    if session.session_key is None:
        return
    current = key_hash(session.session_key)
    now = timezone.now()
    row_id = session.get(SESSION_ROW_KEY)
    updated = 0
    if row_id is not None:
        updated = AccountSession.objects.filter(pk=row_id, account=account, ended_at__isnull=True).update(
            last_seen=now, ip=_ip(request), session_key_hash=current
        )
    if not updated:
        updated = AccountSession.objects.filter(
            account=account, session_key_hash=current, ended_at__isnull=True
        ).update(last_seen=now, ip=_ip(request))
    if not updated:
        session_record_sign_in(request=request, account=account)


def session_rekeyed(*, request: HttpRequest) -> None:
    """After the session key changed (update_session_auth_hash cycles it): its row follows."""
    row_id = request.session.get(SESSION_ROW_KEY)
    if row_id is not None and request.session.session_key:
        AccountSession.objects.filter(pk=row_id).update(session_key_hash=key_hash(request.session.session_key))


def _keep_current_session(request: HttpRequest, account: User) -> None:
    update_session_auth_hash(request, account)
    session_rekeyed(request=request)


def sessions_end(*, account: User, rows: Iterable[AccountSession]) -> int:
    """End these sessions of `account`: deleted from the session store, rows marked ended."""
    rows = [row for row in rows if row.account_id == account.pk]
    if not rows:
        return 0
    AccountSession.objects.filter(pk__in=[row.pk for row in rows], ended_at__isnull=True).update(
        ended_at=timezone.now()
    )
    return _delete_stored_sessions(row.session_key_hash for row in rows)


def _open_sessions(account: User) -> models.QuerySet[AccountSession]:
    return AccountSession.objects.filter(account=account, ended_at__isnull=True)


def session_end_one(*, account: User, session_id: int, request: HttpRequest) -> bool:
    """Sign out one session of the holder's (not the current one: that is "Sign out"). False
    when there is no such open session of theirs."""
    row = _open_sessions(account).filter(pk=session_id).first()
    if row is None or row.pk == request.session.get(SESSION_ROW_KEY):
        return False
    sessions_end(account=account, rows=[row])
    event_record(account=account, kind=AccountEvent.Kind.SESSION_ENDED, request=request)
    return True


def _end_every_session(account: User, *, keep: HttpRequest | None = None) -> None:
    """Raise the session generation (every session's auth hash changes), end every row but the
    current session's, and keep `keep`'s session signed in if given."""
    User.objects.filter(pk=account.pk).update(session_generation=F("session_generation") + 1)
    account.refresh_from_db(fields=["session_generation"])
    current = keep.session.get(SESSION_ROW_KEY) if keep is not None else None
    others = _open_sessions(account)
    if current is not None:
        others = others.exclude(pk=current)
    sessions_end(account=account, rows=list(others))
    if keep is not None:
        _keep_current_session(keep, account)


def sessions_end_others(*, account: User, request: HttpRequest) -> None:
    """ "Sign out everywhere else": every session of the account but this one ends."""
    with transaction.atomic():
        _end_every_session(account, keep=request)
        event_record(account=account, kind=AccountEvent.Kind.OTHER_SESSIONS_ENDED, request=request)


# --- password ----------------------------------------------------------------------------------


def password_change(*, account: User, current: str, new: str, new_again: str, request: HttpRequest) -> None:
    """Change the holder's password: the current one must be right, the new one passes
    AUTH_PASSWORD_VALIDATORS; every other session ends, this one stays signed in."""
    errors: dict[str, list[str]] = {}
    if not account.check_password(current or ""):
        errors["current_password"] = [_("Your current password is not right.")]
    if new != new_again:
        errors["new_password_again"] = [_("The two passwords differ.")]
    try:
        validate_password(new or "", user=account)
    except ValidationError as error:
        errors["new_password"] = list(error.messages)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        account.set_password(new)
        account.save(update_fields=["password"])
        _end_every_session(account, keep=request)
        event_record(account=account, kind=AccountEvent.Kind.PASSWORD_CHANGED, request=request)
        _notice(
            account=account,
            kind="password_changed",
            title=gettext_noop("Your password was changed"),
            body=gettext_noop("If this was not you, reset your password from the sign-in page at once."),
        )


def password_reset_send(*, mobile: str, ip: str | None) -> None:
    """Send a reset code to `mobile`, throttled exactly as sign-up's codes (per number, per
    client address, platform-wide). A number without an account is answered the same: a code row
    is written (so the throttles count alike) but no SMS is sent."""
    mobile = normalize_mobile(mobile)
    account = account_by_mobile(mobile=mobile)
    sms_code_send(
        mobile=mobile,
        purpose=SmsCode.Purpose.PASSWORD_RESET,
        ip=ip,
        deliver=account is not None and account.is_active,
    )


def password_reset_complete(
    *, mobile: str, code: str, new: str, new_again: str, request: HttpRequest | None = None
) -> User:
    """A new password with the code sent to `mobile`: every session of the account ends; an
    inbox + SMS notice. Field errors otherwise (a number without an account: a wrong code)."""
    mobile = normalize_mobile(mobile)
    account = account_by_mobile(mobile=mobile)
    errors: dict[str, list[str]] = {}
    if new != new_again:
        errors["new_password_again"] = [_("The two passwords differ.")]
    try:  # an unknown number is checked as an account with that number would be (no tell)
        validate_password(new or "", user=account or User(mobile=mobile))
    except ValidationError as error:
        errors["new_password"] = list(error.messages)
    if errors:
        raise ValidationError(errors)
    sms_code_verify(mobile=mobile, purpose=SmsCode.Purpose.PASSWORD_RESET, code=code)  # counts a wrong try
    if account is None or not account.is_active:  # never sent: the code cannot be right
        raise ValidationError({"code": _("The code has expired or was never sent. Ask for a new code.")})
    with transaction.atomic():
        account.set_password(new)
        account.save(update_fields=["password"])
        _end_every_session(account)
        event_record(account=account, kind=AccountEvent.Kind.PASSWORD_RESET, request=request)
        _notice(
            account=account,
            kind="password_reset",
            title=gettext_noop("Your password was reset"),
            body=gettext_noop(
                "Your password was reset with a code sent to your mobile number, and every session was "
                "signed out. If this was not you, reset it again and contact the platform."
            ),
        )
    return account


# --- known devices -----------------------------------------------------------------------------


def device_sign_in(*, request: HttpRequest, account: User) -> str | None:
    """After a sign-in with a password: is this browser known to the account (its `portal_device`
    cookie)? If not, it becomes known, and — unless it is the account's first device — the
    account gets an inbox + SMS notice. Returns the cookie value to set, or None to keep it."""
    raw = request.COOKIES.get(DEVICE_COOKIE, "")
    try:
        device_id = signing.get_cookie_signer(salt=DEVICE_COOKIE_SALT).unsign(raw) if raw else ""
    except signing.BadSignature:
        device_id = ""
    cookie = None
    if not device_id:
        device_id = secrets.token_urlsafe(24)
        cookie = signing.get_cookie_signer(salt=DEVICE_COOKIE_SALT).sign(device_id)
    digest = hashlib.sha256(device_id.encode()).hexdigest()
    now = timezone.now()
    with transaction.atomic():
        if KnownDevice.objects.filter(account=account, device_hash=digest).update(last_seen=now):
            return cookie
        first = not KnownDevice.objects.filter(account=account).exists()
        KnownDevice.objects.create(
            account=account, device_hash=digest, user_agent=_user_agent(request), first_seen=now, last_seen=now
        )
        if not first:
            event_record(account=account, kind=AccountEvent.Kind.NEW_DEVICE, request=request)
            agent = _user_agent(request)
            ip = _ip(request)
            # product names, the region's own name and a masked address: the same in every language
            device = " · ".join(
                part for part in (browser_name(agent), system_name(agent), region(ip), coarse_address(ip)) if part
            )
            _notice(
                account=account,
                kind="new_device",
                title=gettext_noop("New sign-in to your account"),
                body=gettext_noop(
                    "Your account was signed in from a device it has not used before (%(device)s) at %(time)s. "
                    "If this was not you, change your password and sign out everywhere else."
                ),
                params={"device": device or "?", "time": timezone.localtime(now).strftime("%Y-%m-%d %H:%M")},
            )
    return cookie


# --- freezing ----------------------------------------------------------------------------------


def account_freeze(*, account: User, request: HttpRequest) -> None:
    """The holder freezes their account: sign-in is refused until unfrozen by SMS code; every
    session ends (the current one too: the caller signs it out)."""
    with transaction.atomic():
        User.objects.filter(pk=account.pk).update(frozen_at=timezone.now())
        account.refresh_from_db(fields=["frozen_at"])
        _end_every_session(account)
        event_record(account=account, kind=AccountEvent.Kind.FROZEN, request=request)
        _notice(
            account=account,
            kind="frozen",
            title=gettext_noop("Your account is frozen"),
            body=gettext_noop(
                "Nobody can sign in to it until you unfreeze it with a code sent to your mobile number "
                "(from the sign-in page)."
            ),
        )


def unfreeze_send(*, mobile: str, ip: str | None) -> None:
    """A code to unfreeze, throttled as sign-up's; sent only to a frozen account's number, but
    answered the same for any number."""
    mobile = normalize_mobile(mobile)
    account = account_by_mobile(mobile=mobile)
    sms_code_send(
        mobile=mobile,
        purpose=SmsCode.Purpose.UNFREEZE,
        ip=ip,
        deliver=account is not None and account.is_frozen,
    )


def account_unfreeze(*, mobile: str, code: str, request: HttpRequest | None = None) -> User:
    mobile = normalize_mobile(mobile)
    sms_code_verify(mobile=mobile, purpose=SmsCode.Purpose.UNFREEZE, code=code)
    account = account_by_mobile(mobile=mobile)
    if account is None or not account.is_frozen:
        raise ValidationError({"code": _("The code has expired or was never sent. Ask for a new code.")})
    with transaction.atomic():
        User.objects.filter(pk=account.pk).update(frozen_at=None)
        account.refresh_from_db(fields=["frozen_at"])
        event_record(account=account, kind=AccountEvent.Kind.UNFROZEN, request=request)
        _notice(
            account=account,
            kind="unfrozen",
            title=gettext_noop("Your account was unfrozen"),
            body=gettext_noop("You can sign in again. If this was not you, freeze it again and reset your password."),
        )
    return account


# --- e-mail ------------------------------------------------------------------------------------


def email_token(*, account: User) -> str:
    return signing.dumps(
        {"a": account.pk, "e": account.email, "n": account.email_verification_nonce}, salt=EMAIL_TOKEN_SALT
    )


def email_set(
    *, account: User, email: str, verify_url: Callable[[str], str], request: HttpRequest | None = None
) -> User:
    """Store the holder's e-mail address unverified and send a verification link (signed, valid
    EMAIL_VERIFICATION_SECONDS, single use). `verify_url` turns a token into the link."""
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError as error:
        raise ValidationError({"email": _("Enter a valid e-mail address.")}) from error
    email = email[:254]
    with transaction.atomic():
        account.email = email
        account.email_verified_at = None
        account.email_verification_nonce = secrets.token_hex(16)
        account.save(update_fields=["email", "email_verified_at", "email_verification_nonce"])
        event_record(account=account, kind=AccountEvent.Kind.EMAIL_SET, request=request)
        link = verify_url(email_token(account=account))
        hours = EMAIL_VERIFICATION_SECONDS // 3600
        text = _(
            "Open this link to confirm that this is your e-mail address for the personal-data portal "
            "(valid for %(hours)d hours, once):\n\n%(link)s\n\nIf you did not ask for this, ignore this message."
        ) % {"hours": hours, "link": link}
        transaction.on_commit(
            lambda: send_mail(
                _("Confirm your e-mail address"), text, settings.DEFAULT_FROM_EMAIL, [email], fail_silently=False
            )
        )
    return account


def email_token_account(*, token: str) -> User:
    """The account whose current unverified address `token` confirms, or a ValidationError
    (expired, tampered, used, or for an address changed since)."""
    try:
        data = signing.loads(token, salt=EMAIL_TOKEN_SALT, max_age=timedelta(seconds=EMAIL_VERIFICATION_SECONDS))
    except signing.SignatureExpired as error:
        raise ValidationError(_("This link has expired. Set your e-mail address again to get a new one.")) from error
    except signing.BadSignature as error:
        raise ValidationError(_("This link is not valid.")) from error
    account_id = data.get("a") if isinstance(data, dict) else None
    account = User.objects.filter(pk=account_id).first() if isinstance(account_id, int) else None
    if (
        account is None
        or not data.get("n")
        or data.get("n") != account.email_verification_nonce
        or data.get("e") != account.email
    ):
        raise ValidationError(_("This link was already used, or the address was changed since."))
    return account


def email_verify(*, token: str, request: HttpRequest | None = None) -> User:
    account = email_token_account(token=token)
    with transaction.atomic():
        changed = User.objects.filter(
            pk=account.pk, email=account.email, email_verification_nonce=account.email_verification_nonce
        ).update(email_verified_at=timezone.now(), email_verification_nonce="")
        if not changed:  # used by a concurrent request
            raise ValidationError(_("This link was already used, or the address was changed since."))
        account.refresh_from_db(fields=["email_verified_at", "email_verification_nonce"])
        event_record(account=account, kind=AccountEvent.Kind.EMAIL_VERIFIED, request=request)
    return account
