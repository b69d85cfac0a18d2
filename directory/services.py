"""The member directory card (ENT-2), masking and reveal (ENT-9).

Admins change cards through `member_card_update`; every value is validated first (field
errors, nothing written), the resident ID number is stored encrypted (RET-6), and exactly one
ledger entry names the fields that changed (never their values)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from accounts.masking import mask_email, mask_id_number, mask_mobile, mask_phone
from accounts.validators import normalize_mobile
from consent.consents.services import ConsentRequired, require_basis
from consent.minors.services import require_processable
from consent.models import ConsentPurpose, SensitiveCategory
from core.encryption import decrypt_for_member, encrypt_for_member
from core.models import Membership
from core.scopes import AdminScope
from core.selectors import get_departments_for, get_member_for, get_position_for, get_rank_for
from invitations.services import invitation_create_by_mobile
from ledger.services import Action, ledger_record
from tenants.categories import Category
from tenants.context import enterprise_schema
from tenants.models import Enterprise

ID_NUMBER_FIELD = "id_number"
PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{3,30}$")
TEXT_LIMITS = {
    "display_name": 100,
    "company": 200,
    "invoice_title": 200,
    "work_signature": 200,
    "title": 100,
    "seat": 64,
}
PHONE_FIELDS = ("landline", "fax")
EMAIL_FIELDS = ("email", "enterprise_mailbox")
# Fields whose full value is masked until revealed (ENT-9).
REVEALABLE_FIELDS = ("mobile", "id_number", "landline", "fax", "email", "enterprise_mailbox")
PHOTO_MAX_BYTES = 2 * 1024 * 1024
PHOTO_SIGNATURES = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png"}


def validate_id_number(value: str) -> str:
    """A mainland resident ID number (GB 11643, checksum included), compacted."""
    try:
        return str(ric.validate(value))
    except StdnumError as error:
        raise ValidationError(
            {"id_number": _("Enter a valid resident ID number (18 characters, checksum included).")}
        ) from error


def _clean_card(data: dict[str, Any], scope: AdminScope) -> dict[str, Any]:
    """Validate the card fields present in `data`; return model-ready values. Raises one
    ValidationError listing every bad field. Every object the card names (departments,
    secretary, position, rank) is fetched through the acting admin's `scope`: one outside it is
    refused exactly like one that does not exist (ENT-8)."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for field, limit in TEXT_LIMITS.items():
        if field in data:
            value = (data[field] or "").strip()
            if len(value) > limit:
                fail(field, _("At most %(n)d characters.") % {"n": limit})
            clean[field] = value
    if "display_name" in clean and not clean["display_name"]:
        fail("display_name", _("Enter the member's name."))
    if "gender" in data:
        if data["gender"] not in Membership.Gender.values:
            fail("gender", _("Choose a valid gender."))
        clean["gender"] = data["gender"]
    if "mobile" in data:
        try:
            clean["mobile"] = normalize_mobile(data["mobile"]) if data["mobile"] else ""
        except ValidationError as error:
            fail("mobile", error.messages[0])
    for field in PHONE_FIELDS:
        if field in data:
            value = (data[field] or "").strip()
            if value and not PHONE_RE.match(value):
                fail(field, _("Enter digits, spaces, hyphens and an optional leading +."))
            clean[field] = value
    for field in EMAIL_FIELDS:
        if field in data:
            value = (data[field] or "").strip()
            if value:
                try:
                    validate_email(value)
                except ValidationError:
                    fail(field, _("Enter a valid email address."))
            clean[field] = value
    if data.get(ID_NUMBER_FIELD):
        try:
            clean[ID_NUMBER_FIELD] = validate_id_number(str(data[ID_NUMBER_FIELD]).strip())
        except ValidationError as error:
            fail(ID_NUMBER_FIELD, error.message_dict[ID_NUMBER_FIELD][0])
    for field, get in (("position", get_position_for), ("rank", get_rank_for)):
        if field in data:
            value = data[field]
            if value in (None, ""):
                clean[field] = None
            else:
                found = get(scope, value)
                if found is None:
                    fail(field, _("Choose an existing entry."))
                clean[field] = found
    if "departments" in data:
        raw = data["departments"] or []
        values = [raw] if isinstance(raw, str | int) else list(raw)
        departments = get_departments_for(scope, Category.DIRECTORY, values)
        if departments is None:
            fail("departments", _("Choose existing departments."))
        elif not departments and Category.DIRECTORY not in scope.whole:
            # a card without a department is outside every department scope (ENT-8)
            fail("departments", _("Choose at least one department in your scope."))
        clean["departments"] = departments or []
    if "secretary" in data:
        value = data["secretary"]
        if value in (None, ""):
            clean["secretary"] = None
        else:
            secretary = get_member_for(scope, Category.DIRECTORY, value, active=True)
            if secretary is None:
                fail("secretary", _("Choose an active member of this enterprise."))
            clean["secretary"] = secretary
    if "external_fields" in data:
        fields = data["external_fields"] or []
        if not isinstance(fields, list | tuple) or set(map(str, fields)) - set(Membership.EXTERNAL_FIELDS):
            fail("external_fields", _("Choose fields of the card."))
        clean["external_fields"] = [f for f in Membership.EXTERNAL_FIELDS if f in fields]
    if errors:
        raise ValidationError(errors)
    return clean


