"""Reads of account deletion (DSR-6): what stands in the way (an enterprise whose only owner the
account is, open requests), what deleting would mean in each enterprise, and the account's
pending or latest deletion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils.translation import gettext as _

from accounts.models import User
from core.models import Membership
from requests.leave.selectors import LeavePlan, is_sole_owner, leave_plan
from requests.models import AccountDeletion, Request
from requests.workflow.services import request_schema
from tenants.context import enterprise_schema
from tenants.models import Enterprise, MembershipIndex


@dataclass(frozen=True)
class Blocker:
    """One reason the account cannot be deleted now, with what to do about it."""

    code: str  # "sole_owner" | "open_request" | "operator"
    message: str
    enterprise: Enterprise | None = None
    request_id: int | None = None
    request_kind: str = ""


@dataclass(frozen=True)
class EnterprisePlan:
    """What leaving one enterprise will mean (the DSR-5 plan, counted now)."""

    enterprise: Enterprise
    role: str
    plan: LeavePlan


def _links(account: User) -> list[MembershipIndex]:
    """The account's enterprises (terminated ones are dropped from the index by TEN-4)."""
    return list(
        MembershipIndex.objects.filter(account_id=account.pk)
        .exclude(enterprise__state=Enterprise.State.TERMINATED)
        .select_related("enterprise")
        .order_by("enterprise__name")
    )


def _active_membership(account: User) -> Membership | None:
    """The account's active card in the current schema."""
    return Membership.objects.filter(account_id=account.pk, status=Membership.Status.ACTIVE).first()


def _sole_owner_blocker(account: User, link: MembershipIndex) -> Blocker | None:
    """In `link`'s enterprise schema: a blocker when the account is its only active owner."""
    member = _active_membership(account)
    if member is None or not is_sole_owner(member):
        return None
    return Blocker(
        code="sole_owner",
        enterprise=link.enterprise,
        message=_(
            "You are the only owner of %(enterprise)s: make another member an owner first "
            "(or ask the platform to close the enterprise)."
        )
        % {"enterprise": link.enterprise.name},
    )


def _sole_owner_blockers(account: User, links: list[MembershipIndex]) -> list[Blocker]:
    blockers = []
    for link in links:
        with enterprise_schema(link.enterprise):
            if blocker := _sole_owner_blocker(account, link):
                blockers.append(blocker)
    return blockers


def account_deletion_blockers(*, account: User) -> list[Blocker]:
    """Why `account` cannot be deleted now (empty: it can): operator role, sole ownership, then
    open requests on the platform and in each enterprise. One visit to each enterprise's schema
    (its card and its open requests), plus two queries on the platform."""
    links = _links(account)
    owner_blockers: list[Blocker] = []
    enterprise_requests: list[tuple[Enterprise, Request]] = []
    for link in links:
        with enterprise_schema(link.enterprise):
            if blocker := _sole_owner_blocker(account, link):
                owner_blockers.append(blocker)
            enterprise_requests += [(link.enterprise, request) for request in _open_requests(account)]
    with request_schema(None):
        public_open = _open_requests(account)
    blockers: list[Blocker] = []
    if account.is_staff:
        blockers.append(
            Blocker(
                code="operator",
                message=_(
                    "This is a platform operator's account: another operator closes it "
                    "(remove the operator role first)."
                ),
            )
        )
    blockers += owner_blockers
    for request in public_open:
        blockers.append(
            Blocker(
                code="open_request",
                request_id=request.pk,
                request_kind=request.kind,
                message=_(
                    "Your request #%(id)s (%(kind)s) about your account is still open: cancel it or wait for the "
                    "answer."
                )
                % {"id": request.pk, "kind": request.get_kind_display()},
            )
        )
    for enterprise, request in enterprise_requests:
        blockers.append(
            Blocker(
                code="open_request",
                enterprise=enterprise,
                request_id=request.pk,
                request_kind=request.kind,
                message=_(
                    "Your request #%(id)s (%(kind)s) in %(enterprise)s is still open: cancel it or wait for the answer."
                )
                % {"id": request.pk, "kind": request.get_kind_display(), "enterprise": enterprise.name},
            )
        )
    return blockers


def _open_requests(account: User) -> list[Request]:
    """The account's open requests in the current schema."""
    return list(
        Request.objects.filter(account_id=account.pk, status__in=Request.OPEN_STATUSES).order_by("submitted_at", "id")
    )


def account_deletion_plan(*, account: User, now: datetime | None = None) -> list[EnterprisePlan]:
    """For each enterprise of the account, what leaving it will mean (DSR-5's plan)."""
    plans = []
    for link in _links(account):
        with enterprise_schema(link.enterprise):
            member = _active_membership(account)
        if member is not None:
            plans.append(
                EnterprisePlan(
                    enterprise=link.enterprise,
                    role=member.get_role_display(),
                    plan=leave_plan(enterprise=link.enterprise, membership=member, now=now),
                )
            )
    return plans


def account_deletion_pending(*, account: User) -> AccountDeletion | None:
    """The account's deletion that is cooling off or being executed, if any."""
    return AccountDeletion.objects.filter(account_id=account.pk, status__in=AccountDeletion.PENDING_STATUSES).first()


def account_deletion_latest(*, account: User) -> AccountDeletion | None:
    """The account's most recent deletion (pending, cancelled, stopped…), for the status page."""
    return AccountDeletion.objects.filter(account_id=account.pk).order_by("-requested_at", "-id").first()


def cooling_off_days() -> int:
    return int(settings.ACCOUNT_DELETION_COOLING_OFF_DAYS)
