"""Deleting an account (DSR-6): blockers, re-authentication, cooling-off, execution.

1. **Blockers** (`account_deletion_blockers`), shown first and re-checked on every attempt: the
   account is the only active owner of an enterprise (it must hand over first), it has open
   requests (on the platform or in one of its enterprises: cancel them or wait for the answer),
   or it is a platform operator's account (closed by another operator).
2. **Re-authentication** (`account_deletion_start`): the account's password and a one-time SMS
   code sent to its mobile number for the purpose `account_deletion`
   (`account_deletion_send_code`, the existing code service and its rate limits). The code is
   checked first, so the password cannot be guessed without codes that reach the owner's phone.
3. **Cooling-off**: an AccountDeletion row (public schema) due `ACCOUNT_DELETION_COOLING_OFF_DAYS`
   later, and `User.deletion_pending`, with which the account can only reach the cancel page
   (requests.account_deletion.middleware). `account_deletion_cancel` restores normal use. Both are announced in
   the inbox and by SMS/e-mail.
4. **Execution** (`account_deletions_execute_due`, beat every 10 minutes, public schema): every
   membership is left exactly as DSR-5 does it (`membership_leave` in each enterprise's schema:
   templates and health reports deleted at once, the card anonymised by the erasure engine after
   that enterprise's grace period, attendance and ledger kept under the card's pseudonym);
   pending invitations to the number are declined; the final notice goes by SMS (and e-mail)
   while the number and address still exist; then the account data is erased and the account
   row becomes a tombstone (see `_account_erase`). Each step is recorded in rows (the index rows
   of the enterprises left, `enterprises_left`, `final_notice_at`, the status), so an execution
   cut short resumes where it stopped and a second run does nothing.

Why a tombstone rather than deleting the row: enterprise schemas keep records that point at the
account — the departed card until its grace period ends, the `leave` requests and their events,
object-permission rows — and their foreign keys to `accounts_user` are real (PostgreSQL enforces
them across schemas), and the platform keeps the account's request history and incident
records. The row stays with nothing identifying left; its id is the pseudonym.
docs/account-deletion.md has the full list of what is deleted, anonymised and kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import SmsCode, User
from accounts.services import sms_code_send, sms_code_verify
from consent.inbox.delivery import deliveries_attempt, deliveries_schedule, delivery_rows
from consent.inbox.services import notify
from consent.messages import Message
from consent.models import (
    NotificationDelivery,
)
from invitations.models import Invitation
from invitations.services import invitation_decline
from requests.account_deletion.selectors import (
    Blocker,
    _active_membership,
    _links,
    _sole_owner_blockers,
    account_deletion_blockers,
    account_deletion_pending,
    cooling_off_days,
)
from requests.account_export.services import account_exports_delete
from requests.leave.services import membership_leave
from requests.models import AccountDeletion, Request, RequestEvent, RequestKind
from requests.workflow.services import request_schema
from retention.services.account import account_data_erase
from tenants.context import enterprise_schema
from tenants.locks import exclusive_run
from tenants.models import InvitationIndex, MembershipIndex

NOTIFICATION_KIND = "account_deletion"
DELETION_REASON = "account deleted (DSR-6)"
SMS_PURPOSE = SmsCode.Purpose.ACCOUNT_DELETION
LOCK_KEY = (0x4144, 0)  # "AD": one runner of account deletions at a time
CHANNELS = ("sms", "email")
S = AccountDeletion.Status


# --- what stands in the way, and what will happen ----------------------------------------------


# --- starting and cancelling ---------------------------------------------------------------------


def _refuse_if_pending(account: User) -> None:
    if account_deletion_pending(account=account) is not None:
        raise ValidationError(_("Your account's deletion has already been requested."), code="already_pending")


def _refuse_if_blocked(account: User) -> None:
    blockers = account_deletion_blockers(account=account)
    if blockers:
        raise ValidationError(
            [ValidationError(blocker.message, code="account_deletion_blocked") for blocker in blockers]
        )


def account_deletion_send_code(*, account: User, ip: str | None = None) -> SmsCode:
    """Send the one-time code that confirms a deletion to the account's mobile number (the
    SMS code service's limits apply: field error on `code`, code `throttled`). Refused while a
    deletion is pending or anything blocks it."""
    _refuse_if_pending(account)
    _refuse_if_blocked(account)
    try:
        return sms_code_send(mobile=str(account.mobile), purpose=SMS_PURPOSE, ip=ip)
    except ValidationError as error:  # the number is not the user's input: the error belongs to the code
        raise ValidationError({"code": error.message_dict.get("mobile", error.messages)}, code="throttled") from error


def account_deletion_start(
    *, account: User, password: str, code: str, language: str = "", now: datetime | None = None
) -> AccountDeletion:
    """Ask for the account's deletion (DSR-6), confirmed with its password and the SMS code.
    Refused — nothing changed — while one is pending (`already_pending`), while anything blocks
    it (`account_deletion_blocked`, one message per blocker), and with field errors on
    `password`/`code` when either is missing or wrong. The code is checked (and, if right,
    used up) before the password: a wrong password then needs a new code."""
    _refuse_if_pending(account)
    _refuse_if_blocked(account)
    errors: dict[str, list[str]] = {}
    if not isinstance(password, str) or not password:
        errors["password"] = [_("Enter your password.")]
    if not isinstance(code, str) or not code.strip():
        errors["code"] = [_("Enter the code sent to your mobile number.")]
    if errors:
        raise ValidationError(errors)
    sms_code_verify(mobile=str(account.mobile), purpose=SMS_PURPOSE, code=code)  # counts the try, outside a transaction
    if not account.check_password(password):
        raise ValidationError(
            {
                "password": [_("The password is not correct.")],
                "code": [_("The code has been used: ask for a new one and try again.")],
            },
            code="invalid",
        )
    now = now or timezone.now()
    language = (language or translation.get_language() or settings.LANGUAGE_CODE)[:16]
    with request_schema(None), transaction.atomic():
        User.objects.select_for_update().filter(pk=account.pk).first()  # one start at a time per account
        _refuse_if_pending(account)
        deletion = AccountDeletion.objects.create(
            account=account, requested_at=now, language=language, not_before=now + timedelta(days=cooling_off_days())
        )
        User.objects.filter(pk=account.pk).update(deletion_pending=True)
        day = timezone.localtime(deletion.not_before).strftime("%Y-%m-%d %H:%M")
        notify(
            account=account,
            kind=NOTIFICATION_KIND,
            url="/account/delete/",
            channels=CHANNELS,
            title=Message(gettext_noop("Your account will be deleted after %(date)s"), {"date": day}),
            body=Message(
                gettext_noop(
                    "You asked for your account to be deleted. Until %(date)s you can sign in only to cancel it, "
                    "at /account/delete/. After that it is deleted for good: you leave every enterprise and your "
                    "account data is erased. If this was not you, sign in and cancel now."
                ),
                {"date": day},
            ),
        )
    account.deletion_pending = True
    return deletion


def _record_request(deletion: AccountDeletion, account: User, status: str, now: datetime, resolution: str) -> Request:
    """The `account_deletion` request in the account's history (public schema), already closed:
    it needs no decision (the steps were the account's own, and the system's)."""
    request = Request.objects.create(
        kind=RequestKind.ACCOUNT_DELETION,
        status=status,
        account=account,
        submitted_at=deletion.requested_at,
        verified_at=deletion.requested_at,
        closed_at=now,
        resolution=resolution,
    )
    closing = (
        RequestEvent(
            request=request,
            created_at=now,
            action=RequestEvent.Action.COMPLETED,
            status=status,
            actor_kind=RequestEvent.ActorKind.SYSTEM,
        )
        if status == Request.Status.COMPLETED
        else RequestEvent(
            request=request,
            created_at=now,
            action=RequestEvent.Action.CANCELLED,
            status=status,
            actor_kind=RequestEvent.ActorKind.REQUESTER,
            actor_account=account,
        )
    )
    RequestEvent.objects.bulk_create(
        [
            RequestEvent(
                request=request,
                created_at=deletion.requested_at,
                action=RequestEvent.Action.SUBMITTED,
                status=Request.Status.SUBMITTED,
                actor_kind=RequestEvent.ActorKind.REQUESTER,
                actor_account=account,
            ),
            # the password and the SMS code confirmed who asked
            RequestEvent(
                request=request,
                created_at=deletion.requested_at,
                action=RequestEvent.Action.IDENTITY_VERIFIED,
                status=Request.Status.IDENTITY_VERIFIED,
                actor_kind=RequestEvent.ActorKind.SYSTEM,
            ),
            closing,
        ]
    )
    return request


def account_deletion_cancel(*, account: User, now: datetime | None = None) -> AccountDeletion:
    """Cancel the account's own deletion during its cooling-off: normal use is back at once.
    Refused when there is none (`not_pending`) or its execution has started (`started`)."""
    now = now or timezone.now()
    with request_schema(None), transaction.atomic():
        deletion = (
            AccountDeletion.objects.select_for_update()
            .filter(account_id=account.pk, status__in=AccountDeletion.PENDING_STATUSES)
            .first()
        )
        if deletion is None:
            raise ValidationError(_("There is no account deletion to cancel."), code="not_pending")
        if deletion.status != S.SCHEDULED:
            raise ValidationError(
                _("The deletion of your account has started and can no longer be cancelled."), code="started"
            )
        deletion.status = S.CANCELLED
        deletion.cancelled_at = now
        deletion.request = _record_request(
            deletion, account, Request.Status.CANCELLED, now, _("Cancelled during the cooling-off period.")
        )
        deletion.save(update_fields=["status", "cancelled_at", "request"])
        User.objects.filter(pk=account.pk).update(deletion_pending=False)
        notify(
            account=account,
            kind=NOTIFICATION_KIND,
            url="/account/",
            channels=CHANNELS,
            title=Message(gettext_noop("The deletion of your account was cancelled")),
            body=Message(
                gettext_noop(
                    "Your account will not be deleted and can be used as before. If you did not cancel it "
                    "yourself, change your password."
                )
            ),
        )
    account.deletion_pending = False
    return deletion


# --- execution -----------------------------------------------------------------------------------


def account_deletions_execute_due(
    *, now: datetime | None = None, before_step: Callable[[AccountDeletion, str], None] | None = None
) -> list[int]:
    """Beat (public schema): execute every deletion whose cooling-off is over, and finish any a
    dead worker left executing, one at a time under a transaction-level advisory lock held for
    the run (tenants.locks.exclusive_run, issue 18 §4; a second runner returns at once). A
    deletion is claimed scheduled → executing under a row lock, so a cancellation either happens
    before (and it never runs) or is refused. Returns the ids executed now.
    `before_step` is a test hook (called with the deletion and the step's name)."""
    now = now or timezone.now()
    done: list[int] = []
    with request_schema(None), exclusive_run(*LOCK_KEY) as held:
        if not held:
            return done
        # holding the lock, a deletion still executing was left by a worker that died: finish it
        pending = list(AccountDeletion.objects.filter(status=S.EXECUTING).order_by("id").values_list("pk", flat=True))
        while True:
            if pending:
                deletion_id = pending.pop(0)
                AccountDeletion.objects.filter(pk=deletion_id).update(attempts=F("attempts") + 1)
            else:
                with transaction.atomic():
                    due = (
                        AccountDeletion.objects.select_for_update(skip_locked=True)
                        .filter(status=S.SCHEDULED, not_before__lte=now)
                        .order_by("not_before", "id")
                        .first()
                    )
                    if due is None:
                        return done
                    AccountDeletion.objects.filter(pk=due.pk).update(
                        status=S.EXECUTING, started_at=now, attempts=F("attempts") + 1
                    )
                deletion_id = due.pk
            if account_deletion_execute(deletion_id=deletion_id, now=now, before_step=before_step).status == S.DONE:
                done.append(deletion_id)


def account_deletion_execute(
    *, deletion_id: int, now: datetime | None = None, before_step: Callable[[AccountDeletion, str], None] | None = None
) -> AccountDeletion:
    """Carry out one claimed (executing) deletion; every step is idempotent and recorded, so a
    re-run resumes. A deletion in any other state is returned untouched."""
    now = now or timezone.now()
    with request_schema(None):
        deletion = AccountDeletion.objects.get(pk=deletion_id)
        if deletion.status != S.EXECUTING:
            return deletion
        account = User.objects.get(pk=deletion.account_id)
        with translation.override(deletion.language):
            links = _links(account)
            blockers = _sole_owner_blockers(account, links)
            if blockers:  # another owner left during the cooling-off: nothing is done, the account is back
                return _stop(deletion, account, blockers, now)
            for link in links:
                if before_step is not None:
                    before_step(deletion, f"leave:{link.enterprise.slug}")
                _leave(deletion, account, link, now)
            if before_step is not None:
                before_step(deletion, "invitations")
            _decline_invitations(account)
            if deletion.final_notice_at is None:
                if before_step is not None:
                    before_step(deletion, "final_notice")
                _send_final_notice(deletion, account, now)
            if before_step is not None:
                before_step(deletion, "erase")
            _account_erase(deletion, account, now)
        deletion.refresh_from_db()
        return deletion


def _stop(deletion: AccountDeletion, account: User, blockers: list[Blocker], now: datetime) -> AccountDeletion:
    reason = "\n".join(blocker.message for blocker in blockers)
    left = ", ".join(entry["name"] for entry in deletion.enterprises_left)
    # Normally nothing has happened yet; only a race (an owner leaving while this execution was
    # leaving the enterprises) can stop it after some were left, and the notice says which.
    done = (
        Message(gettext_noop("You have already left: %(enterprises)s; nothing else was deleted"), {"enterprises": left})
        if left
        else Message(gettext_noop("Nothing was deleted"))
    )
    with transaction.atomic():
        AccountDeletion.objects.filter(pk=deletion.pk).update(status=S.BLOCKED, blocked_reason=reason)
        User.objects.filter(pk=account.pk).update(deletion_pending=False)
        notify(
            account=account,
            kind=NOTIFICATION_KIND,
            url="/account/delete/",
            channels=CHANNELS,
            title=Message(gettext_noop("Your account could not be deleted")),
            body=Message(
                gettext_noop(
                    "%(done)s, and your account can be used as before. %(reason)s Then ask for the deletion again."
                ),
                {"done": done, "reason": reason},
            ),
        )
    deletion.refresh_from_db()
    return deletion


def _leave(deletion: AccountDeletion, account: User, link: MembershipIndex, now: datetime) -> None:
    """Leave one enterprise as DSR-5 does, and record it on the deletion in the same transaction
    (so the enterprise's index row is gone exactly when the entry is written)."""
    enterprise = link.enterprise
    with enterprise_schema(enterprise):
        member = _active_membership(account)
    with transaction.atomic():
        if member is None:  # the index is stale (no active card in that schema): nothing to leave
            MembershipIndex.objects.filter(pk=link.pk).delete()
            return
        result = membership_leave(
            enterprise=enterprise,
            membership=member,
            account=account,
            now=now,
            reason=DELETION_REASON,
            notify_member=False,
        )
        with request_schema(None):
            locked = AccountDeletion.objects.select_for_update().get(pk=deletion.pk)
            locked.enterprises_left = [
                *locked.enterprises_left,
                {
                    "enterprise": enterprise.pk,
                    "name": enterprise.name,
                    "erasure_plan": result.erasure_plan_id,
                    "anonymise_at": result.anonymise_at.isoformat(),
                    "templates": result.templates,
                    "health_reports": result.health_reports,
                },
            ]
            locked.save(update_fields=["enterprises_left"])
    deletion.enterprises_left = locked.enterprises_left


def _decline_invitations(account: User) -> None:
    """Open invitations to the account's number are declined: the person is leaving the platform
    (an enterprise can invite the number again)."""
    for row in InvitationIndex.objects.filter(
        mobile=str(account.mobile), expires_at__gte=timezone.now()
    ).select_related("enterprise"):
        with enterprise_schema(row.enterprise):
            invitation = Invitation.objects.filter(pk=row.invitation_id).first()
        if invitation is None:
            InvitationIndex.objects.filter(pk=row.pk).delete()
            continue
        try:
            invitation_decline(enterprise=row.enterprise, invitation=invitation, account=account)
        except ValidationError:  # closed meanwhile: only the stale index row is left
            InvitationIndex.objects.filter(pk=row.pk).delete()


def _send_final_notice(deletion: AccountDeletion, account: User, now: datetime) -> None:
    """The last message, by SMS and e-mail, written while the number and address still exist
    and sent at once (the delivery rows keep their own copy of the address, so a failed send is
    retried by the delivery task after the account is erased)."""
    left = ", ".join(entry["name"] for entry in deletion.enterprises_left) or _("none")
    title = _("Your account has been deleted")
    body = _(
        "As you asked on %(date)s, your account and its data have been deleted, and you have left these "
        "enterprises: %(enterprises)s. Each of them anonymises your directory card after its grace period; "
        "records they must keep (attendance, their ledger) carry only a pseudonym. This number can register "
        "a new account."
    ) % {"date": timezone.localtime(deletion.requested_at).strftime("%Y-%m-%d"), "enterprises": left}
    with transaction.atomic():
        rows = NotificationDelivery.objects.bulk_create(
            delivery_rows(
                notification_id=None,
                kind=NOTIFICATION_KIND,
                channels=CHANNELS,
                mobile=str(account.mobile or ""),
                email=account.email,
                title=title,
                body=body,
            )
        )
        AccountDeletion.objects.filter(pk=deletion.pk).update(final_notice_at=now)
        deliveries_schedule(rows)  # the delivery task retries what the attempt below cannot send
    deletion.final_notice_at = now
    deliveries_attempt(delivery_ids=[row.pk for row in rows])


def _account_erase(deletion: AccountDeletion, account: User, now: datetime) -> None:
    """Erase the account's data and make its row a tombstone (retention's account_data_erase), in
    one transaction, and mark the deletion done with its completed request. Idempotent (an erased
    account is erased again to the same empty values; the deletion is done once)."""
    with transaction.atomic():
        locked = AccountDeletion.objects.select_for_update().get(pk=deletion.pk)
        if locked.status != S.EXECUTING:
            return
        account_data_erase(account=account, now=now)
        account_exports_delete(account=account)  # its copies of that data too
        request = _record_request(
            locked,
            account,
            Request.Status.COMPLETED,
            now,
            _("The account was deleted: every enterprise was left and the account data erased."),
        )
        AccountDeletion.objects.filter(pk=deletion.pk).update(status=S.DONE, executed_at=now, request=request)