def member_card_create(
    *, enterprise: Enterprise, actor: Membership | None, scope: AdminScope, data: dict[str, Any]
) -> Membership:
    """A new directory card, status invited: the person joins by accepting an invitation (ACC-3).
    With a mobile number the invitation is sent at once (ENT-3); without one the card waits for
    an invitation link. One transaction; the ledger gets the invitation (or the card's creation)
    and, when more fields were given, one change entry naming them."""

    with enterprise_schema(enterprise):
        if not (data.get("display_name") or "").strip():
            raise ValidationError({"display_name": _("Enter the member's name.")})
        if Category.DIRECTORY not in scope.whole and "departments" not in data:
            data = {**data, "departments": []}  # refused below: the new card must be in the scope
        clean = _clean_card(data, scope)
        if clean.get(ID_NUMBER_FIELD):  # no consent can exist before the person has joined (CON-4)
            raise ConsentRequired(category=SensitiveCategory.ID_DOCUMENTS, purpose=ConsentPurpose.HR_RECORDS)
        if (
            clean.get("mobile")
            and Membership.objects.filter(
                mobile=clean["mobile"], status__in=[Membership.Status.ACTIVE, Membership.Status.INVITED]
            ).exists()
        ):
            raise ValidationError({"mobile": _("A member with this mobile number is already in the directory.")})
        with transaction.atomic():
            if clean.get("mobile"):
                invitation = invitation_create_by_mobile(
                    enterprise=enterprise, actor=actor, mobile=clean["mobile"], display_name=clean["display_name"]
                )
                membership = invitation.membership
                assert membership is not None
                rest = {k: v for k, v in clean.items() if k not in ("display_name", "mobile")}
                changed = _apply(enterprise, membership, rest)
                if changed:
                    ledger_record(
                        enterprise=enterprise,
                        actor=actor,
                        action=Action.CHANGE,
                        category=Category.DIRECTORY,
                        subject=membership,
                        obj=membership,
                        details={"fields": sorted(changed)},
                    )
            else:
                membership = Membership.objects.create(
                    status=Membership.Status.INVITED, display_name=clean["display_name"]
                )
                _apply(enterprise, membership, clean)
                ledger_record(
                    enterprise=enterprise,
                    actor=actor,
                    action=Action.CREATE,
                    category=Category.DIRECTORY,
                    subject=membership,
                    obj=membership,
                    details={"fields": sorted(clean)},
                )
    return membership


def _apply(enterprise: Enterprise, membership: Membership, clean: dict[str, Any]) -> list[str]:
    """Write validated values; return the names of the fields that changed."""
    changed: list[str] = []
    for field, value in clean.items():
        if field == "departments":
            current = set(membership.departments.values_list("pk", flat=True))
            if current != {d.pk for d in value}:
                membership.departments.set(value)
                changed.append(field)
        elif field == ID_NUMBER_FIELD:
            old = _decrypt_id_number(enterprise, membership)
            if old != value:
                membership.id_number_encrypted = encrypt_for_member(
                    enterprise=enterprise, membership_id=membership.pk, field=ID_NUMBER_FIELD, value=value
                )
                changed.append(field)
        elif getattr(membership, field) != value:
            setattr(membership, field, value)
            changed.append(field)
    model_fields = [f if f != ID_NUMBER_FIELD else "id_number_encrypted" for f in changed if f != "departments"]
    if model_fields:
        membership.save(update_fields=model_fields)
    return changed


