"""Reads about invitations (ENT-3): the console's list, fetch-and-authorize for admins, and the
invitee's side (by link token, by mobile number on the public `/account/` page)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from core.scopes import AdminScope
from invitations.models import Invitation
from invitations.services import token_hash
from tenants.categories import Category
from tenants.context import enterprise_schema
from tenants.ids import object_id
from tenants.models import Enterprise, InvitationIndex


def invitations_in_scope(scope: AdminScope) -> QuerySet[Invitation]:
    """Invitations an admin administers (ENT-8): with the directory category over the whole
    enterprise, all of them; with it over some departments, those whose invited card is in
    them (a card without a department belongs to the whole enterprise's administrators)."""
    if Category.DIRECTORY in scope.whole:
        return Invitation.objects.all()
    if not scope.has_category(Category.DIRECTORY):
        return Invitation.objects.none()
    return Invitation.objects.filter(membership__in=scope.members(Category.DIRECTORY).values("pk"))


def invitation_list_pending(*, scope: AdminScope) -> QuerySet[Invitation]:
    """Open invitations of the current enterprise in the admin's scope. Evaluate it in the
    enterprise's schema."""
    return (
        invitations_in_scope(scope)
        .filter(status=Invitation.Status.PENDING, expires_at__gte=timezone.now())
        .select_related("membership", "created_by")
        .order_by("-created_at", "-id")
    )


def invitation_for_admin(*, scope: AdminScope, pk: int) -> Invitation:
    """Fetch-and-authorize one invitation of the current enterprise: 404 when it is missing or
    outside the admin's scope."""
    invitation = invitations_in_scope(scope).select_related("membership").filter(pk=object_id(pk) or 0).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


def invitation_by_token(*, enterprise: Enterprise, token: str) -> Invitation | None:
    """The link invitation of `enterprise` with this token (any status), or None."""
    if not token or len(token) > 100:
        return None
    with enterprise_schema(enterprise):
        return (
            Invitation.objects.select_related("membership")
            .filter(kind=Invitation.Kind.LINK, token_hash=token_hash(token))
            .first()
        )


def mobile_invitation(*, enterprise: Enterprise, invitation_id: int) -> Invitation | None:
    """A mobile-number invitation of `enterprise` (any status), or None. Whether the acting
    account may answer it is decided by the services (a clear "sent to another number" error)."""
    with enterprise_schema(enterprise):
        return (
            Invitation.objects.select_related("membership")
            .filter(pk=invitation_id, kind=Invitation.Kind.MOBILE)
            .first()
        )


def pending_invitations_for_account(*, account: User) -> QuerySet[InvitationIndex]:
    """Open mobile-number invitations to `account`'s number across all active enterprises, from
    the public index: one query with the enterprises joined."""
    return (
        InvitationIndex.objects.filter(
            mobile=str(account.mobile), expires_at__gte=timezone.now(), enterprise__state=Enterprise.State.ACTIVE
        )
        .select_related("enterprise")
        .order_by("expires_at", "id")
    )


def invitation_is_open(invitation: Invitation) -> bool:
    """Pending and not yet expired: the only state in which an invitation may be answered."""
    return invitation.status == Invitation.Status.PENDING and invitation.expires_at >= timezone.now()


def invitation_effective_status(invitation: Invitation) -> str:
    """The stored status, except that a pending invitation past its expiry is `expired`."""
    if invitation.status == Invitation.Status.PENDING and invitation.expires_at < timezone.now():
        return Invitation.Status.EXPIRED
    return invitation.status
