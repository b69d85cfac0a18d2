"""Reads of data-subject requests. Every one works in the connection's current schema: an
enterprise's schema for requests about its data, the public schema for account-data requests.

Fetch-and-authorize helpers (`request_for_member`, `request_for_account`, `request_for_admin`)
answer the same 404 for a missing and a forbidden request."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import reduce
from operator import or_

from django.db import DatabaseError, connection, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from accounts.models import User
from core.models import Membership
from core.scopes import AdminScope, admin_scope_for
from requests.models import REQUEST_CATEGORIES, Request, RequestEvent
from requests.workflow.calendar import WorkingCalendar
from tenants.models import Enterprise
from tenants.selectors import enterprise_list


class State:
    """The queue filters: open requests (default), closed ones, or all."""

    OPEN = "open"
    CLOSED = "closed"
    ALL = "all"
    CHOICES = (OPEN, CLOSED, ALL)


def _by_state(queryset: QuerySet[Request], state: str) -> QuerySet[Request]:
    if state == State.OPEN:
        return queryset.filter(status__in=Request.OPEN_STATUSES)
    if state == State.CLOSED:
        return queryset.filter(status__in=Request.CLOSED_STATUSES)
    return queryset


def days_left(request: Request, *, today: date, calendar: WorkingCalendar) -> int | None:
    """Working days left to answer (DSR-4): None before identity verification and once closed;
    frozen at the pause while awaiting information; negative when overdue."""
    if request.due_on is None or request.status in Request.CLOSED_STATUSES:
        return None
    if request.status == Request.Status.AWAITING_INFORMATION and request.paused_on is not None:
        return calendar.working_days_between(request.paused_on, request.due_on)
    return calendar.working_days_between(today, request.due_on)


def is_overdue(request: Request, *, today: date) -> bool:
    return request.status in Request.RUNNING_STATUSES and request.due_on is not None and request.due_on < today


def with_deadlines(
    rows: Iterable[Request], *, today: date | None = None, calendar: WorkingCalendar | None = None
) -> list[Request]:
    """The rows with `days_left` and `overdue` set, for lists: one query for the calendar's
    overrides whatever the number of rows."""
    rows = list(rows)
    today = today or timezone.localdate()
    if calendar is None and any(row.due_on is not None for row in rows):
        calendar = WorkingCalendar()
    for row in rows:
        row.days_left = days_left(row, today=today, calendar=calendar) if calendar else None  # type: ignore[attr-defined]
        row.overdue = is_overdue(row, today=today)  # type: ignore[attr-defined]
    return rows


# --- the requester's stepper (issue 17 §1) -------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of a request as its requester sees it: submitted → identity verified → in review
    → completed / refused. `state` is `done`, `current`, `upcoming` or `skipped` (a step the
    request never went through, e.g. review of a request refused before it); `tone` colours the
    last step (`success`, `danger`, `muted`); `when` is the step's time where the request keeps it."""

    key: str
    label: str | Promise
    state: str
    tone: str = ""
    when: datetime | None = None
    note: str | Promise = ""

    @property
    def is_current(self) -> bool:
        return self.state == "current"


STEP_LABELS = {
    "submitted": gettext_lazy("Submitted"),
    "identity_verified": gettext_lazy("Identity verified"),
    "in_review": gettext_lazy("In review"),
    "decision": gettext_lazy("Completed or refused"),
}
_OUTCOMES: dict[str, tuple[Promise, str]] = {
    Request.Status.COMPLETED: (gettext_lazy("Completed"), "success"),
    Request.Status.REFUSED: (gettext_lazy("Refused"), "danger"),
    Request.Status.CANCELLED: (gettext_lazy("Cancelled"), "muted"),
}
# the step each open status stands on
_OPEN_STEP: dict[str, int] = {
    Request.Status.SUBMITTED: 0,
    Request.Status.IDENTITY_VERIFIED: 1,
    Request.Status.IN_REVIEW: 2,
    Request.Status.AWAITING_INFORMATION: 2,
}


