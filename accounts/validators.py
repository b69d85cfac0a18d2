"""Mobile numbers: parsed with phonenumbers (default region CN), stored as E.164 (ACC-1)."""

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalize_mobile(raw: str) -> str:
    """Return the E.164 form of a mobile number, or raise ValidationError.

    National mainland numbers (`13800138000`) are read as +86; a +86 number must be a valid
    mainland mobile number."""
    text = (raw or "").strip().replace(" ", "").replace("-", "")
    if not text:
        raise ValidationError(_("Enter a mobile number."), code="required")
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException as error:
        raise ValidationError(
            _("Enter a valid mobile number, e.g. 13800138000 or +8613800138000."), code="invalid"
        ) from error
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise ValidationError(_("Enter a valid mobile number, e.g. 13800138000 or +8613800138000."), code="invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
