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
    removed_by: Membership | None = None,
) -> LeaveResult:
    """Leave `enterprise` once the member has confirmed it (the password for DSR-5, the account
    deletion's re-authentication for DSR-6): everything `member_leave` does after its password
    check. Refused (ValidationError, nothing changed) for a membership that is not the account's
    active one, or the only owner (code `sole_owner`). `reason` is recorded in the ledger, the
    erasure plan and the completed `leave` request; without `notify_member` no inbox message is
    written (account deletion sends its own final notice). With `removed_by`, an administrator
    removes the member (ENT-11): the ledger names that administrator as the actor, the request
    history says an administrator submitted it, and the inbox message says so."""
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
            actor=removed_by or member,
            action=Action.CHANGE,
            category=Category.DIRECTORY,
            subject=member,
            purpose=reason,
            actor_kind=LedgerEntry.ActorKind.ADMIN if removed_by is not None else LedgerEntry.ActorKind.MEMBER,
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
                    actor_kind=RequestEvent.ActorKind.ADMIN if removed_by else RequestEvent.ActorKind.REQUESTER,
                    actor_account_id=removed_by.account_id if removed_by else account.pk,
                    actor_membership_id=removed_by.pk if removed_by else member.pk,
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
            _notify_left(enterprise, account, templates, health, grace, anonymise_at, removed=removed_by is not None)
    enterprise_refresh_member_count(enterprise=enterprise)
    return LeaveResult(
        templates=templates,
        health_reports=health,
        erasure_plan_id=plan.pk,
        anonymise_at=anonymise_at,
        request_id=request.pk,
    )


REMOVED_REASON = "removed from the enterprise by an administrator (ENT-11, DSR-5)"


def member_remove(*, enterprise: Enterprise, actor: Membership | None, member: Membership) -> LeaveResult:
    """An administrator removes an active member (ENT-11: the directory's bulk "Remove"): the
    member leaves exactly as by DSR-5 — access ends at once, templates and health reports are
    deleted, the card is anonymised after the grace period — with the administrator recorded as
    the actor and the member told in their inbox. Owners are refused (they hand over or leave
    themselves), as is the acting administrator's own card (they leave from their own account)."""
    if member.role == Membership.Role.OWNER:
        raise ValidationError(
            _("%(name)s is an owner: owners leave from their own account.") % {"name": member.display_name},
            code="owner",
        )
    if actor is not None and actor.pk == member.pk:
        raise ValidationError(_("You cannot remove yourself; leave from your own account."), code="self")
    if member.account_id is None:  # an invited card: the directory revokes its invitation instead
        raise ValidationError(_("You are not an active member of this enterprise."), code="invalid")
    account = User.objects.get(pk=member.account_id)
    return membership_leave(
        enterprise=enterprise, membership=member, account=account, reason=REMOVED_REASON, removed_by=actor
    )


def _notify_left(
    enterprise: Enterprise,
    account: User,
    templates: int,
    health: int,
    grace: int,
    anonymise_at: datetime,
    *,
    removed: bool = False,
) -> None:
    params = {
        "enterprise": enterprise.name,
        "templates": templates,
        "health": health,
        "date": timezone.localtime(anonymise_at).strftime("%Y-%m-%d"),
        "days": grace,
    }
    if removed:  # ENT-11: an administrator removed the member
        body = Message(
            gettext_noop(
                "An administrator of %(enterprise)s removed you from the enterprise; your access ended at once. "
                "Deleted now: %(templates)s biometric templates and %(health)s health reports. On %(date)s (after "
                "the %(days)s-day grace period) your directory card is anonymised and your ID number and raw "
                "clock-in locations are deleted. Attendance records and the instruction ledger are kept for their "
                "retention periods under a pseudonym."
            ),
            params,
        )
        title = Message(gettext_noop("You were removed from %(enterprise)s"), {"enterprise": enterprise.name})
    else:
        body = Message(
            gettext_noop(
                "You have left %(enterprise)s; your access ended at once. Deleted now: %(templates)s biometric "
                "templates and %(health)s health reports. On %(date)s (after the %(days)s-day grace period) your "
                "directory card is anonymised and your ID number and raw clock-in locations are deleted. Attendance "
                "records and the instruction ledger are kept for their retention periods under a pseudonym."
            ),
            params,
        )
        title = Message(gettext_noop("You left %(enterprise)s"), {"enterprise": enterprise.name})
    notify(account=account, kind=NOTIFICATION_KIND, enterprise_id=enterprise.pk, title=title, body=body)