def member_card_update(
    *,
    enterprise: Enterprise,
    actor: Membership | None,
    scope: AdminScope,
    membership: Membership,
    data: dict[str, Any],
    purpose: str = "",
    actor_kind: str | None = None,
) -> list[str]:
    """Change a card (fetched through `scope` by the caller); returns the changed field names.
    No change, no ledger entry. `scope` is the acting admin's: the objects the card names are
    fetched through it, and departments outside it that the card already has are kept (a scoped
    admin changes only the part of the card they administer). `actor_kind` overrides the ledger's
    actor kind (a member editing their own card is `member` even when they are also an
    administrator: requests.correction.services)."""
    if data.get(ID_NUMBER_FIELD) and membership.account_id:
        require_processable(membership.account)  # ACC-4
    with enterprise_schema(enterprise):
        clean = _clean_card(data, scope)
        if "departments" in clean and Category.DIRECTORY not in scope.whole:
            in_scope = set(scope.departments(Category.DIRECTORY).values_list("pk", flat=True))
            kept = [d for d in membership.departments.all() if d.pk not in in_scope]
            clean["departments"] = [*clean["departments"], *kept]
        if clean.get(ID_NUMBER_FIELD):  # CON-4
            require_basis(
                enterprise=enterprise,
                membership=membership,
                category=SensitiveCategory.ID_DOCUMENTS,
                purpose=ConsentPurpose.HR_RECORDS,
            )
        if (
            clean.get("mobile")
            and Membership.objects.filter(
                mobile=clean["mobile"], status__in=[Membership.Status.ACTIVE, Membership.Status.INVITED]
            )
            .exclude(pk=membership.pk)
            .exists()
        ):
            raise ValidationError({"mobile": _("A member with this mobile number is already in the directory.")})
        with transaction.atomic():
            changed = _apply(enterprise, membership, clean)
            if changed:
                ledger_record(
                    enterprise=enterprise,
                    actor=actor,
                    action=Action.CHANGE,
                    category=Category.DIRECTORY,
                    subject=membership,
                    obj=membership,
                    purpose=purpose,
                    details={"fields": sorted(changed)},
                    actor_kind=actor_kind,
                )
    return changed


def member_photo_set(
    *, enterprise: Enterprise, actor: Membership | None, membership: Membership, upload: UploadedFile
) -> Membership:
    """Store a JPEG/PNG photo (≤ 2 MB, checked by content, not name) under the enterprise's own
    media folder (TenantFileSystemStorage: MEDIA_ROOT/<schema>/members/photos/)."""
    if upload.size is None or upload.size > PHOTO_MAX_BYTES:
        raise ValidationError({"photo": _("The photo must be at most 2 MB.")})
    head = upload.read(8)
    upload.seek(0)
    extension = next((ext for sig, ext in PHOTO_SIGNATURES.items() if head.startswith(sig)), None)
    if extension is None:
        raise ValidationError({"photo": _("Upload a JPEG or PNG image.")})
    with enterprise_schema(enterprise), transaction.atomic():
        old = membership.photo.name if membership.photo else ""
        membership.photo.save(f"photo.{extension}", upload, save=False)
        membership.save(update_fields=["photo"])
        if old:
            membership.photo.storage.delete(old)
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.CHANGE,
            category=Category.DIRECTORY,
            subject=membership,
            obj=membership,
            details={"fields": ["photo"]},
        )
    return membership


def _decrypt_id_number(enterprise: Enterprise, membership: Membership) -> str:
    if not membership.id_number_encrypted:
        return ""
    return decrypt_for_member(
        enterprise=enterprise,
        membership_id=membership.pk,
        field=ID_NUMBER_FIELD,
        blob=bytes(membership.id_number_encrypted),
    ).decode()


