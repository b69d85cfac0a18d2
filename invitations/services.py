"""Invitations (ENT-3, ACC-3): an enterprise invites a person by mobile number or by link; the
invitee accepts or declines.

An invitation comes with the directory card it offers (`Membership`, status `invited`, no
account yet). Mobile-number invitations are mirrored in the public `tenants.InvitationIndex`
in the same transaction, so the invitee's `/account/` page lists them with one query. Link
invitations keep only a SHA-256 of their token; the link is shown once, when it is created.

An invitation whose `expires_at` has passed is expired everywhere, whatever its stored status
(no periodic task is needed); `invitation_is_open` is the one test for "may still be answered".
Creating and revoking are admin actions on personal data and write one ledger entry each
(ENT-10); accepting and declining are the invitee's own acts and write none."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.validators import normalize_mobile
from consent.inbox.delivery import send_to_address
from consent.minors.services import require_processable
from consent.models import NoticeAcknowledgement, NotificationDelivery
from consent.notices.services import notice_acknowledge
from core.models import Membership
from core.scopes import AdminScope
from invitations.models import Invitation
from ledger.services import Action, ledger_record
from tenants.categories import Category
from tenants.context import enterprise_schema
from tenants.models import Enterprise, InvitationIndex, MembershipIndex

DAYS_VALID_MAX = 30
# Roles an invitation may offer; scoped administrators are made later by a scope grant.
INVITABLE_ROLES = (Membership.Role.MEMBER, Membership.Role.ADMIN)
# Roles that may invite (or revoke an invitation of) a full administrator.
FULL_ADMIN_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)


def token_hash(token: str) -> str:
    """What is stored of a link invitation's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link_path(*, enterprise: Enterprise, token: str) -> str:
    """The path of a link invitation on the public host."""
    return f"/invitations/{enterprise.slug}/{token}/"


def invitation_link_url(*, enterprise: Enterprise, token: str, scheme: str = "http", port: str = "") -> str:
    """`http://<public host>/invitations/<enterprise slug>/<token>/` (the first public domain)."""
    host = settings.PUBLIC_DOMAINS[0]
    suffix = f":{port}" if port and port not in ("80", "443") else ""
    return f"{scheme}://{host}{suffix}{invitation_link_path(enterprise=enterprise, token=token)}"


# --- validation --------------------------------------------------------------------------------


def _clean_role(*, actor: Membership | None, role: str) -> str:
    if role not in INVITABLE_ROLES:
        raise ValidationError({"role": _("Invite as a member or as an administrator.")}, code="invalid")
    if role == Membership.Role.ADMIN and actor is not None and actor.role not in FULL_ADMIN_ROLES:
        raise ValidationError(
            {"role": _("Only the owner and full administrators may invite an administrator.")}, code="forbidden"
        )
    return role


def _clean_days(days_valid: int) -> int:
    if not isinstance(days_valid, int) or not 1 <= days_valid <= DAYS_VALID_MAX:
        raise ValidationError(
            {"days_valid": _("An invitation is valid for 1 to %(max)d days.") % {"max": DAYS_VALID_MAX}},
            code="invalid",
        )
    return days_valid


def _clean_display_name(display_name: str, *, required: bool) -> str:
    name = (display_name or "").strip()
    if required and not name:
        raise ValidationError({"display_name": _("Enter the name to show in the directory.")}, code="required")
    if len(name) > 100:
        raise ValidationError({"display_name": _("At most 100 characters.")}, code="max_length")
    return name


def _close_card(card: Membership | None, now: datetime) -> None:
    """The card of an invitation that will never be accepted leaves the directory."""
    if card is not None and card.status == Membership.Status.INVITED:
        card.status = Membership.Status.LEFT
        card.left_at = now
        card.save(update_fields=["status", "left_at"])


