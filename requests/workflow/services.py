"""The request workflow (DSR-1, DSR-3, DSR-4).

    submitted → identity_verified → in_review → completed | refused
                      ↘ awaiting_information ↗ (the deadline clock pauses)
    any open state → cancelled (by the requester); refused also from any open state

Requests about an enterprise's data live in its schema (`enterprise` given, the requester's
`membership` set); account-data requests live in the public schema (`enterprise` None). Every
service switches to the right schema, owns its transaction, locks the request row, checks the
transition (a ValidationError with field errors, nothing changed), appends one `RequestEvent`,
writes one instruction-ledger entry for an administrator's decision (ENT-10) and tells the
requester in their inbox."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, ngettext

from accounts.models import User
from consent.inbox.services import notify, notify_many
from consent.messages import Choice, Message
from core.models import Membership
from core.scopes import admin_scope_for
from ledger.services import Action, ledger_record
from requests.models import REQUEST_CATEGORIES, RefusalGround, Request, RequestEvent, RequestKind
from requests.workflow.calendar import WorkingCalendar
from requests.workflow.selectors import requests_for_admin, responsible_account_ids
from tenants.context import enterprise_schema, public_schema
from tenants.models import Enterprise

DEADLINE_WORKING_DAYS = 15  # DSR-4
TEXT_MAX_LENGTH = 2000
NOTIFICATION_KIND = "request"
# The kinds a requester submits on the request forms: the ones that need a decision (DSR-3).
# The other kinds are created by their own self-service flows (export, leave, account deletion…).
FORM_KINDS = (RequestKind.CORRECTION, RequestKind.DELETION, RequestKind.COMPLAINT)
NEEDS_DESCRIPTION = frozenset(FORM_KINDS)

S = Request.Status


class Decision:
    """What an administrator or operator can do with a request."""

    VERIFY = "verify"
    START_REVIEW = "start_review"
    ASK_INFORMATION = "ask_information"
    INFORMATION_RECEIVED = "information_received"
    COMPLETE = "complete"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Transition:
    sources: tuple[str, ...]
    target: str
    event: str


TRANSITIONS: dict[str, Transition] = {
    Decision.VERIFY: Transition((S.SUBMITTED,), S.IDENTITY_VERIFIED, RequestEvent.Action.IDENTITY_VERIFIED),
    Decision.START_REVIEW: Transition((S.IDENTITY_VERIFIED,), S.IN_REVIEW, RequestEvent.Action.REVIEW_STARTED),
    Decision.ASK_INFORMATION: Transition(
        (S.IDENTITY_VERIFIED, S.IN_REVIEW), S.AWAITING_INFORMATION, RequestEvent.Action.INFORMATION_REQUESTED
    ),
    Decision.INFORMATION_RECEIVED: Transition(
        (S.AWAITING_INFORMATION,), S.IN_REVIEW, RequestEvent.Action.INFORMATION_RECEIVED
    ),
    Decision.COMPLETE: Transition((S.IN_REVIEW,), S.COMPLETED, RequestEvent.Action.COMPLETED),
    Decision.REFUSE: Transition(Request.OPEN_STATUSES, S.REFUSED, RequestEvent.Action.REFUSED),
}
DECISION_CHOICES = [
    (Decision.VERIFY, gettext_lazy("Mark identity verified")),
    (Decision.START_REVIEW, gettext_lazy("Start review")),
    (Decision.ASK_INFORMATION, gettext_lazy("Ask for more information (pauses the deadline)")),
    (Decision.INFORMATION_RECEIVED, gettext_lazy("Information received (resumes the deadline)")),
    (Decision.COMPLETE, gettext_lazy("Complete")),
    (Decision.REFUSE, gettext_lazy("Refuse")),
]
NOTE_REQUIRED = frozenset({Decision.ASK_INFORMATION, Decision.REFUSE})


@contextmanager
def request_schema(enterprise: Enterprise | None) -> Iterator[None]:
    """Requests about an enterprise's data are in its schema, account-data requests in public."""
    if enterprise is None:
        with public_schema():
            yield
    else:
        with enterprise_schema(enterprise):
            yield


def _clean_text(value: str | None, field: str, *, required: bool, errors: dict[str, list[str]]) -> str:
    text = (value or "").strip()
    if required and not text:
        errors.setdefault(field, []).append(_("This field is required."))
    elif len(text) > TEXT_MAX_LENGTH:
        errors.setdefault(field, []).append(
            _("At most %(max)d characters (it has %(length)d).") % {"max": TEXT_MAX_LENGTH, "length": len(text)}
        )
    return text


