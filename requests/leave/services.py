"""Leaving an enterprise (DSR-5): the plan a member reads first, then the leaving itself.

`leave_plan` says what happens when: biometric templates and health reports are deleted at
once; after the enterprise's grace period (retention category `departed_profiles`, default 30
days, at most 90) the raw clock-in coordinates and the ID number are deleted and the directory
card is anonymised (then the member's data key is destroyed, RET-6); attendance records and
ledger entries are kept for their own retention periods under the card's pseudonym.

`member_leave` does it, in one transaction: the password is checked, a sole owner is refused
(they must hand over first), templates (with the devices' change-feed deletes) and health
reports are deleted, the card becomes `left` (access ends at once: every request checks for an
active membership), the public MembershipIndex row goes (so /account/ no longer lists the
enterprise), the rest is scheduled with the erasure engine at now + grace, one ledger entry
records the leaving and a completed `leave` request records it in the member's request history.
The member is told in their inbox (in the same transaction). Everything after the password check
is `membership_leave`, which account deletion (DSR-6, requests.account_deletion.services) runs
for every membership of the account. See docs/leave.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from accounts.models import User
from consent.inbox.services import notify
from consent.messages import Message
from core.models import Membership
from core.services import enterprise_refresh_member_count
from ledger.models import LedgerEntry
from ledger.services import Action, ledger_record
from requests.leave.selectors import is_sole_owner
from requests.models import Request, RequestEvent, RequestKind
from retention.bounds import RetentionCategory
from retention.models import ErasurePlan
from retention.selectors import retention_days_for
from retention.services.erasure import (
    departure_erase_now,
    departure_plan_schedule,
)
from tenants.categories import Category
from tenants.context import enterprise_schema
from tenants.models import Enterprise, MembershipIndex

NOTIFICATION_KIND = "leave"
LEAVE_REASON = "left the enterprise (DSR-5)"


SOLE_OWNER_MESSAGE = gettext_lazy(
    "You are the only owner of this enterprise: make another member an owner first, then leave."
)


@dataclass(frozen=True)
class LeaveResult:
    templates: int
    health_reports: int
    erasure_plan_id: int
    anonymise_at: datetime
    request_id: int


def member_leave(
    *, enterprise: Enterprise, membership: Membership, account: User, password: str, now: datetime | None = None
) -> LeaveResult:
    """The member leaves `enterprise` (DSR-5), confirmed with their account password. Refused
    with a field error (nothing changed) for a wrong password, a sole owner (code `sole_owner`)
    or a membership that is not the account's active one."""
    if membership.account_id != account.pk:
        raise ValidationError(_("Only the member themself can leave."), code="invalid")
    if not isinstance(password, str) or not password or not account.check_password(password):
        raise ValidationError({"password": _("The password is not correct.")}, code="invalid")
    return membership_leave(enterprise=enterprise, membership=membership, account=account, now=now)