def request_steps(request: Request) -> list[Step]:
    """The request's four steps from its status and dates alone (no query, so a list of requests
    costs nothing more). Open: the steps before the status are done, the status's step current.
    Closed: the outcome is the current, last step; identity verification is done when the
    request has `verified_at`; review is done for a completed request and for one refused after
    verification (a refusal is the review's answer), skipped otherwise (cancelled, or refused
    before the identity was verified)."""
    status = request.status
    verified = request.verified_at is not None
    if status in _OPEN_STEP:
        position = _OPEN_STEP[status]
        keys = ("submitted", "identity_verified", "in_review", "decision")
        steps = []
        for index, key in enumerate(keys):
            state = "done" if index < position else "current" if index == position else "upcoming"
            note: str | Promise = ""
            if key == "in_review" and status == Request.Status.AWAITING_INFORMATION:
                note = gettext_lazy("Waiting for the information asked of you")
            elif key == "submitted" and state == "current":
                note = gettext_lazy("Waiting for identity verification")
            steps.append(Step(key, STEP_LABELS[key], state, when=_step_time(request, key), note=note))
        return steps
    label, tone = _OUTCOMES.get(status, (STEP_LABELS["decision"], "muted"))
    reviewed = status == Request.Status.COMPLETED or (status == Request.Status.REFUSED and verified)
    return [
        Step("submitted", STEP_LABELS["submitted"], "done", when=request.submitted_at),
        Step(
            "identity_verified",
            STEP_LABELS["identity_verified"],
            "done" if verified else "skipped",
            when=request.verified_at,
        ),
        Step("in_review", STEP_LABELS["in_review"], "done" if reviewed else "skipped"),
        Step("decision", label, "current", tone=tone, when=request.closed_at),
    ]


def _step_time(request: Request, key: str) -> datetime | None:
    if key == "submitted":
        return request.submitted_at
    if key == "identity_verified":
        return request.verified_at
    return None


def with_steps(rows: Iterable[Request]) -> list[Request]:
    """The rows with `steps` set (see `request_steps`); no query."""
    rows = list(rows)
    for row in rows:
        row.steps = request_steps(row)  # type: ignore[attr-defined]
    return rows


def queue_order(queryset: QuerySet[Request]) -> QuerySet[Request]:
    """Soonest deadline first (requests without one after), then oldest first."""
    return queryset.order_by("due_on", "submitted_at", "id")


# --- the requester's own ----------------------------------------------------------------------


def requests_of_member(*, membership: Membership) -> QuerySet[Request]:
    """A member's own requests in the current enterprise, newest first."""
    return Request.objects.filter(membership=membership, account_id=membership.account_id).order_by(
        "-submitted_at", "-id"
    )


def requests_of_account(*, account: User) -> QuerySet[Request]:
    """An account's own account-data requests (public schema), newest first."""
    return Request.objects.filter(account=account, membership__isnull=True).order_by("-submitted_at", "-id")


def request_for_member(*, membership: Membership, pk: int) -> Request:
    request = requests_of_member(membership=membership).filter(pk=pk).first()
    if request is None:
        raise Http404("No such request.")
    return request


def request_for_account(*, account: User, pk: int) -> Request:
    request = requests_of_account(account=account).filter(pk=pk).first()
    if request is None:
        raise Http404("No such request.")
    return request


def request_history(*, request: Request) -> list[RequestEvent]:
    """The request's events, oldest first (with the acting admins' cards in an enterprise; the
    public schema has no membership table to join)."""
    events = RequestEvent.objects.filter(request=request).order_by("created_at", "id")
    if request.membership_id is not None:
        events = events.select_related("actor_membership")
    return list(events)


# --- administrators (ENT-8) and operators -----------------------------------------------------


def requests_for_admin(*, scope: AdminScope, state: str = State.ALL) -> QuerySet[Request]:
    """Requests about enterprise data that this admin may handle: those whose data category the
    admin holds over the requesting member (ENT-8). A category held over the whole enterprise
    covers every request of that category, leavers' included; a category held over a department
    subtree covers the (active or invited) members of that subtree."""
    conditions: list[Q] = []
    for category in REQUEST_CATEGORIES:
        if category in scope.whole:
            conditions.append(Q(category=category))
        elif scope.has_category(category):
            conditions.append(Q(category=category, membership__in=scope.members(category).values("pk")))
    if not conditions:
        return Request.objects.none()
    queryset = Request.objects.filter(reduce(or_, conditions), membership__isnull=False)
    return _by_state(queryset, state).select_related("membership")


