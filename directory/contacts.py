"""External-contact matching (ENT-7): which of a member's phone contacts are members too.

The client hashes each E.164 number with HMAC-SHA256 under the enterprise's contact salt
(docs/contact-matching.md) and sends only the lower-case hex digests. The server computes the
same digest for every active member's mobile number and answers the intersection. Nothing
received is stored, logged or written to the ledger: the digests live only in this function's
local variables for the duration of the request."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from consent.consents.services import require_basis
from consent.models import ConsentPurpose, SensitiveCategory
from consent.models.platform import DevicePermission
from consent.permissions.services import device_permission_require
from core.models import EnterpriseSettings, Membership
from tenants.context import enterprise_schema
from tenants.models import Enterprise

MAX_HASHES = 1000
HASH_PATTERN = re.compile(r"[0-9a-f]{64}")


def contacts_salt_get(*, enterprise: Enterprise) -> str:
    """The enterprise's contact-hash salt (64 hex characters), created on first use."""
    with enterprise_schema(enterprise):
        row = EnterpriseSettings.objects.filter(pk=1).first()
        if row is not None and row.contact_hash_salt:
            return row.contact_hash_salt
        with transaction.atomic():
            row, _created = EnterpriseSettings.objects.select_for_update().get_or_create(
                pk=1, defaults={"contact_hash_salt": secrets.token_hex(32)}
            )
            if not row.contact_hash_salt:
                row.contact_hash_salt = secrets.token_hex(32)
                row.save(update_fields=["contact_hash_salt"])
        return row.contact_hash_salt


def contact_hash(*, salt: str, mobile: str) -> str:
    """HMAC-SHA256 with key = the salt's UTF-8 bytes, message = the E.164 number's UTF-8 bytes,
    as lower-case hex: exactly what clients compute."""
    return hmac.new(salt.encode(), mobile.encode(), hashlib.sha256).hexdigest()


def _clean_hashes(hashes: object) -> list[str]:
    if not isinstance(hashes, list | tuple):
        raise ValidationError({"hashes": [_("Send a list of hex digests.")]})
    if len(hashes) > MAX_HASHES:
        raise ValidationError({"hashes": [_("At most %(n)d digests per request.") % {"n": MAX_HASHES}]})
    bad = [i for i, value in enumerate(hashes) if not (isinstance(value, str) and HASH_PATTERN.fullmatch(value))]
    if bad:
        # Positions only: the values themselves are never echoed, logged or stored.
        raise ValidationError(
            {
                "hashes": [
                    _("Each digest must be 64 lower-case hexadecimal characters (items %(items)s are not).")
                    % {"items": ", ".join(str(i) for i in bad[:20])}
                ]
            }
        )
    return list(hashes)


def contacts_match(
    *, enterprise: Enterprise, account: User, hashes: list[str], membership: Membership | None = None
) -> list[str]:
    """The subset of `hashes` (in the order given, without repeats) that equal the digest of an
    active member's mobile number. At most MAX_HASHES digests of 64 lower-case hex characters,
    or a ValidationError with field errors. One query for the salt, one for the mobiles.

    The asking `account` must have granted the `contacts` device permission (CON-5), checked on
    every call (one query) so that a revocation takes effect at once: else
    DevicePermissionRequired (code "device_permission_required"). The asking member (looked up
    unless given as `membership`) needs the separate consent for contacts (CON-4): else
    ConsentRequired (code "consent_required")."""
    device_permission_require(account=account, kind=DevicePermission.Kind.CONTACTS)
    wanted = _clean_hashes(hashes)
    asking = membership
    if asking is None:
        with enterprise_schema(enterprise):
            asking = Membership.objects.filter(account=account, status=Membership.Status.ACTIVE).first()
    if asking is None or asking.account_id != account.pk:
        raise ValidationError({"account": [_("Only an active member can match contacts.")]})
    require_basis(
        enterprise=enterprise,
        membership=asking,
        category=SensitiveCategory.CONTACTS,
        purpose=ConsentPurpose.CONTACT_MATCHING,
    )  # CON-4
    if not wanted:
        return []
    salt = contacts_salt_get(enterprise=enterprise)
    with enterprise_schema(enterprise):
        mobiles = (
            Membership.objects.filter(status=Membership.Status.ACTIVE)
            .exclude(mobile="")
            .order_by()
            .values_list("mobile", flat=True)
            .distinct()
        )
        members = {contact_hash(salt=salt, mobile=mobile) for mobile in mobiles}
    return [digest for digest in dict.fromkeys(wanted) if digest in members]
