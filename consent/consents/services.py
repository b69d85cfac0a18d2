"""Separate consent for sensitive categories (CON-4) and its withdrawal (CON-6).

For each member, sensitive category and purpose there is a lawful basis when an active
ConsentRecord exists: the member's own consent, given under the enterprise's current notice, or
a non-consent legal basis an administrator recorded with a reason (PIPL Art. 13; written to the
ledger). The services that collect those categories call `require_basis` first; without a basis
they refuse with code "consent_required" (a console message; 403 with that code on the API).

Withdrawal takes effect in the same transaction: the record closes, so `require_basis` refuses
from the next call on, and unless another basis still covers the data, what runs without asking
`require_basis` stops before the request answers (consent.signals.basis_ended, on which
retention revokes the member's templates of that purpose so they leave the devices' feed) and
deletion of the member's data of that category and purpose is scheduled as a Celery task, sent
by name (consent.tasks.consent_withdrawal_erase, in retention/tasks.py), which only erases
what remains. The closed record stays: earlier processing remains documented."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import (
    PURPOSES,
    ConsentPurpose,
    ConsentRecord,
    EnterpriseNotice,
    SensitiveCategory,
)
from consent.models.enterprise import ADMIN_CATEGORY
from consent.notices.services import STALE_NOTICE
from consent.signals import basis_ended
from core.models import Membership
from core.scopes import admin_scope_for
from ledger.services import Action, ledger_record
from tenants.context import enterprise_schema
from tenants.ids import object_id
from tenants.models import Enterprise
from tenants.queue import task_send_on_commit

CONSENT_REQUIRED = "consent_required"
MIN_REASON = 10
MAX_REASON = 200  # the ledger's purpose column


class ConsentRequired(ValidationError):
    """Collection refused: no active consent and no recorded legal basis (CON-4)."""

    def __init__(self, *, category: str, purpose: str) -> None:
        self.category, self.purpose = category, purpose
        message = _(
            "%(category)s data for %(purpose)s can be processed only with the member's separate consent "
            "or a legal basis the enterprise has recorded. Members give or withdraw consent on their "
            "Consents page."
        ) % {"category": SensitiveCategory(category).label, "purpose": ConsentPurpose(purpose).label}
        super().__init__(
            {
                "consent": [
                    ValidationError(message, code=CONSENT_REQUIRED, params={"category": category, "purpose": purpose})
                ]
            }
        )


def _check_pair(category: Any, purpose: Any) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    if category not in SensitiveCategory.values:
        errors["category"] = [
            _("Choose a sensitive category: biometrics, health, precise location, ID documents or contacts.")
        ]
    elif purpose not in PURPOSES[category]:
        errors["purpose"] = [_("Choose a purpose this category is collected for.")]
    if errors:
        raise ValidationError(errors)
    return str(category), str(purpose)


def has_basis(*, membership_id: int, category: str, purpose: str) -> bool:
    """An active consent or legal basis exists (one query, in the current schema)."""
    return ConsentRecord.objects.filter(
        membership_id=membership_id, category=category, purpose=purpose, withdrawn_at__isnull=True
    ).exists()


def basis_exists(*, category: str, purpose: Any, membership: Any = None) -> Exists:
    """A subquery expression for querysets of rows carrying a `membership_id`: true when that
    member has an active consent or legal basis for (`category`, `purpose`). `purpose` and
    `membership` may be values or OuterRef/F expressions (default: the row's `membership_id`),
    so a read can keep only what may still be processed, in the same query."""
    return Exists(
        ConsentRecord.objects.filter(
            membership_id=OuterRef("membership_id") if membership is None else membership,
            category=category,
            purpose=purpose,
            withdrawn_at__isnull=True,
        )
    )


def require_basis(*, enterprise: Enterprise, membership: Membership, category: str, purpose: str) -> None:
    """The gate every collecting service calls (CON-4): ConsentRequired unless `membership` has an
    active consent or legal basis for (`category`, `purpose`)."""
    with enterprise_schema(enterprise):
        if not has_basis(membership_id=membership.pk, category=category, purpose=purpose):
            raise ConsentRequired(category=category, purpose=purpose)


@dataclass(frozen=True)
class ConsentLine:
    """One (category, purpose) row of a member's consents page."""

    category: str
    purpose: str
    consent: ConsentRecord | None
    legal_bases: tuple[ConsentRecord, ...]

    @property
    def category_label(self) -> str:
        return str(SensitiveCategory(self.category).label)

    @property
    def purpose_label(self) -> str:
        return str(ConsentPurpose(self.purpose).label)

    @property
    def covered(self) -> bool:
        return self.consent is not None or bool(self.legal_bases)


def consent_lines(*, enterprise: Enterprise, membership: Membership) -> list[ConsentLine]:
    """Every (category, purpose) pair with the member's active consent and legal bases (one query)."""
    with enterprise_schema(enterprise):
        active = list(
            ConsentRecord.objects.filter(membership=membership, withdrawn_at__isnull=True).select_related(
                "notice", "recorded_by"
            )
        )
    lines = []
    for category, purposes in PURPOSES.items():
        for purpose in purposes:
            records = [r for r in active if (r.category, r.purpose) == (category, purpose)]
            lines.append(
                ConsentLine(
                    category=category,
                    purpose=purpose,
                    consent=next((r for r in records if r.basis == ConsentRecord.Basis.CONSENT), None),
                    legal_bases=tuple(r for r in records if r.basis != ConsentRecord.Basis.CONSENT),
                )
            )
    return lines


def consent_give(
    *,
    enterprise: Enterprise,
    membership: Membership,
    category: Any,
    purpose: Any,
    notice_version: Any,
    channel: str = ConsentRecord.Channel.WEB,
) -> ConsentRecord:
    """Record the member's separate consent for (`category`, `purpose`) under the current notice.
    Field errors (nothing written) for an unknown category or purpose, a notice version that is
    not the current one (code "stale_notice"), or a notice that does not say the enterprise
    collects this category. Giving a consent that is already active returns it unchanged."""
    category, purpose = _check_pair(category, purpose)
    if channel not in ConsentRecord.Channel.values:
        raise ValidationError({"channel": [_("Unknown channel.")]})
    try:
        number = int(str(notice_version))
    except (TypeError, ValueError):
        number = -1
    with enterprise_schema(enterprise), transaction.atomic():
        notice = EnterpriseNotice.objects.filter(status=EnterpriseNotice.Status.PUBLISHED).order_by("-version").first()
        if notice is None or notice.version != number:
            raise ValidationError(
                {
                    "notice_version": [
                        ValidationError(
                            _(
                                "Consent is given under the enterprise's current notice; "
                                "read the current version first."
                            ),
                            code=STALE_NOTICE,
                        )
                    ]
                }
            )
        if not notice.items.filter(category=category).exists():
            raise ValidationError(
                {
                    "category": [
                        _("The enterprise's notice does not say it collects this category, so it cannot ask for it.")
                    ]
                }
            )
        existing = ConsentRecord.objects.filter(
            membership=membership,
            category=category,
            purpose=purpose,
            basis=ConsentRecord.Basis.CONSENT,
            withdrawn_at__isnull=True,
        ).first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                return ConsentRecord.objects.create(
                    membership=membership,
                    category=category,
                    purpose=purpose,
                    basis=ConsentRecord.Basis.CONSENT,
                    notice=notice,
                    given_at=timezone.now(),
                    channel=channel,
                )
        except IntegrityError:  # the same consent given twice at the same moment
            return ConsentRecord.objects.get(
                membership=membership,
                category=category,
                purpose=purpose,
                basis=ConsentRecord.Basis.CONSENT,
                withdrawn_at__isnull=True,
            )


def withdrawal_reason(record: ConsentRecord) -> str:
    """The stated purpose of the ledger entries a withdrawal causes."""
    return _("Consent withdrawn") if record.basis == ConsentRecord.Basis.CONSENT else _("Legal basis ended")


def _close(*, enterprise: Enterprise, record: ConsentRecord, by: Membership | None) -> ConsentRecord:
    """Close an active record in the caller's transaction and schedule the erasure after commit."""
    locked = ConsentRecord.objects.select_for_update().get(pk=record.pk)
    if locked.withdrawn_at is not None:
        raise ValidationError({"consent": [_("This has already been withdrawn.")]})
    locked.withdrawn_at = timezone.now()
    locked.withdrawn_by = by
    still_covered = (
        ConsentRecord.objects.filter(
            membership_id=locked.membership_id,
            category=locked.category,
            purpose=locked.purpose,
            withdrawn_at__isnull=True,
        )
        .exclude(pk=locked.pk)
        .exists()
    )
    locked.erasure = ConsentRecord.Erasure.NOT_NEEDED if still_covered else ConsentRecord.Erasure.SCHEDULED
    locked.save(update_fields=["withdrawn_at", "withdrawn_by", "erasure"])
    if locked.erasure == ConsentRecord.Erasure.SCHEDULED:
        # CON-6 "at once": what runs without asking require_basis stops before this answers
        # (devices' templates are revoked and leave the feed), worker or no worker
        basis_ended.send(
            sender=ConsentRecord,
            enterprise=enterprise,
            membership_id=locked.membership_id,
            category=locked.category,
            purpose=locked.purpose,
            reason=withdrawal_reason(locked),
        )
        task_send_on_commit(
            "consent.tasks.consent_withdrawal_erase", kwargs={"record_id": locked.pk}, schema=enterprise.schema_name
        )
    return locked


def consent_withdraw(*, enterprise: Enterprise, membership: Membership, record_id: Any) -> ConsentRecord:
    """The member withdraws their own consent (CON-6), effective at once. Field errors for a
    record that is not theirs, not a consent (a legal basis is not theirs to withdraw), or
    already withdrawn."""
    with enterprise_schema(enterprise), transaction.atomic():
        record = ConsentRecord.objects.filter(
            pk=object_id(record_id) or 0, membership=membership, basis=ConsentRecord.Basis.CONSENT
        ).first()
        if record is None:
            raise ValidationError({"consent": [_("You have no such consent to withdraw.")]})
        return _close(enterprise=enterprise, record=record, by=membership)


def _admin_member(*, actor: Membership, category: str, member_id: Any) -> Membership:
    scope = admin_scope_for(actor)
    admin_category = ADMIN_CATEGORY[SensitiveCategory(category)]
    if scope is None or not scope.has_category(admin_category):
        raise PermissionDenied(_("Your administrator scope does not include this data category."))
    member = scope.members(admin_category).filter(pk=object_id(member_id) or 0).first()
    if member is None:
        raise ValidationError({"member": [_("Choose a member within your administrator scope.")]})
    return member


def legal_basis_record(
    *, enterprise: Enterprise, actor: Membership, member_id: Any, category: Any, purpose: Any, basis: Any, reason: Any
) -> ConsentRecord:
    """An administrator records a non-consent legal basis for processing a member's sensitive
    category (CON-4, PIPL Art. 13). Needs the matching administrator category over the member
    (PermissionDenied otherwise), a basis other than consent and a reason of 10–200 characters
    (field errors). Writes a ledger entry; recording the same basis twice is refused."""
    category, purpose = _check_pair(category, purpose)
    text = " ".join(str(reason or "").split())
    errors: dict[str, list[str]] = {}
    if basis not in ConsentRecord.Basis.values or basis == ConsentRecord.Basis.CONSENT:
        errors["basis"] = [_("Choose the legal basis other than consent.")]
    if len(text) < MIN_REASON:
        errors["reason"] = [_("Explain why this basis applies (at least %(n)d characters).") % {"n": MIN_REASON}]
    elif len(text) > MAX_REASON:
        errors["reason"] = [_("At most %(n)d characters.") % {"n": MAX_REASON}]
    with enterprise_schema(enterprise), transaction.atomic():
        member = _admin_member(actor=actor, category=category, member_id=member_id)
        if errors:
            raise ValidationError(errors)
        if ConsentRecord.objects.filter(
            membership=member, category=category, purpose=purpose, basis=basis, withdrawn_at__isnull=True
        ).exists():
            raise ValidationError({"basis": [_("This legal basis is already recorded for this member.")]})
        notice = EnterpriseNotice.objects.filter(status=EnterpriseNotice.Status.PUBLISHED).order_by("-version").first()
        record = ConsentRecord.objects.create(
            membership=member,
            category=category,
            purpose=purpose,
            basis=basis,
            notice=notice,
            given_at=timezone.now(),
            channel=ConsentRecord.Channel.CONSOLE,
            recorded_by=actor,
            reason=text,
        )
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.LEGAL_BASIS,
            category=ADMIN_CATEGORY[SensitiveCategory(category)],
            subject=member,
            purpose=text,
            obj=record,
            details={"sensitive_category": category, "consent_purpose": purpose, "basis": basis},
        )
    return record


def legal_basis_end(*, enterprise: Enterprise, actor: Membership, record_id: Any) -> ConsentRecord:
    """An administrator ends a legal basis they may manage; like a withdrawal, the member's data
    of that category and purpose is then deleted unless another basis covers it."""
    with enterprise_schema(enterprise), transaction.atomic():
        record = (
            ConsentRecord.objects.exclude(basis=ConsentRecord.Basis.CONSENT)
            .filter(pk=object_id(record_id) or 0)
            .first()
        )
        if record is None:
            raise ValidationError({"record": [_("No such legal basis.")]})
        _admin_member(actor=actor, category=record.category, member_id=record.membership_id)
        closed = _close(enterprise=enterprise, record=record, by=actor)
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.LEGAL_BASIS,
            category=ADMIN_CATEGORY[SensitiveCategory(record.category)],
            subject=record.membership_id,
            obj=record,
            details={
                "sensitive_category": record.category,
                "consent_purpose": record.purpose,
                "basis": record.basis,
                "ended": True,
            },
        )
    return closed