def _expire_stale(*, enterprise: Enterprise, mobile: str, now: datetime) -> None:
    """Mark pending invitations of `mobile` whose time has passed as expired (their cards leave,
    their index rows go), so a new invitation to the same number starts clean."""
    stale = list(
        Invitation.objects.select_for_update().filter(
            mobile=mobile, status=Invitation.Status.PENDING, expires_at__lt=now
        )
    )
    for invitation in stale:
        invitation.status = Invitation.Status.EXPIRED
        invitation.save(update_fields=["status"])
        _close_card(_card_of(invitation), now)
    if stale:
        InvitationIndex.objects.filter(enterprise=enterprise, invitation_id__in=[i.pk for i in stale]).delete()


def _advisory_lock(key: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])


# --- create ------------------------------------------------------------------------------------


def invitation_new_card_check(*, scope: AdminScope) -> None:
    """An invitation without an existing card makes a card without a department, which belongs
    to the whole enterprise's directory administrators (ENT-8): a scoped administrator adds the
    person to one of their departments first (the card's mobile number sends the invitation)."""
    if Category.DIRECTORY not in scope.whole:
        raise ValidationError(
            {
                "membership": _(
                    "Add the person to the directory in one of your departments first: "
                    "the invitation is sent from their card."
                )
            }
        )


def invitation_create_by_mobile(
    *,
    enterprise: Enterprise,
    actor: Membership | None,
    mobile: str,
    display_name: str,
    role: str = Membership.Role.MEMBER,
    days_valid: int = 7,
) -> Invitation:
    """Invite the person with `mobile` (ENT-3): an invited directory card, the invitation and its
    public index row, in one transaction, with one ledger entry (action `invite`).

    Refused with a field error on `mobile` when an active member already has that number (on
    the card or on the account) or an open invitation to it exists."""
    try:
        mobile = normalize_mobile(mobile)
    except ValidationError as error:
        raise ValidationError({"mobile": error.messages}, code="invalid") from error
    name = _clean_display_name(display_name, required=True)
    role = _clean_role(actor=actor, role=role)
    days_valid = _clean_days(days_valid)
    now = timezone.now()
    with enterprise_schema(enterprise), transaction.atomic():
        # Serialise invitations to one number, so two admins cannot invite it twice at once.
        _advisory_lock(f"invitation:{enterprise.schema_name}:{mobile}")
        if (
            Membership.objects.filter(status=Membership.Status.ACTIVE)
            .filter(Q(mobile=mobile) | Q(account__mobile=mobile))
            .exists()
        ):
            raise ValidationError(
                {"mobile": _("A member of this enterprise already has this mobile number.")}, code="member"
            )
        _expire_stale(enterprise=enterprise, mobile=mobile, now=now)
        if Invitation.objects.filter(mobile=mobile, status=Invitation.Status.PENDING).exists():
            raise ValidationError({"mobile": _("This mobile number already has a pending invitation.")}, code="pending")
        card = Membership.objects.create(
            status=Membership.Status.INVITED, account=None, role=role, display_name=name, mobile=mobile
        )
        invitation = Invitation.objects.create(
            kind=Invitation.Kind.MOBILE,
            membership=card,
            mobile=mobile,
            role=role,
            created_by=actor,
            expires_at=now + timedelta(days=days_valid),
        )
        InvitationIndex.objects.create(
            enterprise=enterprise, invitation_id=invitation.pk, mobile=mobile, expires_at=invitation.expires_at
        )
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.INVITE,
            category=Category.DIRECTORY,
            subject=card,
            obj=invitation,
            details={
                "kind": Invitation.Kind.MOBILE,
                "role": role,
                "days_valid": days_valid,
                "fields": ["display_name", "mobile"],
            },
        )
        text = _(
            "%(enterprise)s invites you to join it on the personal-data portal. Sign in or register "
            "with this mobile number to accept or decline."
        ) % {"enterprise": enterprise.name}
        # SEC-5: an SMS delivery row, sent by Celery after the commit (with retries)
        send_to_address(channel=NotificationDelivery.Channel.SMS, address=mobile, kind="invitation", text=text)
    return invitation


