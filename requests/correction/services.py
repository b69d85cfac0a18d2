"""Correcting one's own data (DSR-2, DSR-3).

Two kinds of field, decided in docs/self-service.md:

- **Self-editable** card fields (`SELF_EDITABLE`: work signature, landline, email, fax, seat and
  which fields are shown outside the company) describe how the member wants to be reached; the
  member changes them at once (`member_profile_update`) through the directory's own validation
  (`member_card_update`), and the ledger records it as the member's own instruction (actor kind
  `member`, even for an administrator editing their own card).
- **Controlled** fields (`CONTROLLED`: name, photo, gender, mobile number, ID number, company,
  invoice title, position, rank, title, departments, secretary, enterprise mailbox) are verified
  or decided by the enterprise; the member asks for a correction (`correction_request_submit`):
  a `correction` request of category `directory` naming the field and the value asked for, which
  goes to the administrators who hold the directory over the member (DSR-3), with its deadline.

On the platform the account's verified real-name data (legal name, ID number) and the mobile
number (the account's identity) are corrected by the operators: `account_correction_submit`
makes an account-data `correction` request (public schema). The nickname, avatar, gender and
birthday stay editable on /account/profile/ (accounts.profile.services).

A requested ID number is checked (checksum) but written into the request only masked: the
request's text is not encrypted, and the administrator or operator verifies the number against
the ID document anyway."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.masking import mask_id_number
from accounts.models import User
from accounts.profile.services import clean_id_number
from accounts.validators import normalize_mobile
from core.models import Membership
from core.scopes import AdminScope
from directory.services import member_card_update, validate_id_number
from ledger.models import LedgerEntry
from requests.models import Request, RequestKind
from requests.workflow.services import TEXT_MAX_LENGTH, request_submit
from tenants.categories import Category
from tenants.context import enterprise_schema
from tenants.models import Enterprise

SELF_EDITABLE = ("work_signature", "landline", "email", "fax", "seat", "external_fields")
CONTROLLED = (
    "display_name",
    "photo",
    "gender",
    "mobile",
    "id_number",
    "company",
    "invoice_title",
    "position",
    "rank",
    "title",
    "departments",
    "secretary",
    "enterprise_mailbox",
)
ACCOUNT_CONTROLLED = ("legal_name", "id_number", "mobile")
# Account fields that are the verified real-name data: a correction only once verified (before,
# the holder submits them again on /account/real-name/).
REAL_NAME_FIELDS = ("legal_name", "id_number")
VALUE_MAX_LENGTH = 200
REASON_MAX_LENGTH = TEXT_MAX_LENGTH - 500  # room for the field, the value and the notes around them
SELF_EDIT_PURPOSE = "the member's own correction (DSR-3)"


def field_label(name: str) -> str:
    """The card field's label ("work signature"), in the current language."""
    if name == "id_number":
        return str(gettext_lazy("resident ID number"))
    if name == "legal_name":
        return str(gettext_lazy("legal name"))
    field = Membership._meta.get_field(name)
    return str(getattr(field, "verbose_name", name))


def controlled_message() -> str:
    return _("The enterprise keeps this field: request a correction instead.")


def member_profile_update(*, enterprise: Enterprise, membership: Membership, data: dict[str, Any]) -> list[str]:
    """The member changes self-editable fields of their own card at once. A controlled or unknown
    field, or a bad value, is a field error and nothing changes. One ledger entry (action
    `change`, actor kind member, the changed field names) when something changed; returns the
    changed field names."""
    errors: dict[str, list[str]] = {}
    for name in data:
        if name in CONTROLLED:
            errors[name] = [controlled_message()]
        elif name not in SELF_EDITABLE:
            errors[name] = [_("Unknown field.")]
    if errors:
        raise ValidationError(errors)
    if not membership.is_active:
        raise ValidationError({"membership": [_("Only an active member can change their card.")]})
    with enterprise_schema(enterprise), transaction.atomic():
        card = Membership.objects.select_for_update().filter(pk=membership.pk, status=Membership.Status.ACTIVE).first()
        if card is None:  # left in the meantime
            raise ValidationError({"membership": [_("Only an active member can change their card.")]})
        return member_card_update(
            enterprise=enterprise,
            actor=card,
            scope=AdminScope(card),
            membership=card,
            data=dict(data),
            purpose=SELF_EDIT_PURPOSE,
            actor_kind=LedgerEntry.ActorKind.MEMBER,
        )


