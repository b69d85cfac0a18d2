"""The erasure step of deleting an account (DSR-6): what the platform holds about the account is
erased and its row becomes a tombstone. requests.account_deletion runs it last, once every
enterprise was left (each departure through retention.services.erasure), in its own transaction;
docs/account-deletion.md has the full list of what is deleted, anonymised and kept."""

from __future__ import annotations

from datetime import datetime

from axes.models import AccessAttempt
from django.contrib.admin.models import LogEntry
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.encryption import account_key_destroy
from accounts.models import AccountEvent, AccountSession, IdDocument, KnownDevice, SmsCode, User
from consent.models import (
    DevicePermission,
    GuardianConsent,
    Notification,
    NotificationDelivery,
    PolicyAcceptance,
    PolicyNoticeDismissal,
)


def account_data_erase(*, account: User, now: datetime) -> None:
    """Erase the account's data, in the caller's transaction (idempotent: an erased account is
    erased again to the same empty values). The avatar file goes after the commit."""
    mobile, email = str(account.mobile or ""), account.email
    avatar = account.avatar.name if account.avatar else ""
    IdDocument.objects.filter(account_id=account.pk).delete()
    account_key_destroy(account=account)  # crypto-shredding: every copy of the real-name data is unreadable
    Notification.objects.filter(account_id=account.pk).delete()  # the inbox, with its SMS/e-mail copies
    addresses = [address for address in (mobile, email) if address]
    # copies sent to the number or address without an inbox message (the final notice, once sent)
    NotificationDelivery.objects.filter(address__in=addresses).exclude(
        status=NotificationDelivery.Status.PENDING
    ).delete()
    PolicyNoticeDismissal.objects.filter(account_id=account.pk).delete()
    PolicyAcceptance.objects.filter(account_id=account.pk).update(ip=None)
    DevicePermission.objects.filter(account_id=account.pk).delete()
    GuardianConsent.objects.filter(account_id=account.pk).update(guardian_name="", contact="")
    if mobile:
        SmsCode.objects.filter(mobile=mobile).delete()
        AccessAttempt.objects.filter(username=mobile).delete()
    TOTPDevice.objects.filter(user_id=account.pk).delete()
    # account security (issue 17 §2): signed-in sessions, known browsers and security events hold
    # addresses and user agents
    AccountSession.objects.filter(account_id=account.pk).delete()
    KnownDevice.objects.filter(account_id=account.pk).delete()
    AccountEvent.objects.filter(account_id=account.pk).delete()
    StaticDevice.objects.filter(user_id=account.pk).delete()
    LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(User), object_id=str(account.pk)).update(
        object_repr=f"account #{account.pk}"
    )
    account.groups.clear()
    account.user_permissions.clear()
    User.objects.filter(pk=account.pk).update(
        mobile=None,
        nickname="",
        email="",
        avatar="",
        gender="",
        birthday=None,
        real_name_status=User.RealNameStatus.NONE,
        legal_name_encrypted=None,
        id_number_encrypted=None,
        real_name_verified_at=None,
        session_generation=0,
        frozen_at=None,
        email_verified_at=None,
        email_verification_nonce="",
        policy_acceptance_required=False,
        deletion_pending=False,
        is_staff=False,
        is_superuser=False,
        is_active=False,
        password=make_password(None),
        last_login=None,
        date_joined=now,
    )
    if avatar:
        transaction.on_commit(lambda: default_storage.delete(avatar))