def invitation_create_link(
    *,
    enterprise: Enterprise,
    actor: Membership | None,
    display_name: str = "",
    role: str = Membership.Role.MEMBER,
    days_valid: int = 7,
    membership: Membership | None = None,
) -> tuple[Invitation, str]:
    """A link invitation (ENT-3): anyone signed in with the link may accept it, once. Returns the
    invitation and its token; only the token's SHA-256 is stored, so the link cannot be shown
    again (`invitation_link_url`).

    A new invited card is created, unless `membership` names an existing invited card without an
    open invitation (a card added to the directory without a mobile number); the caller
    authorizes that card (AdminScope.member_for)."""
    name = _clean_display_name(display_name, required=False)
    role = _clean_role(actor=actor, role=role)
    days_valid = _clean_days(days_valid)
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with enterprise_schema(enterprise), transaction.atomic():
        if membership is not None:
            card = Membership.objects.select_for_update().filter(pk=membership.pk).first()
            if card is None or card.status != Membership.Status.INVITED or card.account_id is not None:
                raise ValidationError(
                    {"membership": _("Only an invited card can get an invitation link.")}, code="invalid"
                )
            if Invitation.objects.filter(
                membership=card, status=Invitation.Status.PENDING, expires_at__gte=now
            ).exists():
                raise ValidationError({"membership": _("This card already has a pending invitation.")}, code="pending")
            if role != card.role:
                card.role = role
                card.save(update_fields=["role"])
        else:
            # The card's name is filled from the account on acceptance when left empty here.
            card = Membership.objects.create(
                status=Membership.Status.INVITED, account=None, role=role, display_name=name
            )
        invitation = Invitation.objects.create(
            kind=Invitation.Kind.LINK,
            membership=card,
            token_hash=token_hash(token),
            role=role,
            created_by=actor,
            expires_at=now + timedelta(days=days_valid),
        )
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.INVITE,
            category=Category.DIRECTORY,
            subject=card,
            obj=invitation,
            details={
                "kind": Invitation.Kind.LINK,
                "role": role,
                "days_valid": days_valid,
                "fields": ["display_name"] if name and membership is None else [],
            },
        )
    return invitation, token


# --- answer ------------------------------------------------------------------------------------


def _locked_open_invitation(invitation: Invitation) -> Invitation:
    """Re-read the invitation under a row lock (two answers can never both win) and refuse it
    unless it is still open."""
    locked = Invitation.objects.select_for_update().filter(pk=invitation.pk).first()
    if locked is None or locked.status != Invitation.Status.PENDING:
        raise ValidationError({"invitation": _("This invitation is no longer valid.")}, code="closed")
    if locked.expires_at < timezone.now():
        raise ValidationError(
            {"invitation": _("This invitation has expired. Ask the enterprise for a new one.")}, code="expired"
        )
    return locked


def _card_of(invitation: Invitation) -> Membership | None:
    """The invitation's card, locked (None if there is none)."""
    if invitation.membership_id is None:
        return None
    return Membership.objects.select_for_update().filter(pk=invitation.membership_id).first()


def _check_invitee(invitation: Invitation, account: User) -> None:
    if invitation.kind == Invitation.Kind.MOBILE and str(account.mobile) != invitation.mobile:
        raise ValidationError(
            {
                "invitation": _(
                    "This invitation was sent to another mobile number. Sign in with the account of "
                    "that number to answer it."
                )
            },
            code="wrong_account",
        )