def membership_leave(
    *,
    enterprise: Enterprise,
    membership: Membership,
    account: User,
    now: datetime | None = None,
    reason: str = LEAVE_REASON,
    notify_member: bool = True,
) -> LeaveResult:
    """Leave `enterprise` once the member has confirmed it (the password for DSR-5, the account
    deletion's re-authentication for DSR-6): everything `member_leave` does after its password
    check. Refused (ValidationError, nothing changed) for a membership that is not the account's
    active one, or the only owner (code `sole_owner`). `reason` is recorded in the ledger, the
    erasure plan and the completed `leave` request; without `notify_member` no inbox message is
    written (account deletion sends its own final notice)."""
    now = now or timezone.now()
    grace = retention_days_for(enterprise)[RetentionCategory.DEPARTED_PROFILES]
    anonymise_at = now + timedelta(days=grace)
    with enterprise_schema(enterprise), transaction.atomic():
        # the owners' rows are locked too, so two owners leaving at once cannot both succeed
        list(Membership.objects.select_for_update().filter(role=Membership.Role.OWNER).values_list("pk"))
        member = Membership.objects.select_for_update().get(pk=membership.pk)
        if member.status != Membership.Status.ACTIVE or member.account_id != account.pk:
            raise ValidationError(_("You are not an active member of this enterprise."), code="invalid")
        if is_sole_owner(member):
            raise ValidationError(str(SOLE_OWNER_MESSAGE), code="sole_owner")
        templates, health = departure_erase_now(enterprise=enterprise, member=member, reason=reason)
        member.status = Membership.Status.LEFT
        member.left_at = now
        member.save(update_fields=["status", "left_at"])
        MembershipIndex.objects.filter(account=account, enterprise=enterprise).delete()
        plan: ErasurePlan = departure_plan_schedule(
            enterprise=enterprise, member=member, not_before=anonymise_at, reason=reason
        )
        ledger_record(
            enterprise=enterprise,
            actor=member,
            action=Action.CHANGE,
            category=Category.DIRECTORY,
            subject=member,
            purpose=reason,
            actor_kind=LedgerEntry.ActorKind.MEMBER,
            details={
                "status": "left",
                "templates_deleted": templates,
                "health_reports_deleted": health,
                "erasure_plan": plan.pk,
                "anonymise_after_days": grace,
            },
        )
        request = Request.objects.create(
            kind=RequestKind.LEAVE,
            status=Request.Status.COMPLETED,
            account=account,
            membership=member,
            category=Category.DIRECTORY,
            submitted_at=now,
            verified_at=now,
            closed_at=now,
            resolution=_(
                "Left the enterprise. Deleted at once: %(templates)s biometric templates, %(health)s "
                "health reports. The directory card is anonymised after %(date)s."
            )
            % {"templates": templates, "health": health, "date": timezone.localtime(anonymise_at).strftime("%Y-%m-%d")},
        )
        RequestEvent.objects.bulk_create(
            [
                RequestEvent(
                    request=request,
                    created_at=now,
                    action=RequestEvent.Action.SUBMITTED,
                    status=Request.Status.SUBMITTED,
                    actor_kind=RequestEvent.ActorKind.REQUESTER,
                    actor_account=account,
                    actor_membership_id=member.pk,
                ),
                RequestEvent(
                    request=request,
                    created_at=now,
                    action=RequestEvent.Action.COMPLETED,
                    status=Request.Status.COMPLETED,
                    actor_kind=RequestEvent.ActorKind.SYSTEM,
                ),
            ]
        )
        if notify_member:  # the message exists exactly when the leaving does
            _notify_left(enterprise, account, templates, health, grace, anonymise_at)
    enterprise_refresh_member_count(enterprise=enterprise)
    return LeaveResult(
        templates=templates,
        health_reports=health,
        erasure_plan_id=plan.pk,
        anonymise_at=anonymise_at,
        request_id=request.pk,
    )


def _notify_left(
    enterprise: Enterprise, account: User, templates: int, health: int, grace: int, anonymise_at: datetime
) -> None:
    body = Message(
        gettext_noop(
            "You have left %(enterprise)s; your access ended at once. Deleted now: %(templates)s biometric "
            "templates and %(health)s health reports. On %(date)s (after the %(days)s-day grace period) your "
            "directory card is anonymised and your ID number and raw clock-in locations are deleted. Attendance "
            "records and the instruction ledger are kept for their retention periods under a pseudonym."
        ),
        {
            "enterprise": enterprise.name,
            "templates": templates,
            "health": health,
            "date": timezone.localtime(anonymise_at).strftime("%Y-%m-%d"),
            "days": grace,
        },
    )
    notify(
        account=account,
        kind=NOTIFICATION_KIND,
        enterprise_id=enterprise.pk,
        title=Message(gettext_noop("You left %(enterprise)s"), {"enterprise": enterprise.name}),
        body=body,
    )