@dataclass(frozen=True)
class MaskedCard:
    """What an admin sees by default: each revealable field masked (or empty)."""

    mobile: str
    id_number: str
    landline: str
    fax: str
    email: str
    enterprise_mailbox: str


def member_card_masked(*, enterprise: Enterprise, membership: Membership) -> MaskedCard:
    return MaskedCard(
        mobile=mask_mobile(membership.mobile) if membership.mobile else "",
        id_number=mask_id_number(_decrypt_id_number(enterprise, membership)) if membership.id_number_encrypted else "",
        landline=mask_phone(membership.landline) if membership.landline else "",
        fax=mask_phone(membership.fax) if membership.fax else "",
        email=mask_email(membership.email) if membership.email else "",
        enterprise_mailbox=mask_email(membership.enterprise_mailbox) if membership.enterprise_mailbox else "",
    )


def member_field_reveal(
    *, enterprise: Enterprise, actor: Membership, membership: Membership, field: str, purpose: str = ""
) -> str:
    """The full value of a masked field, for an admin whose scope covers the member (the caller
    fetched `membership` through the scope). Recorded in the ledger (ENT-9, ENT-10)."""
    if field not in REVEALABLE_FIELDS:
        raise ValidationError({"field": _("This field cannot be revealed.")})
    if field == ID_NUMBER_FIELD and membership.id_number_encrypted:  # CON-6: no basis left, no reading
        require_basis(
            enterprise=enterprise,
            membership=membership,
            category=SensitiveCategory.ID_DOCUMENTS,
            purpose=ConsentPurpose.HR_RECORDS,
        )
    with enterprise_schema(enterprise), transaction.atomic():
        value = _decrypt_id_number(enterprise, membership) if field == ID_NUMBER_FIELD else getattr(membership, field)
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.REVEAL,
            category=Category.DIRECTORY,
            subject=membership,
            obj=membership,
            purpose=purpose,
            details={"field": field},
        )
    return value


# The member's own values masked on "everything held about you" (/me/data/) that they may show.
OWN_REVEALABLE_FIELDS = ("mobile", "id_number")


def member_own_field_reveal(*, enterprise: Enterprise, membership: Membership, field: str) -> str:
    """The full value of one of the member's own masked fields, for that member (DSR-2, issue 17
    §1; the caller fetched `membership` as the signed-in member's own). Recorded in the ledger as
    the member's own access (`Action.VIEW_OWN`, the member both actor and subject, actor kind
    `member` even for an admin reading their own card), so an admin reading the ledger never
    mistakes it for another person's reveal. No consent check: the member's access to what is
    held about them is a right, not a processing purpose."""
    if field not in OWN_REVEALABLE_FIELDS:
        raise ValidationError({"field": _("This field cannot be shown.")})
    with enterprise_schema(enterprise), transaction.atomic():
        value = _decrypt_id_number(enterprise, membership) if field == ID_NUMBER_FIELD else membership.mobile
        ledger_record(
            enterprise=enterprise,
            actor=membership,
            action=Action.VIEW_OWN,
            category=Category.DIRECTORY,
            subject=membership,
            obj=membership,
            details={"field": field},
            actor_kind="member",
        )
    return value


# --- bulk actions and export (ENT-11) ------------------------------------------------------------

BULK_MAX = 1000
RESEND_DAYS = 7


def _members_resolved(scope: AdminScope, member_ids: list[int], *, lock: bool = True) -> list[Membership]:
    """Every id through the scope, or a field error naming how many are not there (an id outside
    the scope answers like a missing one). Rows are locked for the caller's transaction."""
    ids = sorted(set(member_ids))
    if not ids:
        raise ValidationError({"members": _("Tick at least one member.")})
    if len(ids) > BULK_MAX:
        raise ValidationError({"members": _("At most %(n)d members at a time.") % {"n": BULK_MAX}})
    queryset = scope.members(Category.DIRECTORY).filter(pk__in=ids).order_by("pk")
    found = list(queryset.select_for_update(of=("self",)) if lock else queryset)
    if len(found) != len(ids):
        raise ValidationError(
            {
                "members": _(
                    "%(n)d of the chosen members are not in the directory you administer; nothing was changed."
                )
                % {"n": len(ids) - len(found)}
            }
        )
    return found