def _clean_value(field: str, value: str, errors: dict[str, list[str]], *, account: bool = False) -> str:
    """The value asked for, checked where a format exists; the ID number comes back masked."""
    value = " ".join((value or "").split())
    if not value:
        errors.setdefault("value", []).append(_("Enter the correct value."))
        return ""
    if len(value) > VALUE_MAX_LENGTH:
        errors.setdefault("value", []).append(_("At most %(n)d characters.") % {"n": VALUE_MAX_LENGTH})
        return ""
    try:
        if field == "id_number":
            return mask_id_number(clean_id_number(value) if account else validate_id_number(value))
        if field == "mobile":
            return normalize_mobile(value)
    except ValidationError as error:
        messages = error.message_dict.get(field, error.messages) if hasattr(error, "error_dict") else error.messages
        errors.setdefault("value", []).extend(messages)
        return ""
    return value


def _description(field: str, value: str, reason: str) -> str:
    text = _("Correction of %(field)s. Value asked for: %(value)s") % {"field": field_label(field), "value": value}
    if field == "id_number":
        text += "\n" + _("(The full number is not stored in the request: it will be checked against the ID document.)")
    if reason:
        text += "\n" + _("Reason: %(reason)s") % {"reason": reason}
    return text


def _clean_reason(reason: str, errors: dict[str, list[str]]) -> str:
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX_LENGTH:
        errors.setdefault("reason", []).append(_("At most %(n)d characters.") % {"n": REASON_MAX_LENGTH})
    return reason


def correction_request_submit(
    *, enterprise: Enterprise, account: User, membership: Membership, field: str, value: str, reason: str = ""
) -> Request:
    """A correction of a controlled card field (DSR-3): a `correction` request, category
    directory, to the administrators holding the directory over the member. A self-editable
    field is refused (change it directly), as are unknown fields and bad values; nothing is
    written then."""
    errors: dict[str, list[str]] = {}
    if field in SELF_EDITABLE:
        errors["field"] = [_("You can change this field yourself on your profile.")]
    elif field not in CONTROLLED:
        errors["field"] = [_("Choose a field of your card.")]
    clean = _clean_value(field, value, errors)
    reason = _clean_reason(reason, errors)
    if errors:
        raise ValidationError(errors)
    return request_submit(
        enterprise=enterprise,
        account=account,
        membership=membership,
        kind=RequestKind.CORRECTION,
        category=Category.DIRECTORY,
        description=_description(field, clean, reason),
    )


def account_correction_submit(*, account: User, field: str, value: str, reason: str = "") -> Request:
    """A correction of the account's verified real-name data or mobile number (DSR-3): an
    account-data `correction` request, answered by the operators. Real-name data that is not
    verified yet is resubmitted on /account/real-name/ instead."""
    errors: dict[str, list[str]] = {}
    if field not in ACCOUNT_CONTROLLED:
        errors["field"] = [_("Choose the legal name, the ID number or the mobile number.")]
    elif field in REAL_NAME_FIELDS and account.real_name_status != User.RealNameStatus.VERIFIED:
        errors["field"] = [_("Your real-name data is not verified yet: submit it again on the real-name page.")]
    clean = _clean_value(field, value, errors, account=True) if field in ACCOUNT_CONTROLLED else ""
    if field == "mobile" and clean and clean == str(account.mobile):
        errors.setdefault("value", []).append(_("This is already your mobile number."))
    reason = _clean_reason(reason, errors)
    if errors:
        raise ValidationError(errors)
    return request_submit(
        enterprise=None, account=account, kind=RequestKind.CORRECTION, description=_description(field, clean, reason)
    )