def invitation_accept(
    *, enterprise: Enterprise, invitation: Invitation, account: User, notice_version: int | None = None
) -> Membership:
    """The invitee accepts (ACC-3): the invitation's card becomes `account`'s active membership
    with the invited role; the invitation is marked accepted, its public index row removed and
    the public MembershipIndex row written, all in one transaction.

    Refused (nothing changed) when the invitation is not open, was sent to another mobile
    number, the enterprise is not active, or the account is already a member. An account that
    left the enterprise earlier gets its old membership back (one card per account); the new
    card then leaves the directory.

    Joining acknowledges the enterprise's current notice (CON-3; the accept pages show it): pass
    the version the page displayed as `notice_version`, refused with code "stale_notice" if a
    newer one was published meanwhile."""
    require_processable(account)  # ACC-4
    if enterprise.state != Enterprise.State.ACTIVE:
        raise ValidationError({"invitation": _("This enterprise is not available.")}, code="unavailable")
    now = timezone.now()
    with enterprise_schema(enterprise), transaction.atomic():
        invitation = _locked_open_invitation(invitation)
        _check_invitee(invitation, account)
        previous = Membership.objects.select_for_update().filter(account=account).first()
        if previous is not None and previous.status == Membership.Status.ACTIVE:
            raise ValidationError(
                {"invitation": _("You are already a member of %(enterprise)s.") % {"enterprise": enterprise.name}},
                code="member",
            )
        card = _card_of(invitation)
        if previous is not None:  # came back after leaving: the one card per account is the old one
            _close_card(card, now)
            card = previous
            card.left_at = None
        elif card is None or card.status != Membership.Status.INVITED:
            raise ValidationError({"invitation": _("This invitation is no longer valid.")}, code="closed")
        card.account = account
        card.status = Membership.Status.ACTIVE
        card.role = invitation.role
        card.joined_at = now
        card.display_name = card.display_name or account.display_name
        card.mobile = card.mobile or str(account.mobile)
        card.save(update_fields=["account", "status", "role", "joined_at", "display_name", "mobile", "left_at"])
        invitation.status = Invitation.Status.ACCEPTED
        invitation.responded_at = now
        invitation.accepted_account_id = account.pk
        invitation.save(update_fields=["status", "responded_at", "accepted_account_id"])
        InvitationIndex.objects.filter(enterprise=enterprise, invitation_id=invitation.pk).delete()
        MembershipIndex.objects.update_or_create(
            account=account, enterprise=enterprise, defaults={"role": card.role, "joined_at": now}
        )
        if enterprise.notice_version or notice_version is not None:
            notice_acknowledge(
                enterprise=enterprise,
                membership=card,
                version=enterprise.notice_version if notice_version is None else notice_version,
                channel=NoticeAcknowledgement.Channel.INVITATION,
            )
    return card


def invitation_decline(*, enterprise: Enterprise, invitation: Invitation, account: User) -> Invitation:
    """The invitee declines: the invitation is marked declined, its card leaves the directory,
    the public index row goes. Refused like `invitation_accept` for the wrong account."""
    now = timezone.now()
    with enterprise_schema(enterprise), transaction.atomic():
        invitation = _locked_open_invitation(invitation)
        _check_invitee(invitation, account)
        invitation.status = Invitation.Status.DECLINED
        invitation.responded_at = now
        invitation.save(update_fields=["status", "responded_at"])
        _close_card(_card_of(invitation), now)
        InvitationIndex.objects.filter(enterprise=enterprise, invitation_id=invitation.pk).delete()
    return invitation


def invitation_revoke(*, enterprise: Enterprise, actor: Membership | None, invitation: Invitation) -> Invitation:
    """An administrator withdraws a pending invitation (expired ones too, to tidy up): it is
    marked revoked, its card leaves the directory, the index row goes; one ledger entry.
    Only the owner and full administrators may revoke an invitation of an administrator."""
    now = timezone.now()
    with enterprise_schema(enterprise), transaction.atomic():
        locked = Invitation.objects.select_for_update().filter(pk=invitation.pk).first()
        if locked is None or locked.status != Invitation.Status.PENDING:
            raise ValidationError({"invitation": _("Only a pending invitation can be revoked.")}, code="closed")
        if locked.role == Membership.Role.ADMIN and actor is not None and actor.role not in FULL_ADMIN_ROLES:
            raise ValidationError(
                {"invitation": _("Only the owner and full administrators may revoke an administrator's invitation.")},
                code="forbidden",
            )
        locked.status = Invitation.Status.REVOKED
        locked.responded_at = now
        locked.save(update_fields=["status", "responded_at"])
        _close_card(_card_of(locked), now)
        InvitationIndex.objects.filter(enterprise=enterprise, invitation_id=locked.pk).delete()
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.REVOKE,
            category=Category.DIRECTORY,
            subject=locked.membership_id,
            obj=locked,
            details={"kind": locked.kind},
        )
    return locked
