"""The account profile and real-name verification (ACC-2), on the public host.

Profile: nickname, avatar (JPEG/PNG up to 2 MB, recognised by its magic bytes), gender and
birthday (not in the future).

Real-name verification: the holder submits a legal name, a resident ID number (checksum and
birth date checked with python-stdnum) and photos of both sides of the ID card (JPEG/PNG up to
5 MB each). Everything is encrypted with the account's data key (accounts.encryption) and the
status becomes `pending`; a platform operator marks it verified or rejects it in the Django
admin (accounts.admin). Once verified, the legal name and ID number are read-only for
the holder: a change is a correction request to the operators (requests.correction.services,
`/account/profile/correction/`)."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import ric

from accounts.encryption import KeyUnavailable, decrypt_for_account, encrypt_for_account
from accounts.models import IdDocument, User

MAX_AVATAR_BYTES = 2 * 1024 * 1024
MAX_ID_PHOTO_BYTES = 5 * 1024 * 1024
IMAGE_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}
VERIFIED_REFUSAL = gettext_lazy(
    "A change to verified real-name data is a correction request: the platform's operators check it against "
    "your documents (Request a correction)."
)
# Field names given to encrypt_for_account (part of each value's authenticated data).
LEGAL_NAME_FIELD = "legal_name"
ID_NUMBER_FIELD = "id_number"


def id_document_field(side: str) -> str:
    return f"id_document_{side}"


# --- images ------------------------------------------------------------------------------------


def image_content_type(data: bytes) -> str | None:
    """`image/jpeg` or `image/png` from the file's magic bytes, else None (no Pillow needed)."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    return None