def _event(
    request: Request,
    action: str,
    *,
    actor_kind: str,
    account_id: int | None = None,
    membership_id: int | None = None,
    note: str = "",
    ground: str = "",
) -> RequestEvent:
    return RequestEvent.objects.create(
        request=request,
        action=action,
        status=request.status,
        actor_kind=actor_kind,
        actor_account_id=account_id,
        actor_membership_id=membership_id,
        note=note,
        refusal_ground=ground,
    )


def _request_url(request: Request) -> str:
    return f"/me/requests/{request.pk}/" if request.membership_id else f"/account/requests/{request.pk}/"


# Statuses the requester must learn about outside the app too (SEC-5): an answer, or a question.
SMS_EMAIL_STATUSES = frozenset({S.COMPLETED, S.REFUSED, S.AWAITING_INFORMATION})


def _notify_requester(request: Request, enterprise: Enterprise | None, note: str) -> None:
    """The decision, with the note to the requester (the answer, or the question asked)."""
    notify(
        account=request.account,
        kind=NOTIFICATION_KIND,
        title=Message(
            gettext_noop("Your request #%(id)s (%(kind)s): %(status)s"),
            {
                "id": request.pk,
                "kind": Choice("requests.request", "kind", request.kind),
                "status": Choice("requests.request", "status", request.status),
            },
        ),
        body=note,
        url=_request_url(request),
        enterprise_id=enterprise.pk if enterprise is not None else None,
        channels=("sms", "email") if request.status in SMS_EMAIL_STATUSES else (),
    )


def _notify_responsible(request: Request, enterprise: Enterprise | None, title: Message) -> int:
    account_ids = responsible_account_ids(requests=[request])[request.pk]
    url = (
        f"/console/requests/{request.pk}/"
        if enterprise is not None
        else f"/admin/requests/request/{request.pk}/change/"
    )
    return notify_many(
        account_ids=sorted(account_ids),
        kind=NOTIFICATION_KIND,
        title=title,
        url=url,
        enterprise_id=enterprise.pk if enterprise is not None else None,
    )


def _start_clock(request: Request, now: datetime, calendar: WorkingCalendar | None = None) -> None:
    request.verified_at = now
    request.due_on = (calendar or WorkingCalendar()).add_working_days(timezone.localdate(now), DEADLINE_WORKING_DAYS)


def _resume_clock(request: Request, today: date) -> None:
    """DSR-4: the working days spent awaiting information move the deadline."""
    if request.paused_on is None or request.due_on is None:
        request.paused_on = None
        return
    calendar = WorkingCalendar()
    paused = max(calendar.working_days_between(request.paused_on, today), 0)
    request.due_on = calendar.add_working_days(request.due_on, paused)
    request.paused_working_days += paused
    request.paused_on = None


# --- the requester ----------------------------------------------------------------------------


def _refuse_beyond_open_limit(*, account: User, membership: Membership | None) -> None:
    """SEC-7: at most REQUEST_MAX_OPEN_PER_MEMBER open requests (any kind) per member in an
    enterprise, or per account on the platform (`membership` None); one more is refused with a
    non-field error (400), nothing written. The member's (account's) row is locked first, so two
    submissions at once cannot both take the last place. Runs in the request's schema and
    transaction."""
    if membership is not None:
        list(Membership.objects.select_for_update().filter(pk=membership.pk).values_list("pk", flat=True))
        open_requests = Request.objects.filter(membership=membership, status__in=Request.OPEN_STATUSES)
    else:
        list(User.objects.select_for_update().filter(pk=account.pk).values_list("pk", flat=True))
        open_requests = Request.objects.filter(
            account=account, membership__isnull=True, status__in=Request.OPEN_STATUSES
        )
    limit = settings.REQUEST_MAX_OPEN_PER_MEMBER
    if open_requests.count() >= limit:
        raise ValidationError(
            ngettext(
                "You already have %(n)d open request here. Wait for its answer, or cancel it, before making another.",
                "You already have %(n)d open requests here. Wait for an answer, or cancel one, before making another.",
                limit,
            )
            % {"n": limit},
            code="too_many_open_requests",
        )


