"""Global accounts in the public schema (ACC-1): one per person, identified by a mobile number."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from phonenumber_field.modelfields import PhoneNumberField

from accounts.masking import mask_mobile


def account_avatar_path(instance: Any, filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"avatars/{uuid.uuid4().hex}.{extension}"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, mobile: str, password: str | None = None, **extra: Any) -> User:
        user = self.model(mobile=mobile, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, mobile: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(mobile, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """An account. `is_staff` marks platform operators (ACC-5); enterprise roles live in each
    enterprise's schema (`enterprise_data.Membership`)."""

    class Gender(models.TextChoices):
        UNKNOWN = "", _("Not stated")
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")

    class RealNameStatus(models.TextChoices):
        NONE = "none", _("Not verified")
        PENDING = "pending", _("Submitted")
        VERIFIED = "verified", _("Verified")

    # Empty only for the tombstone of a deleted account (DSR-6): the number is freed for a new account.
    mobile = PhoneNumberField(_("mobile number"), unique=True, null=True)
    nickname = models.CharField(_("nickname"), max_length=64, blank=True)
    email = models.EmailField(_("email"), blank=True)
    # ACC-2 profile
    avatar = models.FileField(_("avatar"), upload_to=account_avatar_path, blank=True)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, blank=True, default="")
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    # ACC-2 real-name verification: encrypted with the account's data key under the platform key
    # (accounts.encryption); read-only for the holder once verified.
    real_name_status = models.CharField(
        _("real-name status"), max_length=16, choices=RealNameStatus.choices, default=RealNameStatus.NONE
    )
    legal_name_encrypted = models.BinaryField(
        null=True, blank=True, editable=False, verbose_name=_("legal name (encrypted)")
    )
    id_number_encrypted = models.BinaryField(
        null=True, blank=True, editable=False, verbose_name=_("ID number (encrypted)")
    )
    real_name_verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    # CON-2: set for every account when a major policy version takes effect, cleared when the
    # account accepts it; loaded with the user, so the interstitial costs no query.
    policy_acceptance_required = models.BooleanField(
        default=False, editable=False, verbose_name=_("policy acceptance required")
    )
    # DSR-6: set while the account's deletion is cooling off (or executing): the account can sign
    # in only to cancel it. Loaded with the user, so the check costs no query
    # (requests.account_deletion.middleware.AccountDeletionCoolingOffMiddleware).
    deletion_pending = models.BooleanField(default=False, editable=False, verbose_name=_("deletion pending"))
    # Account security (issue 17 §2, docs/account-security.md). `session_generation` is part of
    # the session auth hash (`_get_session_auth_hash`): raising it ends every session signed in
    # before, in one UPDATE and at no cost per request (the user row is loaded anyway).
    session_generation = models.PositiveIntegerField(_("session generation"), default=0, editable=False)
    # Frozen by the holder: sign-in is refused until unfrozen with an SMS code.
    frozen_at = models.DateTimeField(_("frozen at"), null=True, blank=True, editable=False)
    email_verified_at = models.DateTimeField(_("e-mail verified at"), null=True, blank=True, editable=False)
    # The nonce of the one verification link that may still be used (empty: none).
    email_verification_nonce = models.CharField(
        _("e-mail verification nonce"), max_length=32, blank=True, default="", editable=False
    )
    is_staff = models.BooleanField(_("platform operator"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)

    USERNAME_FIELD = "mobile"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if not self.mobile:  # the tombstone of a deleted account (DSR-6) holds no name
            return str(_("deleted account"))
        return self.nickname or self.masked_mobile

    @property
    def masked_mobile(self) -> str:
        return mask_mobile(str(self.mobile)) if self.mobile else ""

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Django's hash of the password, plus the session generation once it was raised, so
        that ending every session (sign out everywhere, freeze) needs no per-request query.
        Generation 0 keeps Django's own value: sessions signed in before this existed live on."""
        if not self.session_generation:
            return super()._get_session_auth_hash(secret=secret)  # type: ignore[misc]
        key_salt = "accounts.User.get_session_auth_hash"
        value = f"{self.password}:{self.session_generation}"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.display_name


class AccountDataKey(models.Model):
    """The account's data key, wrapped by the platform key (RET-6 for account data)."""

    account = models.OneToOneField(User, on_delete=models.CASCADE, related_name="data_key", verbose_name=_("account"))
    wrapped_key = models.BinaryField(verbose_name=_("wrapped key"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("account data key")
        verbose_name_plural = _("account data keys")


class IdDocument(models.Model):
    """A photo of an identity document for real-name verification, encrypted like the fields."""

    class Side(models.TextChoices):
        FRONT = "front", pgettext_lazy("side of an ID card", "Front")
        BACK = "back", pgettext_lazy("side of an ID card", "Back")

    account = models.ForeignKey(User, on_delete=models.CASCADE, related_name="id_documents", verbose_name=_("account"))
    side = models.CharField(max_length=8, choices=Side.choices, verbose_name=_("side"))
    content_type = models.CharField(max_length=32, verbose_name=_("content type"))
    data_encrypted = models.BinaryField(verbose_name=_("data (encrypted)"))
    uploaded_at = models.DateTimeField(auto_now_add=True, verbose_name=_("uploaded at"))

    class Meta:
        verbose_name = _("ID document")
        verbose_name_plural = _("ID documents")
        constraints = [models.UniqueConstraint(fields=["account", "side"], name="id_document_one_per_side")]


class SmsCode(models.Model):
    """A one-time code sent by SMS. Only an HMAC of the code is stored (ACC-1)."""

    class Purpose(models.TextChoices):
        REGISTER = "register", _("Registration")
        SENSITIVE = "sensitive", _("Sensitive action")
        ACCOUNT_DELETION = "account_deletion", _("Account deletion")
        PASSWORD_RESET = "password_reset", _("Password reset")
        UNFREEZE = "unfreeze", _("Unfreezing the account")

    mobile = models.CharField(max_length=20, verbose_name=_("mobile"))
    purpose = models.CharField(max_length=16, choices=Purpose.choices, verbose_name=_("purpose"))
    code_hash = models.CharField(max_length=128, verbose_name=_("code hash"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    consumed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("consumed at"))
    sent_to_ip = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("sent to IP address"))

    class Meta:
        verbose_name = _("SMS code")
        verbose_name_plural = _("SMS codes")
        indexes = [models.Index(fields=["mobile", "purpose", "-created_at"], name="smscode_lookup")]

    def __str__(self) -> str:
        return f"{mask_mobile(self.mobile)} {self.get_purpose_display()} {self.created_at:%Y-%m-%d %H:%M}"


class SignInHandoff(models.Model):
    """A single-use, short-lived pass that signs an account in on one enterprise's host (TEN-2:
    the creator of an enterprise lands on its console without signing in again). Only a SHA-256
    of the token is stored; the row is deleted when the token is presented (used or refused) and
    expires after SIGN_IN_HANDOFF_SECONDS (accounts.handoff)."""

    account = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", verbose_name=_("account"))
    enterprise = models.ForeignKey(
        "tenants.Enterprise", on_delete=models.CASCADE, related_name="+", verbose_name=_("enterprise")
    )
    token_hash = models.CharField(max_length=64, unique=True, verbose_name=_("token hash"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))

    class Meta:
        verbose_name = _("sign-in hand-off")
        verbose_name_plural = _("sign-in hand-offs")

    def __str__(self) -> str:
        return f"{self.account_id} → {self.enterprise_id} until {self.expires_at:%Y-%m-%d %H:%M:%S}"


# --- account security (issue 17 §2, docs/account-security.md) --------------------------------------


class AccountSession(models.Model):
    """A signed-in session of an account, on any host, for the session list. Written when the
    account signs in (accounts.security.receivers) and touched by
    accounts.security.middleware.AccountSessionMiddleware at most every SESSION_TOUCH_SECONDS.
    Only a SHA-256 of the session key is stored; ending a session deletes it from Django's session
    store (accounts.security.services.sessions_end)."""

    account = models.ForeignKey(User, on_delete=models.CASCADE, related_name="security_sessions")
    session_key_hash = models.CharField(max_length=64, db_index=True)
    user_agent = models.CharField(max_length=300, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    host = models.CharField(max_length=253, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("signed-in session")
        verbose_name_plural = _("signed-in sessions")
        indexes = [models.Index(fields=["account", "ended_at"], name="account_session_open")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.created_at:%Y-%m-%d %H:%M}"


class KnownDevice(models.Model):
    """A browser the account has signed in from: keyed by a SHA-256 of the random id in the
    long-lived signed cookie `portal_device` (accounts.security.services.DEVICE_COOKIE). A sign-in
    without a known device sends a notice (issue 17 §2)."""

    account = models.ForeignKey(User, on_delete=models.CASCADE, related_name="known_devices")
    device_hash = models.CharField(max_length=64)
    user_agent = models.CharField(max_length=300, blank=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("known device")
        verbose_name_plural = _("known devices")
        constraints = [models.UniqueConstraint(fields=["account", "device_hash"], name="known_device_once")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.device_hash[:8]}"


class AccountEvent(models.Model):
    """What happened to the account's security, shown on the security page."""

    class Kind(models.TextChoices):
        NEW_DEVICE = "new_device", _("Signed in from a new device")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        PASSWORD_RESET = "password_reset", _("Password reset with an SMS code")
        SESSION_ENDED = "session_ended", _("A session was signed out")
        OTHER_SESSIONS_ENDED = "other_sessions_ended", _("Signed out everywhere else")
        FROZEN = "frozen", _("Account frozen")
        UNFROZEN = "unfrozen", _("Account unfrozen")
        EMAIL_SET = "email_set", _("E-mail address set")
        EMAIL_VERIFIED = "email_verified", _("E-mail address verified")

    account = models.ForeignKey(User, on_delete=models.CASCADE, related_name="security_events")
    kind = models.CharField(_("event"), max_length=32, choices=Kind.choices)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("account security event")
        verbose_name_plural = _("account security events")
        indexes = [models.Index(fields=["account", "-created_at"], name="account_event_recent")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"