def _read_image(upload: UploadedFile, *, field: str, max_bytes: int) -> tuple[bytes, str]:
    """The upload's bytes and content type, or a field error: too large, or not JPEG/PNG."""
    too_large = ValidationError(
        {field: _("The image is larger than %(size)d MB.") % {"size": max_bytes // (1024 * 1024)}}, code="too_large"
    )
    if upload.size is not None and upload.size > max_bytes:
        raise too_large
    upload.seek(0)
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_large
    content_type = image_content_type(data)
    if content_type is None:
        raise ValidationError({field: _("Upload a JPEG or PNG image.")}, code="not_an_image")
    return data, content_type


# --- profile -----------------------------------------------------------------------------------


def _clean_birthday(birthday: datetime.date | None) -> datetime.date | None:
    if birthday is None:
        return None
    if birthday > timezone.localdate():
        raise ValidationError({"birthday": _("The birthday cannot be in the future.")}, code="future")
    if birthday.year < 1900:
        raise ValidationError({"birthday": _("Enter a birthday after 1900.")}, code="too_old")
    return birthday


def account_profile_update(
    *,
    account: User,
    nickname: str,
    gender: str = "",
    birthday: datetime.date | None = None,
    avatar: UploadedFile | None = None,
    avatar_clear: bool = False,
) -> User:
    """Change the holder's own profile (ACC-2). Every field is checked before anything is
    written; on a field error nothing changes."""
    errors: dict[str, list[str]] = {}
    nickname = (nickname or "").strip()
    if len(nickname) > 64:
        errors.setdefault("nickname", []).append(_("At most 64 characters."))
    if gender not in User.Gender.values:
        errors.setdefault("gender", []).append(_("Choose a gender from the list."))
    try:
        birthday = _clean_birthday(birthday)
        id_number = real_name_id_number(account=account) if birthday is not None else ""
        if id_number and ric.get_birth_date(id_number) != birthday:
            errors["birthday"] = [_("The birthday differs from the birth date in your resident ID number.")]
    except ValidationError as error:
        errors.update(error.message_dict)
    avatar_data: tuple[bytes, str] | None = None
    if avatar is not None:
        try:
            avatar_data = _read_image(avatar, field="avatar", max_bytes=MAX_AVATAR_BYTES)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    old_avatar = account.avatar.name if account.avatar else ""
    with transaction.atomic():
        account.nickname = nickname
        account.gender = gender
        account.birthday = birthday
        fields = ["nickname", "gender", "birthday"]
        if avatar_data is not None:
            data, content_type = avatar_data
            account.avatar.save(f"{uuid.uuid4().hex}.{IMAGE_EXTENSIONS[content_type]}", ContentFile(data), save=False)
            fields.append("avatar")
        elif avatar_clear and old_avatar:
            account.avatar = ""  # type: ignore[assignment]
            fields.append("avatar")
        account.save(update_fields=fields)
        if "avatar" in fields and old_avatar:
            storage = account.avatar.storage
            transaction.on_commit(lambda: storage.delete(old_avatar))
    return account


# --- real-name verification --------------------------------------------------------------------


@dataclass(frozen=True)
class RealNameSummary:
    """What the holder (or an operator) is shown: never the full ID number."""

    status: str
    legal_name: str
    masked_id_number: str
    verified_at: datetime.datetime | None


def mask_id_number(value: str) -> str:
    """`110105194912310021` -> `110***********0021`."""
    if len(value) < 8:
        return "*" * len(value)
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"


def _decrypt(account: User, field: str, blob: bytes | memoryview | None) -> str:
    if not blob:
        return ""
    try:
        return decrypt_for_account(account=account, field=field, blob=bytes(blob)).decode()
    except KeyUnavailable:
        return ""


def real_name_summary(*, account: User) -> RealNameSummary:
    return RealNameSummary(
        status=account.real_name_status,
        legal_name=_decrypt(account, LEGAL_NAME_FIELD, account.legal_name_encrypted),
        masked_id_number=mask_id_number(_decrypt(account, ID_NUMBER_FIELD, account.id_number_encrypted)),
        verified_at=account.real_name_verified_at,
    )


def real_name_id_number(*, account: User) -> str:
    """The full ID number, for code that must compare it (never for display)."""
    return _decrypt(account, ID_NUMBER_FIELD, account.id_number_encrypted)


def clean_id_number(raw: str) -> str:
    """A valid resident ID number in its compact form (upper-case X), or a field error."""
    number = ric.compact("".join((raw or "").split()).replace("-", ""))
    if not number:
        raise ValidationError({"id_number": _("Enter your resident ID number.")}, code="required")
    try:
        number = ric.validate(number)
    except stdnum_exceptions.ValidationError as error:
        raise ValidationError(
            {"id_number": _("Enter a valid 18-character resident ID number; this one fails its check.")},
            code="invalid",
        ) from error
    if ric.get_birth_date(number) > timezone.localdate():
        raise ValidationError({"id_number": _("The birth date in this ID number is in the future.")}, code="invalid")
    return number


def real_name_submit(
    *,
    account: User,
    legal_name: str,
    id_number: str,
    id_front: UploadedFile | None,
    id_back: UploadedFile | None,
) -> User:
    """Submit (or, while pending, resubmit) real-name data (ACC-2): all of it encrypted with the
    account's key, status `pending`. Refused once verified (a correction request instead), and
    on any field error nothing is stored."""
    if account.real_name_status == User.RealNameStatus.VERIFIED:
        raise ValidationError({NON_FIELD_ERRORS: [str(VERIFIED_REFUSAL)]}, code="verified")
    errors: dict[str, list[str]] = {}
    legal_name = " ".join((legal_name or "").split())
    if not legal_name:
        errors["legal_name"] = [_("Enter your name as it is on your ID card.")]
    elif len(legal_name) > 64:
        errors["legal_name"] = [_("At most 64 characters.")]
    try:
        id_number = clean_id_number(id_number)
        if account.birthday is not None and ric.get_birth_date(id_number) != account.birthday:
            errors["id_number"] = [_("The birth date in this ID number differs from the birthday in your profile.")]
    except ValidationError as error:
        errors.update(error.message_dict)
    photos: dict[str, tuple[bytes, str]] = {}
    for side, upload in ((IdDocument.Side.FRONT, id_front), (IdDocument.Side.BACK, id_back)):
        field = f"id_{side}"
        if upload is None:
            errors[field] = [_("Upload a photo of this side of your ID card.")]
            continue
        try:
            photos[side] = _read_image(upload, field=field, max_bytes=MAX_ID_PHOTO_BYTES)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=account.pk)
        if locked.real_name_status == User.RealNameStatus.VERIFIED:
            raise ValidationError({NON_FIELD_ERRORS: [str(VERIFIED_REFUSAL)]}, code="verified")
        account.legal_name_encrypted = encrypt_for_account(account=account, field=LEGAL_NAME_FIELD, value=legal_name)
        account.id_number_encrypted = encrypt_for_account(account=account, field=ID_NUMBER_FIELD, value=id_number)
        account.real_name_status = User.RealNameStatus.PENDING
        account.real_name_verified_at = None
        account.save(
            update_fields=[
                "legal_name_encrypted",
                "id_number_encrypted",
                "real_name_status",
                "real_name_verified_at",
            ]
        )
        for photo_side, (data, content_type) in photos.items():
            IdDocument.objects.update_or_create(
                account=account,
                side=photo_side,
                defaults={
                    "content_type": content_type,
                    "data_encrypted": encrypt_for_account(
                        account=account, field=id_document_field(photo_side), value=data
                    ),
                },
            )
    return account


def real_name_verify(*, account: User) -> bool:
    """An operator confirms a pending submission (ACC-2). Returns False (nothing changed) unless
    it was pending."""
    changed = User.objects.filter(pk=account.pk, real_name_status=User.RealNameStatus.PENDING).update(
        real_name_status=User.RealNameStatus.VERIFIED, real_name_verified_at=timezone.now()
    )
    if changed:
        account.refresh_from_db(fields=["real_name_status", "real_name_verified_at"])
    return bool(changed)


def real_name_reject(*, account: User) -> bool:
    """An operator rejects a pending submission: it is erased (name, number, photos) and the
    status returns to `none`, so the holder may submit again. Returns False unless pending."""
    with transaction.atomic():
        changed = User.objects.filter(pk=account.pk, real_name_status=User.RealNameStatus.PENDING).update(
            real_name_status=User.RealNameStatus.NONE,
            real_name_verified_at=None,
            legal_name_encrypted=None,
            id_number_encrypted=None,
        )
        if changed:
            IdDocument.objects.filter(account=account).delete()
    if changed:
        account.refresh_from_db(
            fields=["real_name_status", "real_name_verified_at", "legal_name_encrypted", "id_number_encrypted"]
        )
    return bool(changed)


def id_document_image(*, account: User, side: str) -> tuple[bytes, str] | None:
    """The decrypted photo of one side and its content type (for operators), or None."""
    document = IdDocument.objects.filter(account=account, side=side).first()
    if document is None:
        return None
    try:
        data = decrypt_for_account(account=account, field=id_document_field(side), blob=bytes(document.data_encrypted))
    except KeyUnavailable:
        return None
    return data, document.content_type