def request_for_admin(*, scope: AdminScope, pk: int) -> Request:
    request = requests_for_admin(scope=scope).filter(pk=pk).first()
    if request is None:
        raise Http404("No such request.")
    return request


def requests_for_operator(*, state: str = State.ALL) -> QuerySet[Request]:
    """Account-data requests (public schema), for platform operators."""
    return _by_state(Request.objects.filter(membership__isnull=True), state).select_related("account")


def overdue_requests(*, today: date | None = None) -> QuerySet[Request]:
    """Open requests past their deadline whose clock is running (not paused), current schema."""
    return Request.objects.filter(status__in=Request.RUNNING_STATUSES, due_on__lt=today or timezone.localdate())


def overdue_counts_by_enterprise(*, today: date | None = None) -> list[tuple[Enterprise, int]] | None:
    """Operators' oversight (DSR-4): the enterprises with overdue requests and how many — counts
    only, nothing about the requests — in one UNION ALL query over the enterprises' schemas.
    None when a schema cannot be read (e.g. mid-deployment, before its migration)."""
    enterprises = list(
        enterprise_list(
            states=(Enterprise.State.ACTIVE, Enterprise.State.SUSPENDED, Enterprise.State.TERMINATING)
        ).order_by("name", "pk")
    )
    if not enterprises:
        return []
    today = today or timezone.localdate()
    parts: list[str] = []
    params: list[int | str | date] = []
    for index, enterprise in enumerate(enterprises):
        # the schema name is an identifier from the Enterprise table, quoted; values are parameters
        table = f"{connection.ops.quote_name(enterprise.schema_name)}.requests_request"
        parts.append(f"SELECT %s, count(*) FROM {table} WHERE status IN (%s, %s) AND due_on < %s")  # noqa: S608
        params += [index, *Request.RUNNING_STATUSES, today]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            counts = dict(cursor.fetchall())
    except DatabaseError:
        return None
    return [(enterprise, counts[index]) for index, enterprise in enumerate(enterprises) if counts.get(index)]


def responsible_account_ids(*, requests: list[Request]) -> dict[int, set[int]]:
    """Who answers each request: in an enterprise schema the active admins whose scope covers it
    (never the requester), in the public schema the active platform operators."""
    ids = [request.pk for request in requests]
    result: dict[int, set[int]] = {pk: set() for pk in ids}
    if not ids:
        return result
    if all(request.membership_id is None for request in requests):
        operators = set(User.objects.filter(is_staff=True, is_active=True).values_list("pk", flat=True))
        for request in requests:
            result[request.pk] = operators - {request.account_id}
        return result
    requesters = {request.pk: request.account_id for request in requests}
    admins = Membership.objects.filter(
        role__in=Membership.ADMIN_ROLES, status=Membership.Status.ACTIVE, account__isnull=False
    )
    for admin in admins:
        scope = admin_scope_for(admin)
        if scope is None:
            continue
        for pk in requests_for_admin(scope=scope).filter(pk__in=ids).values_list("pk", flat=True):
            if requesters[pk] != admin.account_id:
                result[pk].add(admin.account_id)  # type: ignore[arg-type]
    return result


# --- DSR-7 --------------------------------------------------------------------------------------


def requests_recent_count(membership: Membership, kind: str, days: int = 30) -> int:
    """How many requests of `kind` the member made in this enterprise in the last `days` days,
    not counting cancelled or refused ones (the export limit of DSR-7 builds on this)."""
    since = timezone.now() - timedelta(days=days)
    return (
        Request.objects.filter(membership=membership, kind=kind, submitted_at__gte=since)
        .exclude(status__in=(Request.Status.CANCELLED, Request.Status.REFUSED))
        .count()
    )