def members_bulk_move(
    *, enterprise: Enterprise, actor: Membership | None, scope: AdminScope, member_ids: list[int], department_id: Any
) -> int:
    """Move the chosen members to one department (replacing the departments of theirs that the
    admin administers; others are kept, as `member_card_update` does). All or nothing, one
    transaction; one ledger entry per member whose card changed, as for a single edit. Returns
    how many changed."""
    with enterprise_schema(enterprise), transaction.atomic():
        department = get_departments_for(scope, Category.DIRECTORY, [department_id])
        if not department:
            raise ValidationError({"department": _("Choose a department in your scope.")})
        members = _members_resolved(scope, member_ids)
        changed = 0
        for member in members:
            fields = member_card_update(
                enterprise=enterprise,
                actor=actor,
                scope=scope,
                membership=member,
                data={"departments": [department[0].pk]},
            )
            changed += bool(fields)
    return changed


def _pending_invitations(members: list[Membership]) -> dict[int | None, Any]:
    from invitations.models import Invitation

    return {
        i.membership_id: i
        for i in Invitation.objects.select_for_update()
        .filter(membership__in=members, status=Invitation.Status.PENDING)
        .order_by("created_at")
    }


# The leaving of an active member (DSR-5) lives in `requests`, a layer above: it registers
# itself here when the apps are ready (requests.apps), as the exports' purge does for retention.
_ACTIVE_MEMBER_REMOVAL: list[Callable[..., Any]] = []


def active_member_removal_register(remove: Callable[..., Any]) -> None:
    """Called once by requests' AppConfig.ready with `requests.leave.services.member_remove`."""
    _ACTIVE_MEMBER_REMOVAL[:] = [remove]


def members_bulk_remove(
    *, enterprise: Enterprise, actor: Membership | None, scope: AdminScope, member_ids: list[int]
) -> int:
    """Remove members from the directory (ENT-11). An invited card's pending invitation is
    revoked (`invitation_revoke`, the console's single "Revoke"), a card without one is closed
    the same way. An active member leaves as by DSR-5 (`requests.leave.services.member_remove`:
    access ends at once, their templates and health reports are deleted, the card is anonymised
    after the grace period, they are told in their inbox), with the administrator recorded as the
    actor. Owners, the acting administrator's own card, and — unless the actor is an owner —
    other administrators are refused with a field error. One ledger entry each; all or nothing,
    one transaction."""
    from invitations.services import invitation_revoke

    with enterprise_schema(enterprise), transaction.atomic():
        members = _members_resolved(scope, member_ids)
        actor_is_owner = actor is None or actor.role == Membership.Role.OWNER
        refused = [
            m.display_name
            for m in members
            if m.status == Membership.Status.ACTIVE
            and (
                m.role == Membership.Role.OWNER
                or (actor is not None and m.pk == actor.pk)
                or (m.role != Membership.Role.MEMBER and not actor_is_owner)
            )
        ]
        if refused:
            raise ValidationError(
                {
                    "members": _(
                        "%(names)s cannot be removed here: owners and your own card leave from their own account, "
                        "and only an owner removes an administrator. Nothing was changed."
                    )
                    % {"names": ", ".join(refused[:5]) + ("…" if len(refused) > 5 else "")}
                }
            )
        pending = _pending_invitations(members)
        now = timezone.now()
        for member in members:
            if member.status == Membership.Status.ACTIVE:
                if not _ACTIVE_MEMBER_REMOVAL:
                    raise ImproperlyConfigured("The removal of active members is registered by requests.")
                _ACTIVE_MEMBER_REMOVAL[0](enterprise=enterprise, actor=actor, member=member)
                continue
            invitation = pending.get(member.pk)
            if invitation is not None:
                invitation_revoke(enterprise=enterprise, actor=actor, invitation=invitation)
            else:
                member.status = Membership.Status.LEFT
                member.left_at = now
                member.save(update_fields=["status", "left_at"])
                ledger_record(
                    enterprise=enterprise,
                    actor=actor,
                    action=Action.DELETE,
                    category=Category.DIRECTORY,
                    subject=member,
                    obj=member,
                    details={"status": Membership.Status.LEFT},
                )
    return len(members)