def request_submit(
    *,
    enterprise: Enterprise | None,
    account: User,
    membership: Membership | None = None,
    kind: str,
    category: str = "",
    description: str = "",
    verified: bool = True,
) -> Request:
    """A requester's new request (DSR-1). In an enterprise it is about the member's own data of
    one category and goes to the admins holding that category over them; on the platform
    (`enterprise` None) it is about account data and goes to the operators. A signed-in
    requester's identity is verified by the sign-in (`verified`), which starts the 15-working-day
    clock at once (DSR-4)."""
    errors: dict[str, list[str]] = {}
    if kind not in RequestKind.values:
        errors["kind"] = [_("Choose a valid kind of request.")]
    if enterprise is None:
        if membership is not None:
            errors["membership"] = [_("An account-data request is not made as a member of an enterprise.")]
        if category:
            errors["category"] = [_("Requests about your account have no enterprise data category.")]
    else:
        if membership is None or membership.account_id != account.pk or not membership.is_active:
            errors["membership"] = [_("Only an active member can make a request about their data here.")]
        if category not in REQUEST_CATEGORIES:
            errors["category"] = [_("Choose which of your data the request is about.")]
    description = _clean_text(description, "description", required=kind in NEEDS_DESCRIPTION, errors=errors)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with request_schema(enterprise), transaction.atomic():
        _refuse_beyond_open_limit(account=account, membership=membership if enterprise is not None else None)
        request = Request.objects.create(
            kind=kind,
            account=account,
            membership=membership,
            category=category if enterprise is not None else "",
            description=description,
            submitted_at=now,
        )
        _event(
            request,
            RequestEvent.Action.SUBMITTED,
            actor_kind=RequestEvent.ActorKind.REQUESTER,
            account_id=account.pk,
            membership_id=membership.pk if membership else None,
        )
        if verified:
            request.status = S.IDENTITY_VERIFIED
            _start_clock(request, now)
            request.save(update_fields=["status", "verified_at", "due_on"])
            # the sign-in verified the requester (the history pages say so in the reader's language)
            _event(request, RequestEvent.Action.IDENTITY_VERIFIED, actor_kind=RequestEvent.ActorKind.SYSTEM)
        _notify_responsible(
            request,
            enterprise,
            Message(
                gettext_noop("New request #%(id)s (%(kind)s) to answer"),
                {"id": request.pk, "kind": Choice("requests.request", "kind", request.kind)},
            ),
        )
    return request


def _own_locked(request: Request, account: User) -> Request:
    locked = Request.objects.select_for_update().filter(pk=request.pk, account=account).first()
    if locked is None:
        raise ValidationError({"request": [_("This is not your request.")]})
    return locked


def request_cancel(*, enterprise: Enterprise | None, request: Request, account: User) -> Request:
    """The requester withdraws an open request."""
    with request_schema(enterprise), transaction.atomic():
        locked = _own_locked(request, account)
        if locked.status not in Request.OPEN_STATUSES:
            raise ValidationError(
                {
                    "action": [
                        _("Only an open request can be cancelled; this one is %(status)s.")
                        % {"status": locked.get_status_display()}
                    ]
                }
            )
        locked.status = S.CANCELLED
        locked.closed_at = timezone.now()
        locked.paused_on = None
        locked.save(update_fields=["status", "closed_at", "paused_on"])
        _event(
            locked,
            RequestEvent.Action.CANCELLED,
            actor_kind=RequestEvent.ActorKind.REQUESTER,
            account_id=account.pk,
            membership_id=locked.membership_id,
        )
    return locked


def request_provide_information(
    *, enterprise: Enterprise | None, request: Request, account: User, note: str
) -> Request:
    """The requester answers a request for more information; the clock resumes (DSR-4)."""
    errors: dict[str, list[str]] = {}
    note = _clean_text(note, "note", required=True, errors=errors)
    if errors:
        raise ValidationError(errors)
    with request_schema(enterprise), transaction.atomic():
        locked = _own_locked(request, account)
        if locked.status != S.AWAITING_INFORMATION:
            raise ValidationError({"action": [_("No information was asked for on this request.")]})
        _resume_clock(locked, timezone.localdate())
        locked.status = S.IN_REVIEW
        locked.save(update_fields=["status", "due_on", "paused_on", "paused_working_days"])
        _event(
            locked,
            RequestEvent.Action.INFORMATION_RECEIVED,
            actor_kind=RequestEvent.ActorKind.REQUESTER,
            account_id=account.pk,
            membership_id=locked.membership_id,
            note=note,
        )
        _notify_responsible(
            locked,
            enterprise,
            Message(gettext_noop("Request #%(id)s: the requester sent the information asked for"), {"id": locked.pk}),
        )
    return locked


