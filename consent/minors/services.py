"""Minors (ACC-4): an account whose age is under 14 needs a recorded guardian consent before any
enterprise may process its data; under 18 is flagged.

The age comes from the verified ID number's birth date when the account is real-name verified
(the ID number is authoritative), else from the profile birthday, else it is unknown (None; not
treated as a minor). Operators record a guardian consent in the Django admin after checking it
(consent/minors/admin.py); the enterprise-data services that collect a member's data call
`require_processable(account)` first."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import ric

from accounts.encryption import decrypt_many_for_accounts
from accounts.models import User
from accounts.profile.services import ID_NUMBER_FIELD, real_name_id_number
from consent.models.platform import GuardianConsent

ADULT_AGE = 18
GUARDIAN_CONSENT_AGE = 14
GUARDIAN_CONSENT_REQUIRED = "guardian_consent_required"

_LIMITS = {"guardian_name": 100, "relation": 50, "contact": 100}


def account_birth_date(*, account: User) -> date | None:
    """The verified ID number's birth date for a real-name-verified account, else the birthday."""
    if account.real_name_status == User.RealNameStatus.VERIFIED and account.id_number_encrypted:
        number = real_name_id_number(account=account)
        if number:
            with suppress(stdnum_exceptions.ValidationError, ValueError):  # unparsable: fall back
                born: date = ric.get_birth_date(number)
                return born
    return account.birthday


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def account_age(*, account: User, today: date | None = None) -> int | None:
    """Completed years of age of `account` on `today` (default: today), or None if unknown."""
    born = account_birth_date(account=account)
    if born is None:
        return None
    return age_on(born, today or timezone.localdate())


def is_minor(*, account: User, today: date | None = None) -> bool:
    """Under 18 (ACC-4: flagged in the console, not blocked)."""
    age = account_age(account=account, today=today)
    return age is not None and age < ADULT_AGE


def guardian_consent_active(*, account: User) -> GuardianConsent | None:
    """The newest unrevoked guardian consent of `account`, if any. One query."""
    return GuardianConsent.objects.filter(account=account, revoked_at__isnull=True).order_by("-recorded_at").first()


def needs_guardian_consent(*, account: User, today: date | None = None) -> bool:
    """Under 14 and no unrevoked guardian consent recorded (ACC-4)."""
    age = account_age(account=account, today=today)
    if age is None or age >= GUARDIAN_CONSENT_AGE:
        return False
    return guardian_consent_active(account=account) is None


def require_processable(account: User | None) -> None:
    """The one check every enterprise-data service that collects a member's data makes first
    (ACC-4): ValidationError with code "guardian_consent_required" for an account under 14
    without a guardian consent. None (a card not yet linked to an account) passes."""
    if account is None:
        return
    if needs_guardian_consent(account=account):
        raise ValidationError(
            {
                "account": [
                    ValidationError(
                        _(
                            "This member is under 14: no enterprise may process their data until a guardian's "
                            "consent has been recorded. Ask the member's guardian to contact the platform."
                        ),
                        code=GUARDIAN_CONSENT_REQUIRED,
                    )
                ]
            },
        )


# the columns of accounts_user `minors_among` reads, for a caller that selects them with its rows
MINOR_FIELDS = ("birthday", "real_name_status", "id_number_encrypted")


def minor_account_ids(*, account_ids: Iterable[int | None], today: date | None = None) -> set[int]:
    """The ids among `account_ids` of accounts under 18 (ACC-4), for the console's list badge,
    set-based: one query for the accounts and one for the keys of the real-name-verified ones
    (their ID numbers' birth dates win over the birthdays, as in `account_birth_date`)."""

    ids = {pk for pk in account_ids if pk is not None}
    if not ids:
        return set()
    rows = User.objects.filter(pk__in=ids).values_list("pk", *MINOR_FIELDS)
    return minors_among(rows, today=today)


def minors_among(rows: Iterable[tuple[int, date | None, str, Any]], *, today: date | None = None) -> set[int]:
    """The account ids of `rows` — (account id, *MINOR_FIELDS) tuples a caller already selected,
    e.g. joined into its page's query — that are under 18 (ACC-4); one query for the keys of the
    real-name-verified ones, none when there are none."""
    rows = list(rows)
    today = today or timezone.localdate()
    verified = {pk: bytes(blob) for pk, _b, status, blob in rows if status == User.RealNameStatus.VERIFIED and blob}
    numbers = decrypt_many_for_accounts(field=ID_NUMBER_FIELD, blobs=verified) if verified else {}
    minors: set[int] = set()
    for pk, birthday, _status, _blob in rows:
        born = birthday
        if pk in numbers:
            with suppress(stdnum_exceptions.ValidationError, ValueError, UnicodeDecodeError):
                born = ric.get_birth_date(numbers[pk].decode())
        if born is not None and age_on(born, today) < ADULT_AGE:
            minors.add(pk)
    return minors


def _clean(guardian_name: str, relation: str, contact: str) -> dict[str, str]:
    values = {"guardian_name": guardian_name, "relation": relation, "contact": contact}
    errors: dict[str, list[str]] = {}
    clean: dict[str, str] = {}
    messages = {
        "guardian_name": _("Enter the guardian's name."),
        "relation": _("Enter the guardian's relation to the account holder (e.g. mother)."),
        "contact": _("Enter how to reach the guardian (mobile number or email)."),
    }
    for field, raw in values.items():
        value = " ".join(str(raw or "").split())
        if not value:
            errors[field] = [messages[field]]
        elif len(value) > _LIMITS[field]:
            errors[field] = [_("At most %(n)d characters.") % {"n": _LIMITS[field]}]
        clean[field] = value
    if errors:
        raise ValidationError(errors)
    return clean


def guardian_consent_record(
    *, account: User, guardian_name: str, relation: str, contact: str, recorded_by: User | None
) -> GuardianConsent:
    """Record a guardian's consent for `account` (ACC-4), after an operator checked it. Every
    field is required (field errors, nothing written). From now on enterprises may process the
    account's data."""
    clean = _clean(guardian_name, relation, contact)
    with transaction.atomic():
        return GuardianConsent.objects.create(
            account=account, recorded_at=timezone.now(), recorded_by=recorded_by, **clean
        )


def guardian_consent_revoke(*, consent: GuardianConsent) -> bool:
    """Revoke a guardian consent (ACC-4); returns False if it was already revoked. Processing of
    an account under 14 stops at once unless another unrevoked consent exists."""
    with transaction.atomic():
        updated = GuardianConsent.objects.filter(pk=consent.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    if updated:
        consent.refresh_from_db(fields=["revoked_at"])
    return bool(updated)