def members_bulk_resend(
    *, enterprise: Enterprise, actor: Membership | None, scope: AdminScope, member_ids: list[int]
) -> int:
    """Send the invitation SMS again to invited members whose mobile invitation is pending (an
    expired one is extended by RESEND_DAYS days); one ledger entry (`invite`, resent) each.
    Members without such an invitation are refused with a field error; all or nothing."""
    from consent.inbox.delivery import send_to_address
    from consent.models import NotificationDelivery
    from invitations.models import Invitation
    from tenants.models import InvitationIndex

    with enterprise_schema(enterprise), transaction.atomic():
        members = _members_resolved(scope, member_ids)
        pending = _pending_invitations(members)
        without = [
            m.display_name
            for m in members
            if m.status != Membership.Status.INVITED
            or m.pk not in pending
            or pending[m.pk].kind != Invitation.Kind.MOBILE
        ]
        if without:
            raise ValidationError(
                {
                    "members": _("%(names)s have no pending invitation by mobile number. Nothing was sent.")
                    % {"names": ", ".join(without[:5]) + ("…" if len(without) > 5 else "")}
                }
            )
        expires = timezone.now() + timedelta(days=RESEND_DAYS)
        text = _(
            "%(enterprise)s invites you to join it on the personal-data portal. Sign in or register "
            "with this mobile number to accept or decline."
        ) % {"enterprise": enterprise.name}
        for member in members:
            invitation = pending[member.pk]
            if invitation.expires_at < expires:
                invitation.expires_at = expires
                invitation.save(update_fields=["expires_at"])
                InvitationIndex.objects.filter(enterprise=enterprise, invitation_id=invitation.pk).update(
                    expires_at=expires
                )
            send_to_address(
                channel=NotificationDelivery.Channel.SMS, address=invitation.mobile, kind="invitation", text=text
            )
            ledger_record(
                enterprise=enterprise,
                actor=actor,
                action=Action.INVITE,
                category=Category.DIRECTORY,
                subject=member,
                obj=invitation,
                details={"kind": invitation.kind, "resent": True},
            )
    return len(members)


def members_export(
    *,
    enterprise: Enterprise,
    actor: Membership,
    scope: AdminScope,
    filters: Any,
    unmasked: bool,
    purpose: str = "",
) -> tuple[list[str], list[list[Any]]]:
    """The filtered list as spreadsheet rows (header, rows), with one ledger entry (`export`,
    masked or unmasked, the filters and the row count). Unmasked values need the category of
    every sensitive column in the admin's scope and a purpose (ENT-9, ENT-11); otherwise a field
    error on `unmasked`."""
    from directory.selectors import SENSITIVE_EXPORT_FIELDS, directory_lookups, export_rows, member_list

    if unmasked:
        missing = {c for c in SENSITIVE_EXPORT_FIELDS.values() if not scope.has_category(c)}
        if missing or actor is None:
            raise ValidationError({"unmasked": _("Your scope does not include these values unmasked.")})
        if not purpose.strip():
            raise ValidationError({"purpose": _("Say why you need the unmasked values.")})
    header = [
        _("Name"),
        _("Departments"),
        _("Status"),
        _("Position"),
        _("Rank"),
        _("Title"),
        _("Gender"),
        _("Mobile number"),
        _("Email"),
        _("Landline"),
        _("Enterprise mailbox"),
        _("Joined"),
    ]
    with enterprise_schema(enterprise), transaction.atomic():
        lookups = directory_lookups(scope)
        rows = export_rows(member_list(scope, filters), lookups, unmasked=unmasked)
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.EXPORT,
            category=Category.DIRECTORY,
            purpose=purpose.strip(),
            details={
                "what": "members",
                "masked": not unmasked,
                "unmasked": unmasked,
                "rows": len(rows),
                "filters": filters.as_ledger_details(),
            },
        )
    return [str(h) for h in header], rows