# --- administrators and operators -------------------------------------------------------------


def _authorize(enterprise: Enterprise | None, request: Request, actor: Membership | User) -> dict[str, int | None]:
    """The actor may decide on this request: in an enterprise an admin whose scope covers it, on
    the platform an operator; never the requester themself. Returns the event's actor ids."""
    if enterprise is None:
        if not isinstance(actor, User) or not actor.is_staff:
            raise ValidationError({"action": [_("Only platform operators answer account-data requests.")]})
        if actor.pk == request.account_id:
            raise ValidationError({"action": [_("You cannot decide on your own request.")]})
        return {"account_id": actor.pk, "membership_id": None}
    if not isinstance(actor, Membership):
        raise ValidationError({"action": [_("Only the enterprise's administrators answer this request.")]})
    scope = admin_scope_for(actor)
    if scope is None or not requests_for_admin(scope=scope).filter(pk=request.pk).exists():
        raise ValidationError({"action": [_("Your administrator scope does not cover this request.")]})
    if actor.account_id == request.account_id:
        raise ValidationError({"action": [_("You cannot decide on your own request.")]})
    return {"account_id": actor.account_id, "membership_id": actor.pk}


def request_decide(
    *,
    enterprise: Enterprise | None,
    request: Request,
    actor: Membership | User,
    action: str,
    ground: str = "",
    note: str = "",
) -> Request:
    """An administrator's (enterprise) or operator's (platform) decision — one of `Decision` —
    on a request. A refusal names one ground of DSR-3 (`ground`) and explains it (`note`);
    asking for information says what is needed (`note`)."""
    errors: dict[str, list[str]] = {}
    transition = TRANSITIONS.get(action)
    if transition is None:
        errors["action"] = [_("Choose a valid action.")]
    if action == Decision.REFUSE and ground not in RefusalGround.values:
        errors["ground"] = [_("A refusal must name one of the recognised grounds.")]
    elif action != Decision.REFUSE and ground:
        errors["ground"] = [_("Only a refusal names a ground.")]
    note = _clean_text(note, "note", required=action in NOTE_REQUIRED, errors=errors)
    if errors:
        raise ValidationError(errors)
    assert transition is not None
    now = timezone.now()
    with request_schema(enterprise), transaction.atomic():
        actor_ids = _authorize(enterprise, request, actor)
        locked = Request.objects.select_for_update().get(pk=request.pk)
        if locked.status not in transition.sources:
            message = _("This is not possible while the request is “%(status)s”.")
            raise ValidationError({"action": [message % {"status": locked.get_status_display()}]})
        previous = locked.status
        locked.status = transition.target
        fields = ["status"]
        if action == Decision.VERIFY:
            _start_clock(locked, now)
            fields += ["verified_at", "due_on"]
        elif action == Decision.ASK_INFORMATION:
            locked.paused_on = timezone.localdate(now)
            fields.append("paused_on")
        elif action == Decision.INFORMATION_RECEIVED or previous == S.AWAITING_INFORMATION:
            _resume_clock(locked, timezone.localdate(now))
            fields += ["due_on", "paused_on", "paused_working_days"]
        if transition.target in Request.CLOSED_STATUSES:
            locked.closed_at = now
            locked.resolution = note
            locked.refusal_ground = ground
            fields += ["closed_at", "resolution", "refusal_ground"]
        locked.save(update_fields=fields)
        _event(
            locked,
            transition.event,
            actor_kind=RequestEvent.ActorKind.ADMIN if enterprise else RequestEvent.ActorKind.OPERATOR,
            note=note,
            ground=ground,
            **actor_ids,
        )
        if enterprise is not None:
            assert isinstance(actor, Membership)
            ledger_record(
                enterprise=enterprise,
                actor=actor,
                action=Action.ANSWER_REQUEST,
                category=locked.category,
                subject=locked.membership_id,
                obj=locked,
                purpose=f"DSR {locked.kind} request: {action}",
                details={"action": action, "from": previous, "to": locked.status, "ground": ground},
            )
        _notify_requester(locked, enterprise, note)
    return locked
